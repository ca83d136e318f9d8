"""Exec and attach over the real wire (TLS) against the embedded server's kubelet stand-in
(``server.pods.on_exec``): results, exit codes, stdin closing, 10 MB both ways in bounded
memory, terminal resize, refusals before the upgrade, a connection killed mid-stream."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest
from faultproxy import FaultProxy

from dynakube.channels import V4, V5
from dynakube.client import Client
from dynakube.errors import (
    BadRequestError,
    InvalidArgumentError,
    NotFoundError,
    ServerError,
    TransportError,
    UnsupportedError,
)
from dynakube.exec import ExecStream, open_stream
from dynakube.logs import PodChoice
from dynakube.testing import ApiServer

MB = 1024 * 1024
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def kube(server: ApiServer) -> Iterator[Client]:
    client = server.client()
    yield client
    client.close()


def make_pod(kube: Client, *containers: str, labels: dict[str, str] | None = None,
             node: str | None = "node-1") -> str:
    name = f"p{next(_names)}"
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"}
                                           for c in containers or ("app",)]}
    if node:
        spec["nodeName"] = node
    kube.resource("pods").create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "labels": labels or {}}, "spec": spec})
    return name


@pytest.fixture
def pod(kube: Client) -> str:
    return make_pod(kube)


def echo(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
         tty: bool, resize: Any) -> int:
    """A tiny shell: ``echo``, ``cat`` (stdin to stdout), ``fail N``, ``big N`` (N MiB),
    ``count`` (stdin's size), ``sleep``, ``sizes`` (resize events)."""
    name, *rest = command or ["attached"]
    if name == "echo":
        stdout.write(" ".join(rest).encode() + b"\n")
        stderr.write(b"to stderr\n")
    elif name == "cat":
        while chunk := stdin.read(65536):
            stdout.write(chunk)
    elif name == "fail":
        stderr.write(b"failing\n")
        return int(rest[0])
    elif name == "big":
        block = b"x" * 65536
        for _ in range(int(rest[0]) * 16):
            stdout.write(block)
    elif name == "count":
        total = 0
        while chunk := stdin.read(65536):
            total += len(chunk)
        stdout.write(str(total).encode())
    elif name == "sleep":
        time.sleep(float(rest[0]))
    elif name == "sizes":
        for size in resize:
            stdout.write(f"{size[0]}x{size[1]}\n".encode())
            if size == (0, 0):
                break
    elif name == "attached":
        stdout.write(f"attached tty={tty}\n".encode())
    return 0


def register(server: ApiServer, pod: str, container: str = "app") -> None:
    server.pods.on_exec("default", pod, container, echo)


def test_exec_returns_exit_code_stdout_and_stderr(server: ApiServer, kube: Client,
                                                  pod: str) -> None:
    register(server, pod)
    result = kube.resource("pods").exec(pod, ["echo", "hello", "world"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"hello world\n",
                                                                b"to stderr\n")
    assert result.ok and result.status.reason is None


def test_a_non_zero_exit_code_is_a_result_with_the_kubelet_reason(
        server: ApiServer, kube: Client, pod: str) -> None:
    register(server, pod)
    result = kube.resource("pods").exec(pod, ["fail", "7"])
    assert (result.exit_code, result.stderr, result.ok) == (7, b"failing\n", False)
    assert result.status.reason == "NonZeroExitCode"
    assert "exit code 7" in (result.status.message or "")


def test_a_command_the_runtime_cannot_run_raises_its_message(kube: Client, pod: str) -> None:
    with pytest.raises(ServerError, match='exec: "nosuch": executable file not found'):
        kube.resource("pods").exec(pod, ["nosuch"])


def test_stdin_is_sent_then_closed(server: ApiServer, kube: Client, pod: str) -> None:
    register(server, pod)
    pods = kube.resource("pods")
    assert pods.exec(pod, ["cat"], stdin=b"line 1\nline 2\n").stdout == b"line 1\nline 2\n"
    assert pods.exec(pod, ["cat"], stdin="text").stdout == b"text"
    with pods.stream(pod, ["cat"], stdin=True) as stream:
        assert stream.protocol == V5 and stream.stdin is not None
        stream.stdin.write(b"streamed")
        stream.stdin.close()  # the command sees the end of its input and exits
        assert stream.stdout.read() == b"streamed"
        assert stream.wait(10) == 0


def test_10_mb_out_of_exec_streams_in_bounded_memory(server: ApiServer, kube: Client,
                                                     pod: str) -> None:
    register(server, pod)
    tracemalloc.start()
    try:
        with kube.resource("pods").stream(pod, ["big", "10"]) as stream:
            total = 0
            while chunk := stream.stdout.read(65536):
                total += len(chunk)
            assert stream.wait(30) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == 10 * MB
    assert peak < 4 * MB, f"streaming 10 MB peaked at {peak / MB:.1f} MB"


def test_10_mb_collected_by_exec_costs_about_its_size(server: ApiServer, kube: Client,
                                                      pod: str) -> None:
    register(server, pod)
    tracemalloc.start()
    try:
        result = kube.resource("pods").exec(pod, ["big", "10"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(result.stdout) == 10 * MB and set(result.stdout) == {ord("x")}
    assert peak < 25 * MB, f"collecting 10 MB peaked at {peak / MB:.1f} MB"


def test_10_mb_into_stdin_in_bounded_memory(server: ApiServer, kube: Client, pod: str) -> None:
    register(server, pod)

    class Source:
        """10 MiB produced on the fly, never held."""

        left = 10 * MB

        def read(self, n: int) -> bytes:
            n = min(n, self.left)
            self.left -= n
            return b"y" * n

    tracemalloc.start()
    try:
        result = kube.resource("pods").exec(pod, ["count"], stdin=Source())  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.stdout == str(10 * MB).encode()
    assert peak < 4 * MB, f"sending 10 MB peaked at {peak / MB:.1f} MB"


def test_tty_resize_reaches_the_command(server: ApiServer, kube: Client, pod: str) -> None:
    register(server, pod)
    with kube.resource("pods").stream(pod, ["sizes"], stdin=True, tty=True) as stream:
        assert stream.stderr is None  # a terminal merges stderr into stdout
        stream.resize(120, 40)
        stream.resize(80, 24)
        stream.resize(0, 0)
        assert stream.stdout.read() == b"120x40\n80x24\n0x0\n"
        assert stream.wait(10) == 0
    with kube.resource("pods").stream(pod, ["sizes"]) as plain, \
            pytest.raises(InvalidArgumentError, match="tty=True"):
        plain.resize(1, 1)


def test_attach_runs_the_handler_without_a_command(server: ApiServer, kube: Client,
                                                   pod: str) -> None:
    register(server, pod)
    assert kube.resource("pods").attach(pod).stdout == b"attached tty=False\n"
    with kube.resource("pods").stream(pod, stdin=True, tty=True) as stream:
        assert stream.stdout.read() == b"attached tty=True\n"
        assert stream.wait(10) == 0


def test_v4_is_spoken_when_the_server_picks_it(server: ApiServer, kube: Client,
                                               pod: str) -> None:
    register(server, pod)
    choice = PodChoice(pod, "default", 1)
    handle = kube.resource("pods")
    query = (("command", "fail"), ("command", "3"), ("stdout", "true"), ("stderr", "true"))
    socket = open_stream(handle, choice, "exec", query, [V4])
    with ExecStream(socket, stdin=False, stderr=True, tty=False, what="v4") as stream:
        assert stream.protocol == V4
        assert stream.stderr is not None and stream.stderr.read() == b"failing\n"
        assert stream.wait(10) == 3


def test_a_timeout_hangs_up(server: ApiServer, kube: Client, pod: str) -> None:
    register(server, pod)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not end within 0.3s"):
        kube.resource("pods").exec(pod, ["sleep", "5"], timeout=0.3)
    assert time.monotonic() - started < 4


def test_refusals_before_the_upgrade_are_typed(server: ApiServer, kube: Client) -> None:
    pods = kube.resource("pods")
    with pytest.raises(NotFoundError, match='pods "nosuch" not found'):
        pods.exec("nosuch", ["ls"])
    two = make_pod(kube, "web", "sidecar")
    with pytest.raises(BadRequestError, match="container nope is not valid"):
        pods.exec(two, ["ls"], container="nope")
    pending = make_pod(kube, node=None)
    with pytest.raises(BadRequestError):
        pods.exec(pending, ["ls"])
    with pytest.raises(InvalidArgumentError, match="list of strings"):
        pods.exec(two, "ls -l")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="cannot exec into configmaps"):
        kube.resource("configmaps").exec("x", ["ls"])


def test_a_workload_execs_in_the_pod_logs_would_read(server: ApiServer, kube: Client) -> None:
    name = make_pod(kube, labels={"app": "shop"})
    register(server, name)
    kube.resource("deployments").create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "shop"}}, "template": {
            "metadata": {"labels": {"app": "shop"}},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}})
    result = kube.resource("deployments").exec("shop", ["echo", "via", "deployment"])
    assert result.stdout == b"via deployment\n"


