"""Port-forward over the real wire (TLS) against the embedded server
(``server.pods.on_port``): local listeners, concurrent connections, 10 MB both ways in
bounded memory, a remote error closing one connection only, the low-level ``connect``."""

from __future__ import annotations

import dataclasses
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from faultproxy import FaultProxy

from dynakube.client import Client
from dynakube.errors import InvalidArgumentError
from dynakube.portforward import parse_port_pairs
from dynakube.testing import ApiServer
from dynakube.transport.forwarding import ForwardError

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def kube(server: ApiServer) -> Iterator[Client]:
    client = server.client()
    yield client
    client.close()


_count = iter(range(10_000))


@pytest.fixture
def pod(kube: Client) -> str:
    name = f"fwd{next(_count)}"
    kube.resource("pods").create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "labels": {"app": name}}, "spec": {
        "nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]}})
    return name


def echo(conn: Any) -> None:
    """Echo each chunk back until the client goes."""
    while data := conn.recv(65536):
        conn.sendall(data)


def send_big(conn: Any) -> None:
    """10 MiB to the client, then close."""
    block = b"z" * 65536
    for _ in range(160):
        conn.sendall(block)


def count(conn: Any) -> None:
    """Count what arrives until a b"." alone ends it, then answer the count."""
    total = 0
    while data := conn.recv(65536):
        if data.endswith(b"."):
            total += len(data) - 1
            break
        total += len(data)
    conn.sendall(str(total).encode())


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_port_pairs_in_every_form() -> None:
    assert parse_port_pairs({8080: 80}) == [(8080, 80)]
    assert parse_port_pairs([80, "8443:443", ":53"]) == [(80, 80), (8443, 443), (0, 53)]
    for bad in ({70000: 80}, ["8080:0"], ["x:80"], "80", [], ["1:2", "1:3"]):
        with pytest.raises(InvalidArgumentError):
            parse_port_pairs(bad)  # type: ignore[arg-type]


def test_a_forwarded_port_echoes(server: ApiServer, kube: Client, pod: str) -> None:
    server.pods.on_port("default", pod, 80, echo)
    with kube.resource("pods").port_forward(pod, {0: 80}) as fwd:
        assert list(fwd.ports) == [80] and fwd.ports[80] > 0
        assert exchange(fwd.ports[80], b"hello") == b"hello"
        assert "127.0.0.1:" in repr(fwd)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", fwd.ports[80]), timeout=2)


def test_a_given_local_port_and_an_address_target(server: ApiServer, kube: Client,
                                                  pod: str) -> None:
    upstream = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = upstream.accept()
        with conn:
            conn.sendall(b"banner\n")

    threading.Thread(target=serve, daemon=True).start()
    server.pods.on_port("default", pod, 6379, upstream.getsockname())
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free = probe.getsockname()[1]
    with kube.resource("pods").port_forward(pod, {free: 6379}) as fwd:
        assert fwd.ports == {6379: free}
        with socket.create_connection(("127.0.0.1", free), timeout=10) as sock:
            assert sock.recv(100) == b"banner\n"
            assert sock.recv(100) == b""  # the Pod side closed: so does the local one
    upstream.close()


def test_concurrent_connections_each_get_their_own_stream(server: ApiServer, kube: Client,
                                                          pod: str) -> None:
    server.pods.on_port("default", pod, 80, echo)
    results: dict[int, bytes] = {}
    with kube.resource("pods").port_forward(pod, [":80"]) as fwd:
        def run(i: int) -> None:
            results[i] = exchange(fwd.ports[80], f"connection {i} ".encode() * 1000)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results == {i: f"connection {i} ".encode() * 1000 for i in range(8)}


def test_10_mb_each_way_in_bounded_memory(server: ApiServer, kube: Client, pod: str) -> None:
    server.pods.on_port("default", pod, 9000, send_big)
    server.pods.on_port("default", pod, 9001, count)
    tracemalloc.start()
    try:
        with kube.resource("pods").port_forward(pod, [":9000", ":9001"]) as fwd:
            total = 0
            with socket.create_connection(("127.0.0.1", fwd.ports[9000]), timeout=30) as s:
                while chunk := s.recv(65536):
                    total += len(chunk)
            with socket.create_connection(("127.0.0.1", fwd.ports[9001]), timeout=30) as s:
                block = b"u" * 65536
                for _ in range(160):
                    s.sendall(block)
                s.sendall(b".")
                answer = s.recv(100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 10 * MB and answer == str(10 * MB).encode()
    assert peak < 6 * MB, f"forwarding 10 MB peaked at {peak / MB:.1f} MB"


def test_a_remote_error_closes_that_connection_only(server: ApiServer, kube: Client,
                                                    pod: str) -> None:
    server.pods.on_port("default", pod, 80, echo)
    heard: list[ForwardError] = []
    with kube.resource("pods").port_forward(pod, [":80", ":81"], on_error=heard.append) as fwd:
        with socket.create_connection(("127.0.0.1", fwd.ports[80]), timeout=10) as good:
            good.sendall(b"before")
            assert good.recv(100) == b"before"
            with socket.create_connection(("127.0.0.1", fwd.ports[81]), timeout=10) as bad:
                assert bad.recv(100) == b""  # nothing listens on 81: closed
            good.sendall(b"after")
            assert good.recv(100) == b"after"
        assert [e.port for e in fwd.errors] == [81] and heard == fwd.errors
        assert "error forwarding port 81 to pod" in str(heard[0])
        assert "connection refused" in str(heard[0])


def test_connect_gives_a_socket_like_stream(server: ApiServer, kube: Client, pod: str) -> None:
    server.pods.on_port("default", pod, 80, echo)
    with kube.resource("pods").port_forward(pod, [":80"]) as fwd:
        with fwd.connect(80) as stream:
            stream.sendall(b"ping")
            assert stream.recv(2) == b"pi" and stream.recv(100) == b"ng"
        refused = fwd.connect(5432)
        with pytest.raises(ForwardError, match="error forwarding port 5432"):
            refused.recv()
        refused.close()


def test_a_workload_forwards_to_the_pod_logs_would_read(server: ApiServer, kube: Client,
                                                        pod: str) -> None:
    server.pods.on_port("default", pod, 80, echo)
    kube.resource("services").create({"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": pod}, "spec": {
                                          "selector": {"app": pod}, "ports": [{"port": 80}]}})
    with kube.resource("services").port_forward(pod, [":80"]) as fwd:
        assert fwd.pod.name == pod
        assert exchange(fwd.ports[80], b"via service") == b"via service"


def test_a_killed_connection_closes_the_local_one_and_others_still_work() -> None:
    with ApiServer() as plain, FaultProxy(plain.url) as proxy:
        kube = Client(dataclasses.replace(plain.config(), server=proxy.url))
        kube.resource("pods").create({"apiVersion": "v1", "kind": "Pod",
                                      "metadata": {"name": "cut"}, "spec": {
                                          "nodeName": "n", "containers": [{"name": "a",
                                                                           "image": "x"}]}})
        plain.pods.on_port("default", "cut", 80, echo)
        with kube.resource("pods").port_forward("cut", [":80"]) as fwd:
            with socket.create_connection(("127.0.0.1", fwd.ports[80]), timeout=10) as sock:
                sock.sendall(b"one")
                assert sock.recv(100) == b"one"
                proxy.cut_all()
                assert sock.recv(100) == b""
            assert exchange(fwd.ports[80], b"two") == b"two"
        kube.close()
