"""One contract, two transports: every TLS, auth, proxy, retry and error case of
``test_transport.py`` (and the WebSocket upgrade cases of ``test_channels.py``) runs against
the ``requests`` transport and the asyncio one.

The asyncio transport is driven on a loop of its own behind a small sync face, so each case
reads the same for both; the servers and helpers are ``test_transport``'s own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_transport import (
    GET,
    PKI,
    Answer,
    ScriptedServer,
    Seen,
    _connect_proxy,
    _eventually,
    _exec_config,
    _expired_certificate,
    _socks5_proxy,
    _start,
    _status,
    _tls_config,
)

from dynakube import errors
from dynakube.channels import EXEC_PROTOCOLS, exec_query
from dynakube.config import ClusterConfig, ExecConfig
from dynakube.request import ApiRequest
from dynakube.testing import ApiServer
from dynakube.transport import USER_AGENT, Transport
from dynakube.transport.asynchttp import AsyncResponse, AsyncTransport

Make = Callable[..., Any]


class _Answer:
    """An :class:`AsyncResponse` read through the sync face."""

    def __init__(self, response: AsyncResponse, loop: asyncio.AbstractEventLoop):
        self._response = response
        self._loop = loop
        self.status = response.status
        self.headers = response.headers

    def json(self) -> Any:
        return self._response.json()

    def iter_lines(self) -> Iterator[bytes]:
        async def lines() -> list[bytes]:
            return [line async for line in self._response.iter_lines()]

        return iter(self._loop.run_until_complete(lines()))

    def close(self) -> None:
        self._loop.run_until_complete(self._response.aclose())

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _AsyncFace:
    """An :class:`AsyncTransport` on its own event loop, used like the sync one."""

    def __init__(self, config: ClusterConfig, **options: Any):
        self._loop = asyncio.new_event_loop()
        try:
            self.transport = AsyncTransport(config, **options)
        except BaseException:
            self._loop.close()
            raise

    def send(self, request: ApiRequest, **options: Any) -> _Answer:
        response = self._loop.run_until_complete(self.transport.send(request, **options))
        return _Answer(response, self._loop)

    def open_websocket(self, request: ApiRequest, protocols: Any) -> Any:
        return self._loop.run_until_complete(self.transport.open_websocket(request, protocols))

    def close(self) -> None:
        self._loop.run_until_complete(self.transport.aclose())
        self._loop.close()

    def __enter__(self) -> _AsyncFace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def https() -> Iterator[ScriptedServer]:
    yield from _start(tls=True, client_certs=True)


@pytest.fixture
def http() -> Iterator[ScriptedServer]:
    yield from _start(tls=False)


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Make:
    """``make(config, **options)``: a transport of either kind, with the sync one's API."""
    return Transport if request.param == "sync" else _AsyncFace


@pytest.fixture
def kind(make: Make) -> str:
    return "sync" if make is Transport else "async"


# -- TLS ------------------------------------------------------------------------------------

def test_kubeconfig_ca_wins_over_the_environments_bundle(
        make: Make, https: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, "/etc/ssl/certs/ca-certificates.crt")
    with make(_tls_config(https.url, token="t")) as transport:
        assert transport.send(GET).json() == {"ok": True}


def test_unknown_ca_is_a_transport_error(make: Make, https: ScriptedServer) -> None:
    with make(ClusterConfig(server=https.url)) as transport:
        with pytest.raises(errors.TransportError, match="TLS"):
            transport.send(GET)


def test_client_certificate_from_files_and_from_data(make: Make, https: ScriptedServer) -> None:
    with make(_tls_config(https.url, client_certificate=str(PKI / "client.crt"),
                          client_key=str(PKI / "client.key"))) as transport:
        transport.send(GET)
    with make(_tls_config(https.url,
                          client_certificate_data=(PKI / "client.crt").read_bytes(),
                          client_key_data=(PKI / "client.key").read_bytes())) as t2:
        t2.send(GET)
    assert [s.client_cn for s in https.seen] == ["dynakube-test-user"] * 2


