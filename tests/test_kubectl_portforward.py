"""``kubectl port-forward`` (1.32) against the embedded server, over both of its transports.

kubectl first tunnels SPDY/3.1 through a WebSocket (``SPDY/3.1+portforward.k8s.io``) and,
with ``KUBECTL_PORT_FORWARD_WEBSOCKETS=false``, upgrades straight to SPDY; every test runs
both ways and checks in the request log that the transport asked for is the one used. What
a forwarded port reaches is registered with ``server.pods.on_port``. Skipped without kubectl.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from kubectlhelp import KUBECTL, Kubectl, needs_kubectl

from dynakube.apiserver.rules.podstreams import PodConnection
from dynakube.apiserver.server import ApiServer

pytestmark = needs_kubectl

_WAIT = 30  # seconds for kubectl to start forwarding, or to exit


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def kubectl(server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(server.kubeconfig_path, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture(params=["websocket", "spdy"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def k(kubectl: Kubectl, request: pytest.FixtureRequest) -> Kubectl:
    """kubectl in a fresh namespace with a running Pod ``web`` on a node."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    name = slug[:40].strip("-") + "-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    kubectl.ok("create", "namespace", name)
    k = kubectl.in_namespace(name)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "nginx"}]}}
    k.ok("create", "-f", "-", stdin=json.dumps(pod))
    k.ok("patch", "pod", "web", "--subresource=status", "--type=merge",
         "-p", '{"status":{"phase":"Running"}}')
    return k


@dataclass
class Forward:
    """A running ``kubectl port-forward``: its process and the local port it listens on."""

    proc: subprocess.Popen[bytes]
    port: int

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=_WAIT)

    def finish(self) -> tuple[int, str]:
        """Wait for kubectl to exit (it does after a forwarding error); code and stderr."""
        _, err = self.proc.communicate(timeout=_WAIT)
        return self.proc.returncode, err.decode()


@contextmanager
def port_forward(k: Kubectl, transport: str, remote: int) -> Iterator[Forward]:
    """``kubectl port-forward pod/web 0:REMOTE`` until the block ends."""
    assert KUBECTL is not None and k.namespace is not None
    env = {key: v for key, v in os.environ.items() if key != "KUBECONFIG"}
    env["KUBECTL_PORT_FORWARD_WEBSOCKETS"] = "true" if transport == "websocket" else "false"
    proc = subprocess.Popen(
        [KUBECTL, "--kubeconfig", k.kubeconfig, "--cache-dir", k.cache_dir, "-n", k.namespace,
         "port-forward", "--address", "127.0.0.1", "pod/web", f"0:{remote}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], _WAIT)
        line = proc.stdout.readline().decode() if ready else ""
        found = re.match(rf"Forwarding from 127\.0\.0\.1:(\d+) -> {remote}$", line.strip())
        assert found, f"kubectl did not start forwarding: {line!r}"
        yield Forward(proc, int(found.group(1)))
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=_WAIT)


def _used(server: ApiServer, k: Kubectl, transport: str) -> None:
    """The request log shows the upgrade of the transport asked for (GET for the tunnel)."""
    path = f"/api/v1/namespaces/{k.namespace}/pods/web/portforward"
    upgrades = {(r.method, r.status) for r in server.requests if r.path == path}
    assert upgrades == {("GET" if transport == "websocket" else "POST", 101)}


def _echo(conn: PodConnection) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def _exchange(sock: socket.socket, payload: bytes) -> bytes:
    """Send ``payload`` (then half-close) while reading everything that comes back."""
    def send() -> None:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    sender.join()
    sock.close()
    return b"".join(chunks)


def test_a_forwarded_connection_echoes(server: ApiServer, k: Kubectl, transport: str) -> None:
    server.pods.on_port(str(k.namespace), "web", 80, _echo)
    with port_forward(k, transport, 80) as fwd:
        assert _exchange(fwd.connect(), b"hello through the pod") == b"hello through the pod"
        assert _exchange(fwd.connect(), b"and again") == b"and again"
    _used(server, k, transport)


def test_concurrent_connections_share_one_session(server: ApiServer, k: Kubectl,
                                                  transport: str) -> None:
    server.pods.on_port(str(k.namespace), "web", 80, _echo)
    payloads = [bytes([n]) * (50_000 + n) for n in range(8)]
    results: dict[int, bytes] = {}
    with port_forward(k, transport, 80) as fwd:
        socks = [fwd.connect() for _ in payloads]  # all open before any is used

        def run(n: int) -> None:
            results[n] = _exchange(socks[n], payloads[n])

        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(_WAIT)
    assert [results.get(n) == p for n, p in enumerate(payloads)] == [True] * len(payloads)
    _used(server, k, transport)


def test_ten_megabytes_go_through_both_ways(server: ApiServer, k: Kubectl,
                                            transport: str) -> None:
    size = 10 * 1024 * 1024
    payload = hashlib.shake_256(b"dynakube").digest(size)
    server.pods.on_port(str(k.namespace), "web", 80, _echo)
    with port_forward(k, transport, 80) as fwd:
        back = _exchange(fwd.connect(), payload)
    assert len(back) == size and hashlib.sha256(back).digest() == hashlib.sha256(
        payload).digest()


def test_a_port_can_lead_to_a_local_address(server: ApiServer, k: Kubectl,
                                            transport: str) -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"greeting from " + conn.recv(100))

    threading.Thread(target=serve, daemon=True).start()
    server.pods.on_port(str(k.namespace), "web", 5432, listener.getsockname())
    with listener, port_forward(k, transport, 5432) as fwd:
        assert _exchange(fwd.connect(), b"kubectl") == b"greeting from kubectl"


def test_a_port_nothing_listens_on_shows_the_kubelets_error(
        server: ApiServer, k: Kubectl, transport: str) -> None:
    with port_forward(k, transport, 81) as fwd:
        sock = fwd.connect()
        assert sock.recv(100) == b""  # kubectl drops the local connection
        sock.close()
        code, err = fwd.finish()
    assert code == 1, err
    assert re.search(rf"an error occurred forwarding {fwd.port} -> 81: error forwarding port 81 "
                     r"to pod [0-9a-f]{64}, uid : failed to execute portforward in network "
                     r'namespace \\"/var/run/netns/cni-[0-9a-f-]+\\": failed to connect to '
                     r"localhost:81 inside namespace", err), err
    assert "dial tcp4 127.0.0.1:81: connect: connection refused" in err
    assert err.rstrip().endswith("error: lost connection to pod"), err
