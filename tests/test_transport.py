"""The transport against a real HTTP(S) server on 127.0.0.1 with the test PKI.

The cases both transports must pass (TLS, auth, proxies, retries, errors) are in
``test_transport_contract.py``, which runs each against the ``requests`` transport and the
asyncio one with the servers and helpers defined here; what is left here is the sync
transport's own behaviour."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import ssl
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dynakube import errors
from dynakube.config import ClusterConfig, ExecConfig
from dynakube.request import ApiRequest
from dynakube.transport import Transport, parse_warning_header
from dynakube.transport.auth import ExecPlugin, TokenFile
from dynakube.transport.tls import SecretFiles

PKI = Path(__file__).resolve().parents[1] / "fixtures" / "pki"
PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "exec" / "credential-plugin.py"

Answer = tuple[int, dict[str, str], bytes] | None  # None: drop the connection


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes
    client_cn: str | None


@dataclass
class ScriptedServer:
    """Answers each request with ``respond(seen)``; records what it saw."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    respond: Callable[[Seen], Answer] = lambda s: (200, {}, b'{"ok": true}')
    # TLS handshakes the client broke off (a test of a refused certificate expects them);
    # recorded instead of printed, and checked by the tests that cause them
    handshake_failures: list[str] = field(default_factory=list)
    clients_gone: int = 0


def _handler(script: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a connection that stalls (even mid-handshake) gives up

        def log_message(self, *args: Any) -> None:
            pass

        def handle(self) -> None:
            if isinstance(self.connection, ssl.SSLSocket):
                try:
                    self.connection.do_handshake()
                except (ssl.SSLError, ConnectionError) as e:
                    script.handshake_failures.append(str(e))
                    return
            super().handle()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            cn = None
            if isinstance(self.connection, ssl.SSLSocket):
                peer = self.connection.getpeercert()
                if peer:
                    cn = dict(x[0] for x in peer["subject"]).get("commonName")
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.lower(), []).append(value)
            seen = Seen(self.command, self.path, headers, body, cn)
            script.seen.append(seen)
            answer = script.respond(seen)
            if answer is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, extra, payload = answer
            try:
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                script.clients_gone += 1  # a client that timed out or read only a bound
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


class _Server(ThreadingHTTPServer):
    """Handshakes in each connection's own thread, never in the accept loop.

    A client that stalls mid-handshake (a failed verification, a proxy tunnel torn down)
    must not block every later connection, nor ``shutdown()``.
    """

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


def _start(tls: bool, host: str = "127.0.0.1", client_certs: bool = False,
           cert: tuple[Path, Path] = (PKI / "server.crt", PKI / "server.key")
           ) -> Iterator[ScriptedServer]:
    script = ScriptedServer(url="")
    httpd = _Server((host, 0), _handler(script))
    scheme = "http"
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*cert)
        if client_certs:
            ctx.load_verify_locations(PKI / "ca.crt")
            ctx.verify_mode = ssl.CERT_OPTIONAL
        httpd.tls = ctx
        scheme = "https"
    script.url = f"{scheme}://{host}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def https() -> Iterator[ScriptedServer]:
    yield from _start(tls=True, client_certs=True)


@pytest.fixture
def http() -> Iterator[ScriptedServer]:
    yield from _start(tls=False)


GET = ApiRequest("GET", "/api/v1/namespaces/default/configmaps")


def _tls_config(url: str, **kw: Any) -> ClusterConfig:
    return ClusterConfig(server=url, certificate_authority=str(PKI / "ca.crt"), **kw)


# -- TLS ------------------------------------------------------------------------------------

def test_kubeconfig_ca_wins_over_requests_ca_bundle(https: ScriptedServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment points at the system bundle, which does not know the test CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with Transport(_tls_config(https.url, token="t")) as transport:
        assert transport.send(GET).json() == {"ok": True}


def _connect_proxy(tunnels: list[str]) -> Iterator[str]:
    """A tiny HTTP CONNECT proxy on 127.0.0.1; records each tunnel's target."""
    listener = socket.create_server(("127.0.0.1", 0))
    opened: list[socket.socket] = []

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                opened.append(client)
                head = b""
                while b"\r\n\r\n" not in head:
                    data = client.recv(4096)
                    if not data:
                        raise OSError("the client left before asking for a tunnel")
                    head += data
                target = head.split()[1].decode()
                tunnels.append(target)
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host, int(port)))
                opened.append(upstream)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for sock in opened:
            sock.close()