def test_tls_server_name_checks_another_name(make: Make) -> None:
    for server in _start(tls=True, host="127.0.0.2"):
        with make(_tls_config(server.url)) as plain:
            with pytest.raises(errors.TransportError, match="TLS"):
                plain.send(GET)
        with make(_tls_config(server.url, tls_server_name="kubernetes.test")) as named:
            assert named.send(GET).status == 200
        with make(_tls_config(server.url, tls_server_name="other.test")) as wrong:
            with pytest.raises(errors.TransportError):
                wrong.send(GET)


def test_tls_server_name_is_checked_through_a_proxy(make: Make) -> None:
    tunnels: list[str] = []
    for server in _start(tls=True, host="127.0.0.2"):
        for proxy in _connect_proxy(tunnels):
            config = _tls_config(server.url, tls_server_name="kubernetes.test", proxy_url=proxy)
            with make(config) as named:
                assert named.send(GET).status == 200
            wrong = replace(config, tls_server_name="other.test")
            with make(wrong) as t, pytest.raises(errors.TransportError, match="TLS"):
                t.send(GET)
    assert tunnels[0] == server.url.removeprefix("https://")


def test_https_proxy_from_the_environment_and_no_proxy(
        make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    tunnels: list[str] = []
    for server in _start(tls=True, host="127.0.0.2"):
        for proxy in _connect_proxy(tunnels):
            monkeypatch.setenv("HTTPS_PROXY", proxy)
            config = _tls_config(server.url, tls_server_name="kubernetes.test")
            with make(config) as t:
                assert t.send(GET).status == 200
            assert len(tunnels) == 1
            monkeypatch.setenv("NO_PROXY", "127.0.0.2")
            with make(config) as t:
                assert t.send(GET).status == 200
            assert len(tunnels) == 1  # straight to the server
    assert len(server.seen) == 2


def test_insecure_skip_verify_warns_once(make: Make, kind: str, https: ScriptedServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import dynakube.transport.asynchttp as aio_module
    import dynakube.transport.http as sync_module

    monkeypatch.setattr(sync_module if kind == "sync" else aio_module, "_insecure_warned", False)
    with pytest.warns(errors.InsecureTLSWarning):
        transport = make(ClusterConfig(server=https.url, insecure_skip_tls_verify=True))
    assert transport.send(GET).status == 200
    transport.close()


# -- credentials and headers -------------------------------------------------------------

def test_token_user_agent_and_impersonation(make: Make, http: ScriptedServer) -> None:
    config = ClusterConfig(server=http.url, token="secret-token", impersonate="jane",
                           impersonate_uid="u-1", impersonate_groups=("dev", "ops"),
                           impersonate_extra=(("scopes/x", ("a", "b")),))
    with make(config) as transport:
        transport.send(GET)
    h = http.seen[0].headers
    assert h["authorization"] == ["Bearer secret-token"]
    assert h["user-agent"] == [USER_AGENT]
    assert h["impersonate-user"] == ["jane"]
    assert h["impersonate-uid"] == ["u-1"]
    assert h["impersonate-group"] == ["dev", "ops"]
    assert h["impersonate-extra-scopes%2fx"] == ["a", "b"]


def test_basic_auth(make: Make, http: ScriptedServer) -> None:
    with make(ClusterConfig(server=http.url, username="ann", password="pw")) as t:
        t.send(GET)
    assert http.seen[0].headers["authorization"] == ["Basic YW5uOnB3"]


def test_logs_never_show_the_token(make: Make, http: ScriptedServer,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="dynakube.transport")
    with make(ClusterConfig(server=http.url, token="super-secret")) as t:
        t.send(GET)
    assert "GET" in caplog.text and "super-secret" not in caplog.text


def test_a_header_with_a_line_break_is_a_config_error(make: Make, http: ScriptedServer) -> None:
    with make(ClusterConfig(server=http.url, impersonate="jane\r\nX-Evil: 1")) as t:
        with pytest.raises(errors.ConfigError, match="Impersonate-User") as info:
            t.send(GET)
    assert "X-Evil" not in str(info.value)
    assert http.seen == []


def test_rotated_token_file_is_reread_on_401(make: Make, http: ScriptedServer,
                                             tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    http.respond = lambda s: ((200, {}, b"{}") if s.headers["authorization"] == ["Bearer new"]
                              else (401, {}, _status(401, "Unauthorized")))
    with make(ClusterConfig(server=http.url, token_file=str(path))) as t:
        with pytest.raises(errors.UnauthorizedError):
            t.send(GET)
        path.write_text("new")
        assert t.send(GET).status == 200


def test_exec_plugin_token_is_cached_until_it_expires(make: Make, http: ScriptedServer,
                                                      tmp_path: Path) -> None:
    config = ClusterConfig(server=http.url, exec=_exec_config(tmp_path, PLUGIN_TTL="1"))
    with make(config) as t:
        t.send(GET)
        t.send(GET)
        assert (tmp_path / "runs").read_text() == "1"
        time.sleep(1.1)
        t.send(GET)
    assert [s.headers["authorization"][0] for s in http.seen] == [
        "Bearer exec-token-1", "Bearer exec-token-1", "Bearer exec-token-2"]


def test_exec_plugin_reruns_after_401_and_retries_once(make: Make, http: ScriptedServer,
                                                       tmp_path: Path) -> None:
    http.respond = lambda s: ((200, {}, b"{}")
                              if s.headers["authorization"] == ["Bearer exec-token-2"]
                              else (401, {}, b"Unauthorized"))
    with make(ClusterConfig(server=http.url, exec=_exec_config(tmp_path))) as t:
        assert t.send(GET).status == 200
    assert len(http.seen) == 2
    assert (tmp_path / "runs").read_text() == "2"


def test_exec_plugin_client_certificate(make: Make, https: ScriptedServer,
                                        tmp_path: Path) -> None:
    exec_config = _exec_config(tmp_path, PLUGIN_MODE="cert", PLUGIN_CERT=str(PKI / "client.crt"),
                               PLUGIN_KEY=str(PKI / "client.key"))
    with make(_tls_config(https.url, exec=exec_config)) as t:
        t.send(GET)
    assert https.seen[0].client_cn == "dynakube-test-user"


@pytest.mark.parametrize("mode, match", [("fail", "exit code 3"), ("garbage", "ExecCredential")])
def test_exec_plugin_failures_are_config_errors(make: Make, http: ScriptedServer, tmp_path: Path,
                                                mode: str, match: str) -> None:
    with make(ClusterConfig(server=http.url,
                            exec=_exec_config(tmp_path, PLUGIN_MODE=mode))) as t:
        with pytest.raises(errors.ConfigError, match=match):
            t.send(GET)


def test_missing_exec_plugin_names_the_install_hint(make: Make, http: ScriptedServer) -> None:
    exec_config = ExecConfig(command="/nonexistent/kube-login", install_hint="brew install it")
    with make(ClusterConfig(server=http.url, exec=exec_config)) as t:
        with pytest.raises(errors.ConfigError, match="brew install it"):
            t.send(GET)
    assert http.seen == []


def test_an_exec_extension_that_refers_to_itself_is_a_config_error(
        make: Make, http: ScriptedServer) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    exec_config = ExecConfig(command=sys.executable, args=("-c", "pass"),
                             provide_cluster_info=True, cluster_config=loop)
    with make(ClusterConfig(server=http.url, exec=exec_config)) as t:
        with pytest.raises(errors.ConfigError, match="cannot be sent as JSON"):
            t.send(GET)
    assert http.seen == []


# -- retries, errors, warnings ----------------------------------------------------------

def test_429_and_503_with_retry_after_are_retried(make: Make, http: ScriptedServer) -> None:
    answers = iter([(429, {"Retry-After": "0"}, _status(429, "TooManyRequests")),
                    (503, {"Retry-After": "0"}, _status(503, "ServiceUnavailable")),
                    (200, {}, b"{}")])
    http.respond = lambda s: next(answers)
    with make(ClusterConfig(server=http.url)) as t:
        assert t.send(ApiRequest("POST", "/api/v1/namespaces", body=b"{}")).status == 200
    assert len(http.seen) == 3


def test_retry_after_gives_up_after_ten_tries(make: Make, http: ScriptedServer) -> None:
    http.respond = lambda s: (429, {"Retry-After": "0"}, _status(429, "TooManyRequests"))
    with make(ClusterConfig(server=http.url)) as t:
        with pytest.raises(errors.TooManyRequestsError):
            t.send(GET)
    assert len(http.seen) == 10


def test_5xx_without_retry_after_is_not_repeated(make: Make, http: ScriptedServer) -> None:
    http.respond = lambda s: (500, {}, _status(500, "InternalError", "boom"))
    with make(ClusterConfig(server=http.url)) as t:
        with pytest.raises(errors.ServerError, match="boom"):
            t.send(GET)
    assert len(http.seen) == 1


def test_dropped_connection_retried_for_get_only(make: Make, http: ScriptedServer) -> None:
    calls = {"n": 0}

    def flaky(seen: Seen) -> Answer:
        calls["n"] += 1
        return None if calls["n"] == 1 else (200, {}, b"{}")

    http.respond = flaky
    with make(ClusterConfig(server=http.url)) as t:
        assert t.send(GET).status == 200
        calls["n"] = 0
        with pytest.raises(errors.TransportError):
            t.send(ApiRequest("POST", "/api/v1/namespaces", body=b"{}"))
    assert [s.method for s in http.seen] == ["GET", "GET", "POST"]


def test_read_timeout_on_get_is_not_repeated(make: Make, http: ScriptedServer) -> None:
    def slow(seen: Seen) -> Answer:
        time.sleep(0.6)
        return (200, {}, b"{}")

    http.respond = slow
    with make(ClusterConfig(server=http.url), timeout=0.2) as t:
        with pytest.raises(errors.TransportError, match="timed out"):
            t.send(GET)
    assert len(http.seen) == 1


def test_connection_refused_is_a_transport_error(make: Make) -> None:
    with make(ClusterConfig(server="http://127.0.0.1:9"), connect_timeout=2) as t:
        with pytest.raises(errors.TransportError, match="cannot connect"):
            t.send(ApiRequest("DELETE", "/api/v1/namespaces/x"))


def test_warning_headers_surface_once_each(make: Make, http: ScriptedServer) -> None:
    http.respond = lambda s: (200, {"Warning": '299 - "unknown field \\"bogus\\"", '
                                    '299 - "v1beta1 Widget is deprecated; use v1"'}, b"{}")
    seen: list[str] = []
    with make(ClusterConfig(server=http.url), warning_handler=seen.append) as t:
        t.send(GET)
        t.send(GET)
    assert seen == ['unknown field "bogus"', "v1beta1 Widget is deprecated; use v1"]
    with make(ClusterConfig(server=http.url)) as t2:
        with pytest.warns(errors.ServerWarning) as record:
            t2.send(GET)
            t2.send(GET)
    assert [str(w.message) for w in record] == seen


def test_rate_limiter_spaces_requests(make: Make, http: ScriptedServer) -> None:
    with make(ClusterConfig(server=http.url), qps=20, burst=1) as t:
        started = time.monotonic()
        for _ in range(4):
            t.send(GET)
        assert time.monotonic() - started >= 0.14


def test_streamed_lines(make: Make, http: ScriptedServer) -> None:
    http.respond = lambda s: (200, {}, b'{"a":1}\n{"b":2}\n')
    with make(ClusterConfig(server=http.url)) as t:
        with t.send(GET, stream=True) as response:
            assert [json.loads(x) for x in response.iter_lines()] == [{"a": 1}, {"b": 2}]


def test_streamed_lines_of_a_compressed_body_are_decoded(make: Make,
                                                         http: ScriptedServer) -> None:
    import gzip

    body = gzip.compress(b'{"a":1}\n{"b":2}\n')
    http.respond = lambda s: (200, {"Content-Encoding": "gzip"}, body)
    with make(ClusterConfig(server=http.url)) as t:
        with t.send(GET, stream=True) as response:
            assert [json.loads(x) for x in response.iter_lines()] == [{"a": 1}, {"b": 2}]
    assert "gzip" in http.seen[0].headers["accept-encoding"][0]


def test_disable_compression_stops_asking_for_gzip(make: Make, http: ScriptedServer) -> None:
    with make(ClusterConfig(server=http.url, disable_compression=True)) as t:
        t.send(GET)
    assert "gzip" not in http.seen[0].headers.get("accept-encoding", [""])[0]


def test_tls_errors_carry_the_verify_message(make: Make, kind: str) -> None:
    for server in _start(tls=True, host="127.0.0.2"):
        with make(ClusterConfig(server=server.url)) as unknown:
            with pytest.raises(errors.TransportError, match=r"certificate verify failed: "
                               r"(self-signed certificate in certificate chain|"
                               r"unable to get local issuer certificate)"):
                unknown.send(GET)
        with make(_tls_config(server.url)) as wrong_host:
            with pytest.raises(errors.TransportError, match=r"certificate verify failed: IP "
                               r"address mismatch, certificate is not valid for '127\.0\.0\.2'"):
                wrong_host.send(GET)
        with make(_tls_config(server.url, tls_server_name="other.test")) as wrong_name:
            # urllib3 says "'other.test' doesn't match", OpenSSL "Hostname mismatch ...
            # for 'other.test'": both name the name that was checked
            with pytest.raises(errors.TransportError,
                               match=r"(doesn't match|Hostname mismatch).*|'other\.test'"):
                wrong_name.send(GET)
    if kind == "sync":  # asyncio aborts a failed handshake before its alert goes out
        assert _eventually(lambda: any("unknown ca" in f for f in server.handshake_failures))
    assert server.seen == []


def test_an_expired_server_certificate_says_so(make: Make, kind: str, tmp_path: Path) -> None:
    cert, key = _expired_certificate(tmp_path)
    for server in _start(tls=True, cert=(cert, key)):
        with make(_tls_config(server.url)) as t:
            with pytest.raises(errors.TransportError,
                               match="certificate verify failed: certificate has expired"):
                t.send(GET)
    if kind == "sync":
        assert _eventually(lambda: any("certificate expired" in f
                                       for f in server.handshake_failures))
    assert server.seen == []


def test_a_huge_error_body_is_read_only_up_to_the_bound(make: Make) -> None:
    from dynakube.transport.rules import MAX_ERROR_BODY

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
    with make(ClusterConfig(server=f"http://127.0.0.1:{listener.getsockname()[1]}")) as t:
        with pytest.raises(errors.ServerError) as info:
            t.send(GET)
    thread.join(timeout=60)
    listener.close()
    assert info.value.code == 500
    assert sent[0] < total // 2


def test_a_socks5_proxy_carries_https(make: Make, kind: str) -> None:
    if kind == "sync":
        pytest.importorskip("socks", reason="the test extra installs PySocks")
    tunnels: list[str] = []
    for server in _start(tls=True, client_certs=True):
        for proxy in _socks5_proxy(tunnels):
            config = _tls_config(server.url, proxy_url=proxy,
                                 client_certificate_data=(PKI / "client.crt").read_bytes(),
                                 client_key_data=(PKI / "client.key").read_bytes())
            with make(config) as t:
                assert t.send(GET).json() == {"ok": True}
    assert tunnels == [server.url.removeprefix("https://")]
    assert server.seen[0].client_cn == "dynakube-test-user"


# -- the asyncio transport's own promises ---------------------------------------------------

def test_keep_alive_pool_is_bounded(http: ScriptedServer) -> None:
    async def main() -> int:
        async with AsyncTransport(ClusterConfig(server=http.url), max_connections=3) as t:
            await asyncio.gather(*(t.send(GET) for _ in range(30)))
            return t.open_connections

    assert asyncio.run(main()) <= 3
    assert len(http.seen) == 30


def test_cancelling_a_stream_closes_its_connection(http: ScriptedServer) -> None:
    release = threading.Event()

    def stall(seen: Seen) -> Answer:
        release.wait(10)
        return (200, {}, b"{}")

    http.respond = stall

    async def main() -> tuple[int, int]:
        async with AsyncTransport(ClusterConfig(server=http.url)) as t:
            task = asyncio.create_task(t.send(GET, stream=True))
            await asyncio.sleep(0.2)
            before = t.open_connections
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return before, t.open_connections

    try:
        assert asyncio.run(main()) == (1, 0)
    finally:
        release.set()


# -- WebSocket upgrades (exec, attach, port-forward) ------------------------------------------
# test_channels' cases for the sync transport, for both: each stops at the server's answer
# (a refusal, or pods not upgrading), so the TLS, proxy and credentials before it are judged.

@pytest.fixture(scope="module")
def tls_server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


PODS = ApiRequest("GET", "/api/v1/namespaces/default/pods")


def test_upgrade_refusals_map_to_their_errors(make: Make, tls_server: ApiServer) -> None:
    with make(tls_server.config()) as t, \
            pytest.raises(errors.UnsupportedError, match="instead of switching to a WebSocket"):
        t.open_websocket(PODS, EXEC_PROTOCOLS)
    missing = ApiRequest("GET", "/api/v1/namespaces/default/pods/nosuch/exec",
                         exec_query(["ls"], container=None, stdin=False))
    with make(tls_server.config()) as t, pytest.raises(errors.NotFoundError, match="nosuch"):
        t.open_websocket(missing, EXEC_PROTOCOLS)
    with make(tls_server.config(token="wrong")) as t, pytest.raises(errors.UnauthorizedError):
        t.open_websocket(missing, EXEC_PROTOCOLS)


def test_upgrade_tls_ca_and_server_name(make: Make, tls_server: ApiServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with make(tls_server.config()) as t, pytest.raises(errors.UnsupportedError):
        t.open_websocket(PODS, EXEC_PROTOCOLS)  # the kubeconfig's CA won
    unknown = replace(tls_server.config(), certificate_authority=None)
    with make(unknown) as t, pytest.raises(errors.TransportError,
                                           match="certificate verify failed"):
        t.open_websocket(PODS, EXEC_PROTOCOLS)
    wrong = replace(tls_server.config(), tls_server_name="other.test")
    with make(wrong) as t, pytest.raises(errors.TransportError, match="TLS"):
        t.open_websocket(PODS, EXEC_PROTOCOLS)
    right = replace(tls_server.config(), tls_server_name="kubernetes.test")
    with make(right) as t, pytest.raises(errors.UnsupportedError):
        t.open_websocket(PODS, EXEC_PROTOCOLS)


def test_upgrades_go_through_the_kubeconfig_and_environment_proxy(
        make: Make, tls_server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    tunnels: list[str] = []
    target = tls_server.url.removeprefix("https://")
    for proxy in _connect_proxy(tunnels):
        with make(replace(tls_server.config(), proxy_url=proxy)) as t, \
                pytest.raises(errors.UnsupportedError):
            t.open_websocket(PODS, EXEC_PROTOCOLS)
        assert tunnels == [target]
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        with make(tls_server.config()) as t, pytest.raises(errors.UnsupportedError):
            t.open_websocket(PODS, EXEC_PROTOCOLS)
        assert tunnels == [target] * 2
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with make(tls_server.config()) as t, pytest.raises(errors.UnsupportedError):
            t.open_websocket(PODS, EXEC_PROTOCOLS)
        assert tunnels == [target] * 2


def test_upgrade_rereads_a_rotated_token_after_a_401_and_sends_the_user_agent(
        make: Make, tls_server: ApiServer, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("stale")
    config = replace(tls_server.config(), token=None, token_file=str(token))
    with make(config, user_agent="stream-test/2") as t:
        with pytest.raises(errors.UnauthorizedError):
            t.open_websocket(PODS, EXEC_PROTOCOLS)
        token.write_text(tls_server.token)
        with pytest.raises(errors.UnsupportedError):
            t.open_websocket(PODS, EXEC_PROTOCOLS)
    assert [r.user_agent for r in tls_server.requests if r.path.endswith("/pods")][-1] == \
        "stream-test/2"


def test_upgrade_with_nothing_listening_is_a_transport_error(make: Make) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with make(ClusterConfig(server=f"http://127.0.0.1:{port}", token="t")) as t, \
            pytest.raises(errors.TransportError, match="cannot connect"):
        t.open_websocket(PODS, EXEC_PROTOCOLS)