def test_a_killed_connection_mid_stream_is_a_transport_error() -> None:
    with ApiServer() as plain, FaultProxy(plain.url) as proxy:
        kube = Client(dataclasses.replace(plain.config(), server=proxy.url))
        name = make_pod(kube)
        started = threading.Event()

        def slow(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                 **kw: Any) -> int:
            stdout.write(b"first part\n")
            stdout.flush()
            started.set()
            time.sleep(10)
            return 0

        plain.pods.on_exec("default", name, "app", slow)
        with kube.resource("pods").stream(name, ["slow"]) as stream:
            assert stream.stdout.read(11) == b"first part\n"
            assert started.wait(5)
            proxy.cut_all()
            with pytest.raises(TransportError, match="broke mid-stream"):
                stream.stdout.read()
            with pytest.raises(TransportError):
                stream.wait(5)
        kube.close()


def test_closing_a_stream_from_another_thread_ends_it(server: ApiServer, kube: Client,
                                                      pod: str) -> None:
    register(server, pod)
    stream = kube.resource("pods").stream(pod, ["sleep", "10"])
    timer = threading.Timer(0.2, stream.close)
    timer.start()
    assert stream.stdout.read() == b""
    timer.join()


def test_a_transport_without_websockets_is_unsupported(server: ApiServer, pod: str) -> None:
    class Recorder:
        """A transport that sends requests but cannot upgrade them."""

        def __init__(self, inner: Any):
            self.inner = inner

        def send(self, *args: Any, **kw: Any) -> Any:
            return self.inner.send(*args, **kw)

    with server.client() as client:
        kube = Client(server.config(), transport=Recorder(client.transport))
        with pytest.raises(UnsupportedError, match="cannot open WebSockets"):
            kube.resource("pods").exec(pod, ["ls"])