def test_insecure_requests_do_not_make_other_warnings_repeat(
        https: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each change to warnings.filters resets the "show once" registries of every module.
    import dynakube.transport.http as module

    monkeypatch.setattr(module, "_insecure_warned", True)  # the one-time warning is tested above
    transport = Transport(ClusterConfig(server=https.url, insecure_skip_tls_verify=True))

    def say_once() -> None:
        warnings.warn("said once", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        for _ in range(3):
            transport.send(GET)
            say_once()
    transport.close()
    assert [str(w.message) for w in seen] == ["said once"]


# -- credentials and headers -------------------------------------------------------------

def test_repr_and_logs_never_show_the_token(http: ScriptedServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    config = ClusterConfig(server=http.url, token="super-secret")
    assert "super-secret" not in repr(config)
    caplog.set_level("DEBUG", logger="dynakube.transport")
    with Transport(config) as t:
        t.send(GET)
    assert "GET" in caplog.text and "super-secret" not in caplog.text


def test_token_file_is_reread_after_a_minute(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one\n")
    now = [0.0]
    source = TokenFile(str(path), clock=lambda: now[0])
    assert source.current().headers["Authorization"] == "Bearer one"
    path.write_text("two")
    now[0] = 59.0
    assert source.current().headers["Authorization"] == "Bearer one"
    now[0] = 61.0
    assert source.current().headers["Authorization"] == "Bearer two"


def _exec_config(tmp_path: Path, **env: str) -> ExecConfig:
    state = tmp_path / "runs"
    return ExecConfig(command=sys.executable, args=(str(PLUGIN),),
                      env=(("PLUGIN_STATE", str(state)), *env.items()),
                      provide_cluster_info=True)


@pytest.mark.parametrize("status", [
    {"token": "t", "expirationTimestamp": 1700000000},
    {"token": 5},
    {"clientCertificateData": 1, "clientKeyData": 2},
])
def test_exec_plugin_answer_with_wrong_types_is_a_config_error(tmp_path: Path,
                                                               status: dict[str, Any]) -> None:
    script = tmp_path / "plugin.py"
    answer = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
              "status": status}
    script.write_text(f"print({json.dumps(json.dumps(answer))})\n")
    plugin = ExecPlugin(ExecConfig(command=sys.executable, args=(str(script),)), {})
    with pytest.raises(errors.ConfigError, match="exec plugin"):
        plugin.current()


def test_secret_files_removed_by_close_are_not_kept_alive_by_the_exit_hook() -> None:
    files = SecretFiles()
    path = Path(files.write("ca.crt", b"pem"))
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    files.remove()
    ref = weakref.ref(files)
    del files
    gc.collect()
    assert ref() is None


# -- retries, errors, warnings ----------------------------------------------------------

def _status(code: int, reason: str, message: str = "m") -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "code": code, "reason": reason, "message": message}).encode()


def test_429_with_retry_after_is_retried(http: ScriptedServer) -> None:
    answers = iter([(429, {"Retry-After": "0"}, _status(429, "TooManyRequests")),
                    (503, {"Retry-After": "0"}, _status(503, "ServiceUnavailable")),
                    (200, {}, b"{}")])
    http.respond = lambda s: next(answers)
    with Transport(ClusterConfig(server=http.url)) as t:
        assert t.send(ApiRequest("POST", "/api/v1/namespaces", body=b"{}")).status == 200
    assert len(http.seen) == 3


def test_parse_warning_header() -> None:
    assert parse_warning_header('299 - "a, b"') == ["a, b"]
    assert parse_warning_header('299 - "x" "Sat, 01 Jan 2000 00:00:00 GMT", 299 k "y"') == [
        "x", "y"]
    assert parse_warning_header("garbage") == []


def test_streamed_lines_and_close_from_another_thread(http: ScriptedServer) -> None:
    http.respond = lambda s: (200, {}, b'{"a":1}\n{"b":2}\n')
    with Transport(ClusterConfig(server=http.url)) as t:
        response = t.send(GET, stream=True)
        assert [json.loads(x) for x in response.iter_lines()] == [{"a": 1}, {"b": 2}]
        response.close()


# -- error mapping ------------------------------------------------------------------------

def test_error_classes_from_recorded_answers(shared_api: Path) -> None:
    recorded = json.loads((shared_api / "v1.36" / "behaviour.json").read_text())
    expected = {
        "apply_configmap_conflict": errors.ConflictError,
        "apply_without_field_manager": errors.InvalidError,
        "create_configmap_already_exists": errors.AlreadyExistsError,
        "create_configmap_strict_unknown_field": errors.BadRequestError,
        "create_widget_invalid": errors.InvalidError,
        "delete_configmap_precondition_failed": errors.ConflictError,
        "get_configmap_not_found": errors.NotFoundError,
        "get_unknown_resource": errors.NotFoundError,
        "list_bad_label_selector": errors.BadRequestError,
        "replace_configmap_conflict": errors.ConflictError,
        "strategic_patch_widget_unsupported": errors.UnsupportedMediaTypeError,
    }
    for name, cls in expected.items():
        entry = recorded[name]
        body = entry["body"]
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        error = errors.error_from_response(entry["status"], raw)
        assert type(error) is cls, name
        assert error.code == entry["status"]
        if isinstance(body, dict):
            assert error.message == body["message"]
            assert error.causes == body.get("details", {}).get("causes", [])
    invalid = errors.error_from_response(422, json.dumps(
        recorded["create_widget_invalid"]["body"]).encode())
    assert [c["field"] for c in invalid.causes][:2] == ["spec.color", "spec.replicas"]


def test_error_classes_by_code_when_body_is_not_json() -> None:
    cases = {400: errors.BadRequestError, 401: errors.UnauthorizedError,
             403: errors.ForbiddenError, 404: errors.NotFoundError, 409: errors.ConflictError,
             410: errors.GoneError, 415: errors.UnsupportedMediaTypeError,
             422: errors.InvalidError, 429: errors.TooManyRequestsError,
             500: errors.ServerError, 503: errors.ServerError}
    for code, cls in cases.items():
        assert type(errors.error_from_response(code, b"<html>proxy</html>")) is cls
    long = errors.error_from_response(502, b"x" * 5000)
    assert long.text is not None and len(long.text) < 600
    assert type(errors.error_from_response(410, {"kind": "Status", "reason": "Expired"})) is \
        errors.GoneError


def test_config_is_immutable() -> None:
    config = ClusterConfig(server="https://x")
    with pytest.raises(AttributeError):
        config.server = "y"  # type: ignore[misc]
    assert replace(config, namespace="n").namespace == "n"
    assert os.environ.get("KUBECONFIG") is None


# -- TLS errors name the reason -----------------------------------------------------------

def _eventually(check: Callable[[], bool], limit: float = 10.0) -> bool:
    """``check()`` once it holds, waiting at most ``limit`` seconds: the server's handler
    thread records a broken handshake just after the client has given up on it."""
    deadline = time.monotonic() + limit
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def _expired_certificate(directory: Path) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 signed by the test CA that expired yesterday."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    key, csr, cert = directory / "s.key", directory / "s.csr", directory / "s.crt"
    ext = directory / "ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-subj", "/CN=expired", "-out", str(csr)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(PKI / "ca.crt"),
                    "-CAkey", str(PKI / "ca.key"), "-CAcreateserial", "-CAserial",
                    str(directory / "ca.srl"), "-days", "-1", "-extfile", str(ext),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


# -- kubeconfig completeness: disable-compression, SOCKS -----------------------------------

def test_a_socks_proxy_without_pysocks_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socks", None)  # as if PySocks were not installed
    config = ClusterConfig(server="https://k.example",
                           proxy_url="socks5://user:pw@127.0.0.1:1080")
    with pytest.raises(errors.ConfigError, match=r"pip install 'dynakube\[socks\]'") as info:
        Transport(config)
    assert "pw" not in str(info.value)


# -- error bodies are read only so far ------------------------------------------------------

# -- exec plugin extension that cannot be encoded ------------------------------------------

def _socks5_proxy(tunnels: list[str]) -> Iterator[str]:
    """A tiny SOCKS5 proxy on 127.0.0.1 (no auth, CONNECT only); records each target."""
    listener = socket.create_server(("127.0.0.1", 0))
    opened: list[socket.socket] = []

    def recv_exact(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = sock.recv(n - len(data))
            if not part:
                raise OSError("the client left mid-handshake")
            data += part
        return data

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                opened.append(client)
                _, n = recv_exact(client, 2)
                recv_exact(client, n)
                client.sendall(b"\x05\x00")  # no authentication
                _, _, _, kind = recv_exact(client, 4)
                if kind == 1:
                    host = socket.inet_ntoa(recv_exact(client, 4))
                else:
                    host = recv_exact(client, recv_exact(client, 1)[0]).decode()
                port = int.from_bytes(recv_exact(client, 2), "big")
                tunnels.append(f"{host}:{port}")
                upstream = socket.create_connection((host, port))
                opened.append(upstream)
                client.sendall(b"\x05\x00\x00\x01" + bytes(4) + bytes(2))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"socks5://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for sock in opened:
            sock.close()

