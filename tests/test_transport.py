"""The transport against a real HTTP(S) server on 127.0.0.1 with the test PKI."""

from __future__ import annotations

import contextlib
import gc
import gzip
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
from dynakube.transport import USER_AGENT, Transport, parse_warning_header
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


def test_unknown_ca_is_a_transport_error(https: ScriptedServer) -> None:
    with Transport(ClusterConfig(server=https.url)) as transport:
        with pytest.raises(errors.TransportError, match="TLS"):
            transport.send(GET)


def test_client_certificate_from_files_and_from_data(https: ScriptedServer) -> None:
    with Transport(_tls_config(https.url, client_certificate=str(PKI / "client.crt"),
                               client_key=str(PKI / "client.key"))) as transport:
        transport.send(GET)
    with Transport(_tls_config(https.url,
                               client_certificate_data=(PKI / "client.crt").read_bytes(),
                               client_key_data=(PKI / "client.key").read_bytes())) as t2:
        t2.send(GET)
    assert [s.client_cn for s in https.seen] == ["dynakube-test-user"] * 2


def test_tls_server_name_checks_another_name() -> None:
    # 127.0.0.2 is not in the certificate; kubernetes.test is.
    for server in _start(tls=True, host="127.0.0.2"):
        with Transport(_tls_config(server.url)) as plain:
            with pytest.raises(errors.TransportError, match="TLS"):
                plain.send(GET)
        with Transport(_tls_config(server.url, tls_server_name="kubernetes.test")) as named:
            assert named.send(GET).status == 200
        with Transport(_tls_config(server.url, tls_server_name="other.test")) as wrong:
            with pytest.raises(errors.TransportError):
                wrong.send(GET)


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


def test_tls_server_name_is_checked_through_a_proxy() -> None:
    tunnels: list[str] = []
    for server in _start(tls=True, host="127.0.0.2"):
        for proxy in _connect_proxy(tunnels):
            config = _tls_config(server.url, tls_server_name="kubernetes.test", proxy_url=proxy)
            with Transport(config) as named:
                assert named.send(GET).status == 200
            wrong = replace(config, tls_server_name="other.test")
            with Transport(wrong) as t, pytest.raises(errors.TransportError, match="TLS"):
                t.send(GET)
    assert tunnels[0] == server.url.removeprefix("https://")


def test_insecure_skip_verify_warns_once(https: ScriptedServer) -> None:
    import dynakube.transport.http as module

    module._insecure_warned = False
    with pytest.warns(errors.InsecureTLSWarning):
        transport = Transport(ClusterConfig(server=https.url, insecure_skip_tls_verify=True))
    assert transport.send(GET).status == 200
    transport.close()


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

def test_token_user_agent_and_impersonation(http: ScriptedServer) -> None:
    config = ClusterConfig(server=http.url, token="secret-token", impersonate="jane",
                           impersonate_uid="u-1", impersonate_groups=("dev", "ops"),
                           impersonate_extra=(("scopes/x", ("a", "b")),))
    with Transport(config) as transport:
        transport.send(GET)
    h = http.seen[0].headers
    assert h["authorization"] == ["Bearer secret-token"]
    assert h["user-agent"] == [USER_AGENT]
    assert USER_AGENT.startswith("dynakube/")
    assert h["impersonate-user"] == ["jane"]
    assert h["impersonate-uid"] == ["u-1"]
    assert h["impersonate-group"] == ["dev", "ops"]
    assert h["impersonate-extra-scopes%2fx"] == ["a", "b"]


def test_basic_auth(http: ScriptedServer) -> None:
    with Transport(ClusterConfig(server=http.url, username="ann", password="pw")) as t:
        t.send(GET)
    assert http.seen[0].headers["authorization"] == ["Basic YW5uOnB3"]


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


