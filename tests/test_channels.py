"""The streaming protocols' framing (pure), the proxy choice and CONNECT step, and the
WebSocket transport against the embedded server: TLS trust, proxies, refusals, credentials."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from test_transport import _connect_proxy

from dynakube import channels
from dynakube.channels import exec_query, exit_status
from dynakube.config import ClusterConfig
from dynakube.errors import (
    ConfigError,
    InvalidArgumentError,
    NotFoundError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnsupportedError,
)
from dynakube.request import ApiRequest
from dynakube.testing import ApiServer
from dynakube.transport import Transport
from dynakube.transport.proxy import (
    Proxy,
    bypasses_proxy,
    choose_proxy,
    connect_request,
    parse_connect_reply,
    tunnel,
)

# -- framing ---------------------------------------------------------------------------------


def test_frames_carry_their_channel_first() -> None:
    assert channels.frame(channels.STDIN, b"ls\n") == b"\x00ls\n"
    assert channels.split(b"\x02oops") == (2, b"oops")
    assert channels.close_signal() == b"\xff\x00"
    assert channels.close_signal(channels.STDOUT) == b"\xff\x01"
    with pytest.raises(InvalidArgumentError):
        channels.split(b"")
    with pytest.raises(InvalidArgumentError):
        channels.frame(256, b"")


def test_resize_is_json_on_channel_4() -> None:
    message = channels.resize_message(120, 40)
    assert message[0] == 4 and json.loads(message[1:]) == {"Width": 120, "Height": 40}
    for bad in (-1, 70000, 1.5, True):
        with pytest.raises(InvalidArgumentError, match="width"):
            channels.resize_message(bad, 40)  # type: ignore[arg-type]


def test_exit_status_success_and_non_zero_exit_code() -> None:
    assert exit_status(b'{"metadata":{},"status":"Success"}').exit_code == 0
    status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
              "message": "command terminated with non-zero exit code: error executing "
                         "command [sh -c exit 7], exit code 7",
              "details": {"causes": [{"reason": "ExitCode", "message": "7"}]}}
    parsed = exit_status(json.dumps(status).encode())
    assert (parsed.exit_code, parsed.reason, parsed.error) == (7, "NonZeroExitCode", None)
    assert "exit code 7" in (parsed.message or "")


def test_a_failure_without_exit_code_is_the_servers_error() -> None:
    status = {"status": "Failure", "reason": "InternalError", "code": 500,
              "message": 'exec: "nosuch": executable file not found in $PATH'}
    parsed = exit_status(json.dumps(status).encode())
    assert parsed.exit_code is None
    assert isinstance(parsed.error, ServerError) and "nosuch" in str(parsed.error)
    missing = exit_status(None)
    assert missing.exit_code is None and "ended before" in str(missing.error)
    text = exit_status(b"container not found (\"app\")")  # what v1 servers sent
    assert text.exit_code is None and "container not found" in str(text.error)


def test_port_forward_channels_and_prefixes() -> None:
    pairs = channels.port_channels([80, 443])
    assert [(p.port, p.data, p.error) for p in pairs] == [(80, 0, 1), (443, 2, 3)]
    assert channels.port_prefix(8080) == b"\x90\x1f"
    assert channels.parse_port_prefix(b"\x90\x1fdata") == (8080, b"data")
    assert channels.port_forward_query([80, 443]) == (("ports", "80"), ("ports", "443"))
    for bad in ([], [0], [70000], ["80"]):
        with pytest.raises(InvalidArgumentError):
            channels.port_channels(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        channels.parse_port_prefix(b"\x50")


def test_exec_query_is_what_kubectl_sends() -> None:
    assert exec_query(["sh", "-c", "echo hi"], container="app", stdin=True) == (
        ("command", "sh"), ("command", "-c"), ("command", "echo hi"), ("container", "app"),
        ("stdin", "true"), ("stdout", "true"), ("stderr", "true"))
    # a terminal merges stderr into stdout; attach has no command
    assert exec_query(None, container=None, stdin=True, tty=True) == (
        ("stdin", "true"), ("stdout", "true"), ("tty", "true"))
    for command in ([], "ls", [1]):
        with pytest.raises(InvalidArgumentError, match="command"):
            exec_query(command, container=None, stdin=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="at least one"):
        exec_query(["ls"], container=None, stdin=False, stdout=False, stderr=False)


# -- the proxy choice -----------------------------------------------------------------------


def test_kubeconfig_proxy_url_wins_over_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://env:3128", "NO_PROXY": "*"}
    assert choose_proxy("https://api:6443", "http://u:p%40ss@kc:8080", env) == \
        Proxy("kc", 8080, "Basic dTpwQHNz")
    assert choose_proxy("https://api:6443", None, env) is None
    assert choose_proxy("https://api:6443", None, {"https_proxy": "env:3128"}) == \
        Proxy("env", 3128)
    assert choose_proxy("http://api:8080", None, {"HTTPS_PROXY": "http://env:1"}) is None
    assert choose_proxy("http://api:8080", None, {"HTTP_PROXY": "http://env:1"}) == \
        Proxy("env", 1)


@pytest.mark.parametrize(("host", "no_proxy", "bypass"), [
    ("api.example.com", "example.com", True),
    ("api.example.com", ".example.com", True),
    ("example.com", ".example.com", True),
    ("badexample.com", "example.com", False),
    ("10.1.2.3", "10.0.0.0/8", True),
    ("11.1.2.3", "10.0.0.0/8", False),
    ("127.0.0.1", "localhost,127.0.0.1", True),
    ("api", "api:6443", True),
    ("api", "api:443", False),
    ("api", "", False),
])
def test_no_proxy_as_go_and_requests_read_it(host: str, no_proxy: str, bypass: bool) -> None:
    assert bypasses_proxy(host, 6443, no_proxy) is bypass


def test_socks_and_https_proxies_are_refused_for_streams() -> None:
    for url in ("socks5://p:1080", "https://p:3128"):
        with pytest.raises(ConfigError, match="proxy"):
            Proxy.from_url(url)


def test_connect_request_and_reply() -> None:
    assert connect_request("::1", 6443, Proxy("p", 1, "Basic x"), "ua") == (
        b"CONNECT [::1]:6443 HTTP/1.1\r\nHost: [::1]:6443\r\nUser-Agent: ua\r\n"
        b"Proxy-Authorization: Basic x\r\n\r\n")
    assert parse_connect_reply(b"HTTP/1.1 200 Connection established\r\n") is None
    assert parse_connect_reply(b"HTTP/1.1 200 OK\r\nVia: p\r\n\r\n") == (200, "OK", b"")
    with pytest.raises(TransportError, match="not HTTP"):
        parse_connect_reply(b"SSH-2.0-OpenSSH\r\n\r\n")


def _answering(reply: bytes) -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()
    listener.close()


@pytest.mark.parametrize(("reply", "match"), [
    (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "wants credentials"),
    (b"HTTP/1.1 403 Forbidden\r\n\r\n", "refused CONNECT"),
    (b"", "closed the connection"),
])
def test_a_proxy_refusing_the_tunnel_is_a_transport_error(reply: bytes, match: str) -> None:
    for host, port in _answering(reply):
        with socket.create_connection((host, port)) as sock, \
                pytest.raises(TransportError, match=match):
            tunnel(sock, "api", 6443, Proxy(host, port), "ua")


# -- the WebSocket transport over the wire ------------------------------------------------


def test_import_dynakube_does_not_import_wsproto() -> None:
    code = ("import sys, dynakube; dynakube.Client; import dynakube.exec, dynakube.portforward; "
            "print(sorted({'wsproto', 'h11'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


PODS = ApiRequest("GET", "/api/v1/namespaces/default/pods")


def test_a_server_answering_without_upgrading_is_unsupported(tls_server: ApiServer) -> None:
    with Transport(tls_server.config()) as transport, \
            pytest.raises(UnsupportedError, match="instead of switching to a WebSocket"):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)


def test_a_refusal_with_a_status_maps_to_its_error(tls_server: ApiServer) -> None:
    missing = ApiRequest("GET", "/api/v1/namespaces/default/pods/nosuch/exec",
                         exec_query(["ls"], container=None, stdin=False))
    with Transport(tls_server.config()) as transport, pytest.raises(NotFoundError,
                                                                   match="nosuch"):
        transport.open_websocket(missing, channels.EXEC_PROTOCOLS)
    with Transport(tls_server.config(token="wrong")) as transport, \
            pytest.raises(UnauthorizedError):
        transport.open_websocket(missing, channels.EXEC_PROTOCOLS)


def test_kubeconfig_ca_wins_with_requests_ca_bundle_set(
        tls_server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with Transport(tls_server.config()) as transport, pytest.raises(UnsupportedError):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)  # TLS and HTTP went fine
    unknown = replace(tls_server.config(), certificate_authority=None)
    with Transport(unknown) as transport, pytest.raises(TransportError,
                                                        match="certificate verify failed"):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)


def test_tls_server_name_is_checked(tls_server: ApiServer) -> None:
    wrong = replace(tls_server.config(), tls_server_name="other.test")
    with Transport(wrong) as transport, pytest.raises(TransportError, match="TLS"):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
    right = replace(tls_server.config(), tls_server_name="kubernetes.test")
    with Transport(right) as transport, pytest.raises(UnsupportedError):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)


def test_streams_go_through_the_kubeconfig_and_environment_proxy(
        tls_server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    tunnels: list[str] = []
    target = tls_server.url.removeprefix("https://")
    for proxy in _connect_proxy(tunnels):
        with Transport(replace(tls_server.config(), proxy_url=proxy)) as transport, \
                pytest.raises(UnsupportedError):
            transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
        assert tunnels == [target]
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        with Transport(tls_server.config()) as transport, pytest.raises(UnsupportedError):
            transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
        assert tunnels == [target] * 2
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with Transport(tls_server.config()) as transport, pytest.raises(UnsupportedError):
            transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
        assert tunnels == [target] * 2


def test_a_rotated_token_is_reread_after_a_401(tls_server: ApiServer, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("stale")
    config = replace(tls_server.config(), token=None, token_file=str(token))
    with Transport(config) as transport:
        with pytest.raises(UnauthorizedError):
            transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
        token.write_text(tls_server.token)
        with pytest.raises(UnsupportedError):
            transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)


def test_the_user_agent_is_the_transports(tls_server: ApiServer) -> None:
    with Transport(tls_server.config(), user_agent="stream-test/1") as transport, \
            pytest.raises(UnsupportedError):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
    assert [r.user_agent for r in tls_server.requests if r.path.endswith("/pods")][-1] == \
        "stream-test/1"


def test_nothing_listening_is_a_transport_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with Transport(ClusterConfig(server=f"http://127.0.0.1:{port}", token="t")) as transport, \
            pytest.raises(TransportError, match="cannot connect"):
        transport.open_websocket(PODS, channels.EXEC_PROTOCOLS)
