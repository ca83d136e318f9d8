"""Port-forward over the real wire: the plain WebSocket protocol (``v4.channel.k8s.io`` and
``portforward.k8s.io``) of the embedded server's kubelet stand-in, and the
:func:`open_pod_port` seam under it.

Each port's data and error channels open with the port number; data flows both ways; a port
with nothing behind it gets the kubelet's words on its error channel; the server closes once
the Pod side ends. Also: several ports on one WebSocket, concurrent connections, a local
``(host, port)`` target, 10 MB in bounded memory, a killed client, HTTPS, and the refusals
before the upgrade.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from typing import Any

import pytest
import test_server_exec
from test_server_exec import create, pod, rest
from wsclient import RawWebSocket, Rejected

from dynakube.apiserver.rules.podstreams import PodConnection, PortForwardError, sandbox_id
from dynakube.apiserver.verbs.portforward import open_pod_port
from dynakube.testing import ApiServer

PF = "/api/v1/namespaces/default/pods/web/portforward"
server = test_server_exec.server  # the fixture: a Pod "web", over HTTP and HTTPS


def echo_upper(conn: PodConnection) -> None:
    """A port that answers each chunk upper-cased, until the client is done writing."""
    while data := conn.recv(65536):
        conn.sendall(data.upper())


def _serve_one(sock: socket.socket) -> None:
    with PodConnection(sock) as conn:
        echo_upper(conn)


def greet_and_close(conn: PodConnection) -> None:
    conn.sendall(b"hello from the pod\n")


def _open(server: ApiServer, ports: str, protocol: str = "v4.channel.k8s.io") -> RawWebSocket:
    ws = RawWebSocket(server, f"{PF}?ports={ports}", [protocol])
    assert ws.subprotocol == protocol
    return ws


def _prefixes(ws: RawWebSocket, count: int) -> list[bytes]:
    return [ws.recv() or b"" for _ in range(count)]


def _refused_text(port: int, uid: str) -> str:
    sandbox = sandbox_id(uid)
    return (f"error forwarding port {port} to pod {sandbox}, uid : failed to execute "
            f'portforward in network namespace "/var/run/netns/cni-')


def _uid(server: ApiServer) -> str:
    return str(rest(server).get(f"{server.url}/api/v1/namespaces/default/pods/web")
               .json()["metadata"]["uid"])


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "portforward.k8s.io"])
def test_data_flows_both_ways_after_the_port_prefix(server: ApiServer, protocol: str) -> None:
    server.pods.on_port("default", "web", 8080, echo_upper)
    ws = _open(server, "8080", protocol)
    assert _prefixes(ws, 2) == [b"\x00\x90\x1f", b"\x01\x90\x1f"]  # 8080, little-endian
    ws.send(0, b"ping")
    assert ws.recv() == b"\x00PING"
    ws.send(0, b"again")
    assert ws.recv() == b"\x00AGAIN"
    ws.close()


def test_the_server_closes_when_the_pod_side_ends(server: ApiServer) -> None:
    server.pods.on_port("default", "web", 80, greet_and_close)
    ws = _open(server, "80")
    _prefixes(ws, 2)
    assert ws.recv() == b"\x00hello from the pod\n"
    assert ws.recv() is None and ws.close_code == 1000


def test_nothing_listening_is_the_kubelets_error_on_the_error_channel(
        server: ApiServer) -> None:
    ws = _open(server, "9999")
    assert _prefixes(ws, 2) == [b"\x00\x0f\x27", b"\x01\x0f\x27"]
    error = ws.recv() or b""
    assert error[:1] == b"\x01"
    text = error[1:].decode()
    uid = _uid(server)
    assert text.startswith(_refused_text(9999, uid))
    assert text.endswith(f'failed to connect to localhost:9999 inside namespace '
                         f'"{sandbox_id(uid)}", IPv4: dial tcp4 127.0.0.1:9999: connect: '
                         "connection refused IPv6 dial tcp6 [::1]:9999: connect: connection "
                         "refused ")
    assert ws.recv() is None and ws.close_code == 1000


def test_several_ports_on_one_websocket(server: ApiServer) -> None:
    server.pods.on_port("default", "web", 80, echo_upper)
    ws = RawWebSocket(server, f"{PF}?ports=80&ports=81", ["v4.channel.k8s.io"])
    assert sorted(_prefixes(ws, 4)) == [b"\x00P\x00", b"\x01P\x00", b"\x02Q\x00", b"\x03Q\x00"]
    error = ws.recv() or b""
    assert error[:1] == b"\x03" and b"error forwarding port 81" in error
    ws.send(0, b"still here")
    assert ws.recv() == b"\x00STILL HERE"
    ws.close()


def test_a_local_address_target_and_concurrent_connections(server: ApiServer) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    address = listener.getsockname()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    server.pods.on_port("default", "web", 5432, address)
    results: dict[int, bytes | None] = {}

    def client(i: int) -> None:
        ws = _open(server, "5432")
        _prefixes(ws, 2)
        ws.send(0, f"client {i}".encode())
        results[i] = ws.recv()
        ws.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    listener.close()
    assert results == {i: f"\x00CLIENT {i}".encode() for i in range(8)}


def test_ten_megabytes_through_port_forward_in_bounded_memory(server: ApiServer) -> None:
    total = 10 * 1024 * 1024

    def download(conn: PodConnection) -> None:
        block = b"z" * 65536
        for _ in range(total // len(block)):
            conn.sendall(block)

    server.pods.on_port("default", "web", 80, download)
    ws = _open(server, "80")
    _prefixes(ws, 2)
    received = 0
    tracemalloc.start()
    try:
        while (message := ws.recv()) is not None:
            assert message[0] == 0
            received += len(message) - 1
            if received < 256 * 1024:
                time.sleep(0.01)  # slow at first: the pod side must wait
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == total and ws.close_code == 1000
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for {total} through port-forward"


def test_a_killed_client_ends_the_pod_connection(server: ApiServer) -> None:
    ended = threading.Event()

    def endless(conn: PodConnection) -> None:
        try:
            while True:
                conn.sendall(b"data" * 4096)
        except BrokenPipeError:
            ended.set()

    server.pods.on_port("default", "web", 80, endless)
    ws = _open(server, "80")
    _prefixes(ws, 2)
    assert ws.recv() is not None
    ws.kill()
    assert ended.wait(10)
    deadline = time.monotonic() + 10
    while left := [t.name for t in threading.enumerate() if t.name.startswith("dynakube-port")]:
        assert time.monotonic() < deadline, f"port-forward threads left behind: {left}"
        time.sleep(0.02)


def test_open_pod_port_is_one_duplex_connection(server: ApiServer) -> None:
    server.pods.on_port("default", "web", 80, echo_upper)
    conn = open_pod_port(server.api, "default", "web", 80)
    conn.sendall(b"abc")
    conn.shutdown_write()
    assert conn.recv(10) == b"ABC" and conn.recv(10) == b""
    conn.close()
    with pytest.raises(PortForwardError, match="error forwarding port 81 to pod"):
        open_pod_port(server.api, "default", "web", 81)
    with pytest.raises(PortForwardError, match=r'pod not found \("gone_default"\)'):
        open_pod_port(server.api, "default", "gone", 80)


@pytest.mark.parametrize(("query", "code", "message"), [
    ("", 400, 'query parameter "port" is required'),
    ("?ports=", 400, 'query parameter "port" cannot be empty'),
    ("?ports=http", 400, 'unable to parse "http" as a port: strconv.ParseUint: parsing "http": '
                         "invalid syntax"),
    ("?ports=0", 400, 'port "0" must be > 0'),
])
def test_refusals_before_the_upgrade(server: ApiServer, query: str, code: int,
                                     message: str) -> None:
    with pytest.raises(Rejected) as caught:
        RawWebSocket(server, PF + query, ["v4.channel.k8s.io"])
    assert (caught.value.status, caught.value.json()["message"]) == (code, message)


def test_pods_without_a_node_or_gone_are_refused(server: ApiServer) -> None:
    create(server, pod("pending", node=None))
    cases: dict[str, Any] = {
        "pending": (400, "pod pending does not have a host assigned"),
        "gone": (404, 'pods "gone" not found'),
    }
    for name, expected in cases.items():
        with pytest.raises(Rejected) as caught:
            RawWebSocket(server, f"/api/v1/namespaces/default/pods/{name}/portforward?ports=80",
                         ["v4.channel.k8s.io"])
        assert (caught.value.status, caught.value.json()["message"]) == expected