def test_rotated_token_file_is_reread_on_401(http: ScriptedServer, tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    http.respond = lambda s: ((200, {}, b"{}") if s.headers["authorization"] == ["Bearer new"]
                              else (401, {}, b'{"kind":"Status","code":401,'
                                    b'"reason":"Unauthorized","message":"Unauthorized"}'))
    with Transport(ClusterConfig(server=http.url, token_file=str(path))) as t:
        with pytest.raises(errors.UnauthorizedError):
            t.send(GET)
        path.write_text("new")
        assert t.send(GET).status == 200


def _exec_config(tmp_path: Path, **env: str) -> ExecConfig:
    state = tmp_path / "runs"
    return ExecConfig(command=sys.executable, args=(str(PLUGIN),),
                      env=(("PLUGIN_STATE", str(state)), *env.items()),
                      provide_cluster_info=True)


def test_exec_plugin_token_is_cached_until_it_expires(http: ScriptedServer,
                                                      tmp_path: Path) -> None:
    info = tmp_path / "info.json"
    config = ClusterConfig(server=http.url, tls_server_name="kubernetes.test",
                           exec=_exec_config(tmp_path, PLUGIN_TTL="1", PLUGIN_INFO=str(info)))
    with Transport(config) as t:
        t.send(GET)
        t.send(GET)
        assert (tmp_path / "runs").read_text() == "1"
        time.sleep(1.1)
        t.send(GET)
    assert [s.headers["authorization"][0] for s in http.seen] == [
        "Bearer exec-token-1", "Bearer exec-token-1", "Bearer exec-token-2"]
    exec_info = json.loads(info.read_text())
    assert exec_info["kind"] == "ExecCredential"
    assert exec_info["spec"]["interactive"] is False
    assert exec_info["spec"]["cluster"]["server"] == http.url
    assert exec_info["spec"]["cluster"]["tls-server-name"] == "kubernetes.test"


def test_exec_plugin_reruns_after_401_and_retries_once(http: ScriptedServer,
                                                       tmp_path: Path) -> None:
    # The server accepts only the second token: the first request gets 401, the plugin runs
    # again and the request is retried once with the fresh token.
    http.respond = lambda s: ((200, {}, b"{}")
                              if s.headers["authorization"] == ["Bearer exec-token-2"]
                              else (401, {}, b"Unauthorized"))
    with Transport(ClusterConfig(server=http.url, exec=_exec_config(tmp_path))) as t:
        assert t.send(GET).status == 200
    assert len(http.seen) == 2
    assert (tmp_path / "runs").read_text() == "2"


def test_exec_plugin_client_certificate(https: ScriptedServer, tmp_path: Path) -> None:
    exec_config = _exec_config(tmp_path, PLUGIN_MODE="cert", PLUGIN_CERT=str(PKI / "client.crt"),
                               PLUGIN_KEY=str(PKI / "client.key"))
    with Transport(_tls_config(https.url, exec=exec_config)) as t:
        t.send(GET)
    assert https.seen[0].client_cn == "dynakube-test-user"


@pytest.mark.parametrize("mode, match", [("fail", "exit code 3"), ("garbage", "ExecCredential")])
def test_exec_plugin_failures_are_config_errors(http: ScriptedServer, tmp_path: Path,
                                                mode: str, match: str) -> None:
    with Transport(ClusterConfig(server=http.url,
                                 exec=_exec_config(tmp_path, PLUGIN_MODE=mode))) as t:
        with pytest.raises(errors.ConfigError, match=match):
            t.send(GET)


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


def test_missing_exec_plugin_names_the_install_hint(http: ScriptedServer) -> None:
    exec_config = ExecConfig(command="/nonexistent/kube-login", install_hint="brew install it")
    with Transport(ClusterConfig(server=http.url, exec=exec_config)) as t:
        with pytest.raises(errors.ConfigError, match="brew install it"):
            t.send(GET)
    assert http.seen == []


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


def test_retry_after_gives_up_after_ten_tries(http: ScriptedServer) -> None:
    http.respond = lambda s: (429, {"Retry-After": "0"}, _status(429, "TooManyRequests"))
    with Transport(ClusterConfig(server=http.url)) as t:
        with pytest.raises(errors.TooManyRequestsError):
            t.send(GET)
    assert len(http.seen) == 10


def test_5xx_without_retry_after_is_not_repeated(http: ScriptedServer) -> None:
    http.respond = lambda s: (500, {}, _status(500, "InternalError", "boom"))
    with Transport(ClusterConfig(server=http.url)) as t:
        with pytest.raises(errors.ServerError, match="boom"):
            t.send(GET)
    assert len(http.seen) == 1


def test_dropped_connection_retried_for_get_only(http: ScriptedServer) -> None:
    calls = {"n": 0}

    def flaky(seen: Seen) -> Answer:
        calls["n"] += 1
        return None if calls["n"] == 1 else (200, {}, b"{}")

    http.respond = flaky
    with Transport(ClusterConfig(server=http.url)) as t:
        assert t.send(GET).status == 200
        calls["n"] = 0
        with pytest.raises(errors.TransportError):
            t.send(ApiRequest("POST", "/api/v1/namespaces", body=b"{}"))
    assert [s.method for s in http.seen] == ["GET", "GET", "POST"]


def test_read_timeout_on_get_is_not_repeated(http: ScriptedServer) -> None:
    # client-go repeats a GET whose connection failed, not one the server is slow to answer:
    # repeating would turn the caller's read timeout into four of them.
    def slow(seen: Seen) -> Answer:
        time.sleep(0.6)
        return (200, {}, b"{}")

    http.respond = slow
    with Transport(ClusterConfig(server=http.url), timeout=0.2) as t:
        with pytest.raises(errors.TransportError, match="timed out"):
            t.send(GET)
    assert len(http.seen) == 1


def test_connection_refused_is_a_transport_error() -> None:
    with Transport(ClusterConfig(server="http://127.0.0.1:9"), connect_timeout=2) as t:
        with pytest.raises(errors.TransportError, match="cannot connect"):
            t.send(ApiRequest("DELETE", "/api/v1/namespaces/x"))


def test_warning_headers_surface_once_each(http: ScriptedServer) -> None:
    http.respond = lambda s: (200, {"Warning": '299 - "unknown field \\"bogus\\"", '
                                    '299 - "v1beta1 Widget is deprecated; use v1"'}, b"{}")
    seen: list[str] = []
    with Transport(ClusterConfig(server=http.url), warning_handler=seen.append) as t:
        t.send(GET)
        t.send(GET)
    assert seen == ['unknown field "bogus"', "v1beta1 Widget is deprecated; use v1"]
    with Transport(ClusterConfig(server=http.url)) as t2:
        with pytest.warns(errors.ServerWarning) as record:
            t2.send(GET)
            t2.send(GET)
    assert [str(w.message) for w in record] == seen


def test_parse_warning_header() -> None:
    assert parse_warning_header('299 - "a, b"') == ["a, b"]
    assert parse_warning_header('299 - "x" "Sat, 01 Jan 2000 00:00:00 GMT", 299 k "y"') == [
        "x", "y"]
    assert parse_warning_header("garbage") == []


def test_rate_limiter_spaces_requests(http: ScriptedServer) -> None:
    with Transport(ClusterConfig(server=http.url), qps=20, burst=1) as t:
        started = time.monotonic()
        for _ in range(4):
            t.send(GET)
        assert time.monotonic() - started >= 0.14


def test_streamed_lines_and_close_from_another_thread(http: ScriptedServer) -> None:
    http.respond = lambda s: (200, {}, b'{"a":1}\n{"b":2}\n')
    with Transport(ClusterConfig(server=http.url)) as t:
        response = t.send(GET, stream=True)
        assert [json.loads(x) for x in response.iter_lines()] == [{"a": 1}, {"b": 2}]
        response.close()


def test_streamed_lines_of_a_compressed_body_are_decoded(http: ScriptedServer) -> None:
    # requests asks for gzip; a body with a Content-Length (not chunked) is read with read1
    body = gzip.compress(b'{"a":1}\n{"b":2}\n')
    http.respond = lambda s: (200, {"Content-Encoding": "gzip"}, body)
    with Transport(ClusterConfig(server=http.url)) as t:
        with t.send(GET, stream=True) as response:
            assert [json.loads(x) for x in response.iter_lines()] == [{"a": 1}, {"b": 2}]


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

def test_tls_errors_carry_the_verify_message() -> None:
    for server in _start(tls=True, host="127.0.0.2"):
        with Transport(ClusterConfig(server=server.url)) as unknown:
            with pytest.raises(errors.TransportError, match=r"certificate verify failed: "
                               r"(self-signed certificate in certificate chain|"
                               r"unable to get local issuer certificate)"):
                unknown.send(GET)
        with Transport(_tls_config(server.url)) as wrong_host:
            with pytest.raises(errors.TransportError, match=r"certificate verify failed: IP "
                               r"address mismatch, certificate is not valid for '127\.0\.0\.2'"):
                wrong_host.send(GET)
        with Transport(_tls_config(server.url, tls_server_name="other.test")) as wrong_name:
            with pytest.raises(errors.TransportError, match="'other.test' doesn't match"):
                wrong_name.send(GET)
    # the client broke off each handshake: the server saw why
    assert _eventually(lambda: any("unknown ca" in f for f in server.handshake_failures))
    assert server.seen == []


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


def test_an_expired_server_certificate_says_so(tmp_path: Path) -> None:
    cert, key = _expired_certificate(tmp_path)
    for server in _start(tls=True, cert=(cert, key)):
        with Transport(_tls_config(server.url)) as t:
            with pytest.raises(errors.TransportError,
                               match="certificate verify failed: certificate has expired"):
                t.send(GET)
    assert _eventually(lambda: any("certificate expired" in f
                                   for f in server.handshake_failures))


# -- kubeconfig completeness: disable-compression, SOCKS -----------------------------------

def test_disable_compression_stops_asking_for_gzip(http: ScriptedServer, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: plain
  cluster: {{server: "{http.url}"}}
- name: quiet
  cluster: {{server: "{http.url}", disable-compression: true}}
contexts:
- {{name: plain, context: {{cluster: plain}}}}
- {{name: quiet, context: {{cluster: quiet}}}}
""")
    from dynakube.config import load_config

    for context in ("plain", "quiet"):
        with Transport(load_config(str(path), context)) as t:
            t.send(GET)
    plain, quiet = (s.headers.get("accept-encoding", [""])[0] for s in http.seen)
    assert "gzip" in plain
    assert "gzip" not in quiet


def test_a_socks_proxy_without_pysocks_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socks", None)  # as if PySocks were not installed
    config = ClusterConfig(server="https://k.example",
                           proxy_url="socks5://user:pw@127.0.0.1:1080")
    with pytest.raises(errors.ConfigError, match=r"pip install 'dynakube\[socks\]'") as info:
        Transport(config)
    assert "pw" not in str(info.value)


# -- error bodies are read only so far ------------------------------------------------------

def test_a_huge_error_body_is_read_only_up_to_the_bound() -> None:
    from dynakube.transport.http import MAX_ERROR_BODY

    total = 64 * MAX_ERROR_BODY
    sent = [0]
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n" % total)
            chunk = b"x" * 65536
            while sent[0] < total:
                conn.sendall(chunk)
                sent[0] += len(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with Transport(ClusterConfig(server=url)) as t:
        with pytest.raises(errors.ServerError) as info:
            t.send(GET)
    thread.join(timeout=60)
    listener.close()
    assert info.value.code == 500
    assert sent[0] < total // 2  # the client hung up after about MAX_ERROR_BODY


# -- exec plugin extension that cannot be encoded ------------------------------------------

def test_an_exec_extension_that_refers_to_itself_is_a_config_error(http: ScriptedServer) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    exec_config = ExecConfig(command=sys.executable, args=("-c", "pass"),
                             provide_cluster_info=True, cluster_config=loop)
    with Transport(ClusterConfig(server=http.url, exec=exec_config)) as t:
        with pytest.raises(errors.ConfigError, match="cannot be sent as JSON"):
            t.send(GET)
    assert http.seen == []


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


def test_a_socks5_proxy_carries_https() -> None:
    pytest.importorskip("socks", reason="the test extra installs PySocks")
    tunnels: list[str] = []
    for server in _start(tls=True, client_certs=True):
        for proxy in _socks5_proxy(tunnels):
            config = _tls_config(server.url, proxy_url=proxy,
                                 client_certificate_data=(PKI / "client.crt").read_bytes(),
                                 client_key_data=(PKI / "client.key").read_bytes())
            with Transport(config) as t:
                assert t.send(GET).json() == {"ok": True}
    assert tunnels == [server.url.removeprefix("https://")]
    assert server.seen[0].client_cn == "dynakube-test-user"
