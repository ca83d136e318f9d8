"""CertificateSigningRequests: ``spec.request`` is parsed and its signature checked, as
kube-apiserver's ``validateCSR`` does with Go's ``crypto/x509``.

Requests are made with the ``openssl`` command (the test skips without it) for every key type
Go verifies, then spoiled one way at a time; the refusal carries Go's message.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rawhttp import RawKube

from dynakube.testing import ApiServer

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
_KEYS = {
    "rsa": ["-newkey", "rsa:2048"],
    "rsa-pss": ["-newkey", "rsa:2048", "-sigopt", "rsa_padding_mode:pss", "-sigopt",
                "rsa_pss_saltlen:32", "-sha256"],
    "rsa-sha1": ["-newkey", "rsa:2048", "-sha1"],
    "p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"],
    "p521": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-sha512"],
    "ed25519": ["-newkey", "ed25519"],
}
_FAILURES = {"rsa": "crypto/rsa: verification error", "rsa-pss": "crypto/rsa: verification error",
             "rsa-sha1": "crypto/rsa: verification error",
             "p256": "x509: ECDSA verification failure",
             "p384": "x509: ECDSA verification failure",
             "p521": "x509: ECDSA verification failure",
             "ed25519": "x509: Ed25519 verification failure"}


def _pem(der: bytes, kind: str = "CERTIFICATE REQUEST") -> bytes:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode()


def _der(pem: bytes) -> bytes:
    lines = [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]
    return base64.b64decode("".join(lines))


@pytest.fixture(scope="module")
def requests_by_key(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A PEM certificate request per key type (DER inside), made by ``openssl``."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("csr")
    made = {}
    for name, args in _KEYS.items():
        out = folder / f"{name}.csr"
        done = subprocess.run(["openssl", "req", "-new", "-nodes", "-subj", "/CN=alice",
                               "-keyout", str(folder / f"{name}.key"), "-out", str(out),
                               *args], capture_output=True, timeout=60, check=False)
        if done.returncode == 0:
            made[name] = out.read_bytes()
    if "rsa" not in made or "p256" not in made:
        pytest.skip("openssl could not make certificate requests")
    return made


def _csr(pem: bytes) -> dict[str, Any]:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "c"},
            "spec": {"request": base64.b64encode(pem).decode(), "usages": ["client auth"],
                     "signerName": "kubernetes.io/kube-apiserver-client"}}


def _refusal(kube: RawKube, pem: bytes) -> str | None:
    """The ``spec.request`` message of a dry-run create, ``None`` when accepted."""
    answer = kube("POST", CSRS, _csr(pem), dryRun="All")
    if answer.status_code == 201:
        return None
    assert answer.status_code == 422, answer.text
    [found] = answer.json()["details"]["causes"]
    assert found["field"] == "spec.request"
    prefix = f'Invalid value: "{base64.b64encode(pem).decode()}": '
    assert found["message"].startswith(prefix)
    return str(found["message"][len(prefix):])


@pytest.fixture
def kube(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


@pytest.mark.parametrize("key", list(_KEYS))
def test_a_request_signed_by_its_key_is_taken_a_spoiled_one_refused(
        kube: RawKube, requests_by_key: dict[str, bytes], key: str) -> None:
    if key not in requests_by_key:
        pytest.skip(f"this openssl cannot make a {key} request")
    pem = requests_by_key[key]
    assert _refusal(kube, pem) is None
    der = bytearray(_der(pem))
    der[-2] ^= 0x01  # inside the signature, the last element
    assert _refusal(kube, _pem(bytes(der))) == _FAILURES[key]
    signed = _der(pem).replace(b"alice", b"alicf")  # the subject: what was signed changed
    assert _refusal(kube, _pem(signed)) == _FAILURES[key]


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda der: der[:-4], "asn1: syntax error: data truncated"),
    (lambda der: der + b"\x00", "asn1: syntax error: trailing data"),
    (lambda der: b"\x02\x01\x00", "asn1: structure error: tags don't match (16 vs {class:0 "
     "tag:2 length:1 isCompound:false}) {optional:false explicit:false application:false "
     "private:false defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false "
     "omitEmpty:false} certificateRequest @2"),
    (lambda der: b"\x30\x80" + der[2:], "asn1: syntax error: indefinite length found (not DER)"),
])
def test_malformed_der_is_refused_in_gos_words(kube: RawKube, requests_by_key: dict[str, bytes],
                                               spoil: Any, message: str) -> None:
    assert _refusal(kube, _pem(spoil(_der(requests_by_key["p256"])))) == message


def test_other_pem_blocks_and_the_recorded_refusal(kube: RawKube,
                                                   requests_by_key: dict[str, bytes]) -> None:
    der = _der(requests_by_key["p256"])
    assert _refusal(kube, _pem(der, "CERTIFICATE")) == \
        "PEM block type must be CERTIFICATE REQUEST"
    assert _refusal(kube, b"not a csr") == "PEM block type must be CERTIFICATE REQUEST"
    # a later block of the right type does not count: Go reads the first one
    assert _refusal(kube, _pem(b"\x05\x00", "PUBLIC KEY") + _pem(der)) == \
        "PEM block type must be CERTIFICATE REQUEST"


def test_the_request_records_who_asked(kube: RawKube, requests_by_key: dict[str, bytes],
                                       kube_server: ApiServer) -> None:
    """The server fills in the requesting user, as the CSR strategy does on create."""
    answer = kube("POST", CSRS, _csr(requests_by_key["p256"]), dryRun="All")
    assert answer.status_code == 201, answer.text
    spec = answer.json()["spec"]
    assert (spec["username"], spec["uid"]) == ("admin", "admin-uid")
    assert spec["groups"] == ["system:masters", "system:authenticated"]
    readonly = RawKube(kube_server, kube_server.forbidden_token)
    assert readonly("POST", CSRS, _csr(requests_by_key["p256"]), dryRun="All").status_code == 403


def test_the_recorded_request_verifies(shared_api: Path, kube: RawKube) -> None:
    """The request every recorded CSR carries (an ECDSA P-256 one) is accepted."""
    import json

    kinds = json.loads((shared_api / "v1.36" / "kinds.json").read_text())
    entry = kinds["rich/CertificateSigningRequest/custom-signer-dry-run"]
    answer = kube("POST", CSRS, entry["request"]["body"], dryRun="All")
    assert answer.status_code == entry["status"] == 201
