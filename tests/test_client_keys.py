"""Client keys never wait on disk: inline key data and exec-plugin certificates are loaded into
the TLS context in memory, so nothing is left behind, not even by a process killed with
SIGKILL; what killed processes did leave (``dynakube-PID-*``) is swept at start."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynakube.apiserver.server import ApiServer
from dynakube.client import Client
from dynakube.config import ClusterConfig, ExecConfig
from dynakube.errors import ConfigError
from dynakube.request import ApiRequest
from dynakube.transport import Transport
from dynakube.transport import tls as tls_module

PKI = Path(__file__).resolve().parents[1] / "fixtures" / "pki"
PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "exec" / "credential-plugin.py"
KEY = (PKI / "client.key").read_bytes()
GET_NAMESPACE = ApiRequest("GET", "/api/v1/namespaces/default")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[ApiServer]:
    """The embedded server over TLS, trusting client certificates of the test CA."""
    server = ApiServer(tls=True, cert_file=str(PKI / "server.crt"),
                       key_file=str(PKI / "server.key"), ca_file=str(PKI / "ca.crt")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tmpdir_(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of its own for this test, in this process and its children."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _inline_kubeconfig(path: Path, server: ApiServer) -> Path:
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server.url}
    certificate-authority-data: {_b64(PKI / "ca.crt")}
users:
- name: u
  user:
    client-certificate-data: {_b64(PKI / "client.crt")}
    client-key-data: {_b64(PKI / "client.key")}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
""")
    return path


def _files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() or p.is_dir()]


def _holding_the_key(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and KEY.strip() in p.read_bytes()]


def test_inline_key_data_never_reaches_the_disk(tls_server: ApiServer, tmpdir_: Path,
                                                tmp_path: Path) -> None:
    kubeconfig = _inline_kubeconfig(tmp_path / "kubeconfig", tls_server)
    with Client(kubeconfig=str(kubeconfig)) as kube:
        answer = kube.transport.send(GET_NAMESPACE).json()
        assert answer["metadata"]["name"] == "default"  # authenticated by the certificate
        assert _files_under(tmpdir_) == []
    assert _files_under(tmpdir_) == []


def test_exec_plugin_certificate_never_reaches_the_disk(tls_server: ApiServer, tmpdir_: Path,
                                                        tmp_path: Path) -> None:
    plugin = ExecConfig(command=sys.executable, args=(str(PLUGIN),), env=(
        ("PLUGIN_STATE", str(tmp_path / "runs")), ("PLUGIN_MODE", "cert"),
        ("PLUGIN_CERT", str(PKI / "client.crt")), ("PLUGIN_KEY", str(PKI / "client.key"))))
    config = ClusterConfig(server=tls_server.url, certificate_authority=str(PKI / "ca.crt"),
                           exec=plugin)
    with Transport(config) as transport:
        assert transport.send(GET_NAMESPACE).status == 200
        assert transport.send(GET_NAMESPACE).status == 200
        assert _files_under(tmpdir_) == []
    assert (tmp_path / "runs").read_text() == "1"


_CHILD = """
import sys
from dynakube.client import Client
from dynakube.request import ApiRequest
kube = Client(kubeconfig=sys.argv[1])
kube.transport.send(ApiRequest("GET", "/api/v1/namespaces/default"))
print("ready", flush=True)
sys.stdin.read()  # until killed
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_process_leaves_no_key_behind(tls_server: ApiServer, tmpdir_: Path,
                                               tmp_path: Path, sig: signal.Signals) -> None:
    kubeconfig = _inline_kubeconfig(tmp_path / "kubeconfig", tls_server)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(kubeconfig)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        assert _holding_the_key(tmpdir_) == []  # not even while it runs
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()  # type: ignore[union-attr]
        child.stdout.close()  # type: ignore[union-attr]
    assert child.returncode == -sig
    assert _files_under(tmpdir_) == []


def test_stale_directories_of_dead_processes_are_swept(tmpdir_: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmpdir_ / f"dynakube-{dead.pid}-abc123"
    stale.mkdir()
    (stale / "client.key").write_bytes(KEY)
    stale_file = tmpdir_ / f"dynakube-{dead.pid}-x.pem"
    stale_file.write_bytes(KEY)
    kept = [tmpdir_ / f"dynakube-{os.getpid()}-mine",  # this process: alive
            tmpdir_ / "dynakube-1-init",  # pid 1 is always alive
            tmpdir_ / "dynakube-server-abc",  # not a pid: the embedded server's own
            tmpdir_ / "unrelated-99999999-x"]
    for path in kept:
        path.mkdir()
    assert sorted(tls_module.sweep_stale_files(str(tmpdir_))) == sorted(
        [str(stale), str(stale_file)])
    assert sorted(p.name for p in tmpdir_.iterdir()) == sorted(p.name for p in kept)


def test_the_first_key_file_of_a_process_sweeps_first(tmpdir_: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmpdir_ / f"dynakube-{dead.pid}-abc123"
    stale.mkdir()
    monkeypatch.setattr(tls_module, "_swept", False)
    Transport(ClusterConfig(server="http://127.0.0.1:9")).close()
    assert stale.exists()  # a process that writes no key file leaves $TMPDIR alone
    files = tls_module.SecretFiles()
    try:
        files.write("client.key", KEY)
        assert not stale.exists()
        stale.mkdir()  # the process looks once
        files.write("other.key", KEY)
        assert stale.exists()
    finally:
        files.remove()


def test_a_key_that_does_not_match_is_a_config_error_without_the_key() -> None:
    other_key = (PKI / "server.key").read_bytes()
    config = ClusterConfig(server="https://127.0.0.1:9",
                           certificate_authority=str(PKI / "ca.crt"),
                           client_certificate_data=(PKI / "client.crt").read_bytes(),
                           client_key_data=other_key)
    with pytest.raises(ConfigError, match="not a usable certificate and private key") as info:
        Transport(config)
    assert "PRIVATE KEY" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
