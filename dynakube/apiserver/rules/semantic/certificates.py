"""CertificateSigningRequests (``ValidateCertificateSigningRequestCreate``): a PEM
``CERTIFICATE REQUEST``, known and unique key usages, a signer name of the form
``example.com/signer-name`` (the legacy one not through ``v1``) and at least ten minutes.

The spec is immutable (an update keeps the stored one), so only a create is judged. The
request is parsed as Go's ``x509.ParseCertificateRequest`` parses it (:mod:`.der`) and its
signature checked with its own key (:mod:`.signatures`), with Go's messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from . import names
from .der import BIT_STRING, INTEGER, SEQUENCE, Asn1Error, Element, read_all
from .fields import (
    Cause,
    as_int,
    child,
    duplicate,
    go_value,
    index,
    invalid,
    not_supported,
    required,
    too_long,
)
from .metadata import mapping
from .signatures import check_signature, parse_public_key

__all__ = ["certificate_signing_request", "signer_name"]

LEGACY_SIGNER = "kubernetes.io/legacy-unknown"
_MIN_EXPIRATION = 600
_MAX_SEGMENT = 253
_USAGES = ("any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
           "data encipherment", "decipher only", "digital signature", "email protection",
           "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
           "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
           "server auth", "signing", "timestamping")
_PEM = re.compile(rb"-----BEGIN ([^\r\n]*?)-----\r?\n(.*?)-----END \1-----", re.S)


def _pem_block(data: bytes) -> tuple[str, bytes] | None:
    """The type and bytes of the first PEM block Go's ``pem.Decode`` would find."""
    for found in _PEM.finditer(data):
        body = b"".join(line for line in found.group(2).splitlines() if b":" not in line)
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        return found.group(1).decode("utf-8", "replace"), der
    return None


def _sequence(element: Element, name: str, count: int) -> list[Element]:
    """A DER SEQUENCE decoded into a Go struct of ``count`` fields."""
    children = element.expect(SEQUENCE, True, name).children()
    if len(children) < count:
        raise Asn1Error("asn1: syntax error: sequence truncated")
    return children


def _certificate_request(der: bytes) -> str | None:
    """Why ``der`` is no PKCS#10 request signed by its own key (``x509.ParseCertificate
    Request``, then ``CheckSignature``), in Go's words; ``None`` when it is one."""
    try:
        tbs, algorithm, signature = _sequence(read_all(der), "certificateRequest", 3)
        version, subject, key_info = _sequence(tbs, "tbsCertificateRequest", 4)[:3]
        version.expect(INTEGER, False, "int").integer()
        key_algorithm, key_bits = _sequence(key_info, "publicKeyInfo", 2)
        key_algorithm.expect(SEQUENCE, True, "AlgorithmIdentifier")
        algorithm.expect(SEQUENCE, True, "AlgorithmIdentifier")
        value = signature.expect(BIT_STRING, False, "BitString").bits()
        key = parse_public_key(key_algorithm, key_bits.expect(BIT_STRING, False,
                                                              "BitString").bits())
        read_all(subject.raw).expect(SEQUENCE, True, "RDNSequence")
        return check_signature(algorithm, tbs.raw, value, key)
    except Asn1Error as exc:
        return str(exc)


def _request(value: Any) -> str | None:
    """Why ``spec.request`` (base64 of a PEM text) is no certificate request, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        data = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None  # decoding refuses it first
    block = _pem_block(data)
    if block is None or block[0] != "CERTIFICATE REQUEST":
        return "PEM block type must be CERTIFICATE REQUEST"
    return _certificate_request(block[1])


def signer_name(value: str, path: str) -> list[Cause]:
    """``ValidateSignerName``: a DNS domain with a dot, ``/``, then a DNS subdomain path."""
    if not value:
        return [required(path)]
    segments = value.split("/")
    if len(segments) != 2:
        return [invalid(path, value, "must be a fully qualified domain and path of the form "
                        "'example.com/signer-name'")]
    domain, rest = segments
    out: list[Cause] = []
    if len(domain) > _MAX_SEGMENT:
        out.append(too_long(path, _MAX_SEGMENT))
    labels = domain.split(".")
    for label in labels:
        problems = names.dns1123_label(label)
        if problems:
            out += [invalid(path, domain, f"validating label {go_value(label)}: {m}")
                    for m in problems]
            break
    if len(labels) < 2:
        out.append(invalid(path, domain, "should be a domain with at least two segments "
                           "separated by dots"))
    if len(rest) > _MAX_SEGMENT:
        out.append(too_long(path, _MAX_SEGMENT))
    out += [invalid(path, rest, f"validating path {go_value(rest)}: {m}")
            for m in names.dns1123_subdomain(rest)]
    return out


def certificate_signing_request(obj: Mapping[str, Any],
                                old: Mapping[str, Any] | None) -> list[Cause]:
    if old is not None:
        return []
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    problem = _request(spec.get("request"))
    if problem:
        out.append(invalid("spec.request", spec.get("request"), problem))
    found = spec.get("usages")
    usages: list[Any] = found if isinstance(found, list) else []
    if not usages:
        out.append(required("spec.usages"))
    for i, usage in enumerate(usages):
        if usage not in _USAGES:
            out.append(not_supported(index("spec.usages", i), usage, _USAGES))
    seen: set[Any] = set()
    for i, usage in enumerate(usages):
        if usage in seen:
            out.append(duplicate(index("spec.usages", i), usage))
        seen.add(usage)
    given = spec.get("signerName")
    signer = given if isinstance(given, str) else ""
    if signer == LEGACY_SIGNER:
        out.append(invalid(child("spec", "signerName"), signer,
                           "the legacy signerName is not allowed via this API version"))
    else:
        out += signer_name(signer, "spec.signerName")
    expiration = as_int(spec.get("expirationSeconds"))
    if expiration is not None and expiration < _MIN_EXPIRATION:
        out.append(invalid("spec.expirationSeconds", expiration,
                           "may not specify a duration less than 600 seconds (10 minutes)"))
    return out
