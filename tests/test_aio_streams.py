"""Logs, exec and attach on the asyncio client, over the real wire (TLS) against the
embedded server's kubelet stand-in: followed logs as async iterators, workloads' Pods,
results and exit codes, stdin, tty resize, timeouts, refusals and a cut connection."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import pytest_asyncio
from faultproxy import FaultProxy
from test_aio_watch import until
from test_cp import container, hostile
from test_exec import echo

from dynakube.aio import AsyncClient, AsyncResource
from dynakube.channels import V5
from dynakube.errors import (
    BadRequestError,
    InvalidArgumentError,
    NotFoundError,
    TransportError,
    UnsupportedError,
)
from dynakube.testing import ApiServer
from dynakube.transport.forwarding import ForwardError

pytestmark = pytest.mark.asyncio
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


@pytest_asyncio.fixture
async def aio(server: ApiServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.config()) as kube:
        yield kube


async def make_pod(kube: AsyncClient, *containers: str, labels: dict[str, str] | None = None,
                   node: str | None = "node-1") -> str:
    name = f"ap{next(_names)}"
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"}
                                           for c in containers or ("app",)]}
    if node:
        spec["nodeName"] = node
    pods = await kube.resource("pods")
    await pods.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "labels": labels or {}}, "spec": spec})
    return name


async def deployment(kube: AsyncClient, name: str, labels: dict[str, str]) -> AsyncResource:
    deployments = await kube.resource("deployments")
    await deployments.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}})
    return deployments


# -- logs ----------------------------------------------------------------------------------

async def test_a_followed_log_is_an_async_iterator_that_ends_with_the_pod(
        server: ApiServer, aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    server.pods.write_log("default", name, "app", "old\n\nblank above")
    lines: list[str] = []
    async with await pods.logs(name, follow=True, tail_lines=2) as stream:
        async def read() -> None:
            async for line in stream:
                lines.append(line)

        task = asyncio.create_task(read())
        while len(lines) < 2:
            await asyncio.sleep(0.02)
        server.pods.write_log("default", name, "app", "new 1\nnew 2")
        while len(lines) < 4:
            await asyncio.sleep(0.02)
        await pods.delete(name, grace_period_seconds=0)
        await asyncio.wait_for(task, 30)
    assert lines == ["", "blank above", "new 1", "new 2"]
    assert stream.closed


async def test_aclose_ends_a_followed_log_quietly(server: ApiServer, aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    server.pods.write_log("default", name, "app", "started")
    stream = await pods.logs(name, follow=True)
    assert await anext(stream) == "started"
    await stream.aclose()
    assert [line async for line in stream] == []
    assert await pods.logs(name) == "started\n"  # the server stayed healthy


async def test_workload_logs_read_the_pod_kubectl_picks(server: ApiServer,
                                                        aio: AsyncClient) -> None:
    name = await make_pod(aio, labels={"app": "logshop"})
    server.pods.write_log("default", name, "app", "from the pod\n")
    deployments = await deployment(aio, "logshop", {"app": "logshop"})
    assert (await deployments.log_pod("logshop")).name == name
    assert await deployments.logs("logshop") == "from the pod\n"
    await deployment(aio, "empty", {"app": "none"})
    with pytest.raises(NotFoundError, match="no pods found"):
        await deployments.logs("empty")
    two = await make_pod(aio, "web", "sidecar")
    pods = await aio.resource("pods")
    with pytest.raises(BadRequestError) as caught:
        await pods.logs(two, container="nope")
    assert "has the containers: web, sidecar" in str(caught.value.__notes__)
    with pytest.raises(InvalidArgumentError, match="have no logs"):
        await (await aio.resource("configmaps")).logs("x")
    with pytest.raises(InvalidArgumentError, match="tail_lines"):
        await pods.logs(two, tail_lines=-1)


# -- exec and attach ---------------------------------------------------------------------

async def test_exec_returns_exit_code_stdout_stderr_and_sends_stdin(
        server: ApiServer, aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    server.pods.on_exec("default", name, "app", echo)
    result = await pods.exec(name, ["echo", "hi", "there"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"hi there\n",
                                                                b"to stderr\n")
    failed = await pods.exec(name, ["fail", "3"])
    assert failed.exit_code == 3 and not failed.ok and failed.stderr == b"failing\n"
    assert (await pods.exec(name, ["cat"], stdin="typed in")).stdout == b"typed in"
    big = b"y" * (3 * 1024 * 1024)
    assert (await pods.exec(name, ["count"], stdin=big)).stdout == str(len(big)).encode()
    assert (await pods.attach(name)).stdout == b"attached tty=False\n"


async def test_a_stream_takes_stdin_resizes_and_waits(server: ApiServer,
                                                      aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    server.pods.on_exec("default", name, "app", echo)
    async with await pods.stream(name, ["cat"], stdin=True) as stream:
        assert stream.protocol == V5
        await stream.write(b"one ")
        await stream.write("two")
        await stream.close_stdin()
        assert await stream.stdout.read() == b"one two"
        assert stream.stderr is not None and await stream.stderr.read() == b""
        assert await stream.wait(10) == 0
    async with await pods.stream(name, ["sizes"], stdin=True, tty=True) as stream:
        assert stream.stderr is None  # a terminal merges stderr into stdout
        for size in ((120, 40), (80, 24), (0, 0)):
            await stream.resize(*size)
        assert await stream.stdout.read() == b"120x40\n80x24\n0x0\n"
        assert await stream.wait(10) == 0
    async with await pods.stream(name, ["big", "2"], stderr=False) as stream:
        total = 0
        async for chunk in stream.stdout:
            total += len(chunk)
        assert total == 2 * 1024 * 1024 and await stream.wait(10) == 0
        with pytest.raises(InvalidArgumentError, match="tty=True"):
            await stream.resize(1, 1)
        with pytest.raises(InvalidArgumentError, match="stdin=True"):
            await stream.write(b"x")


async def test_timeouts_refusals_and_workloads(server: ApiServer, aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio, labels={"app": "execshop"})
    server.pods.on_exec("default", name, "app", echo)
    with pytest.raises(TimeoutError, match="did not end within 0.3s"):
        await pods.exec(name, ["sleep", "5"], timeout=0.3)
    async with await pods.stream(name, ["sleep", "5"]) as stream:
        with pytest.raises(TimeoutError, match="did not end within 0.2s"):
            await stream.wait(0.2)
    deployments = await deployment(aio, "execshop", {"app": "execshop"})
    assert (await deployments.exec("execshop", ["echo", "via"])).stdout == b"via\n"
    with pytest.raises(NotFoundError, match='pods "nosuch" not found'):
        await pods.exec("nosuch", ["ls"])
    two = await make_pod(aio, "web", "sidecar")
    with pytest.raises(BadRequestError, match="container nope is not valid"):
        await pods.exec(two, ["ls"], container="nope")
    with pytest.raises(InvalidArgumentError, match="list of strings"):
        await pods.exec(two, "ls -l")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="cannot exec into configmaps"):
        await (await aio.resource("configmaps")).exec("x", ["ls"])
    assert aio.transport.open_connections <= 10  # type: ignore[attr-defined]


async def test_a_cut_connection_is_a_transport_error_and_cancel_closes() -> None:
    with ApiServer() as plain, FaultProxy(plain.url) as proxy:
        async with AsyncClient(dataclasses.replace(plain.config(), server=proxy.url)) as kube:
            name = await make_pod(kube)
            started = threading.Event()

            def slow(command: list[str], stdin: BinaryIO, stdout: BinaryIO,
                     stderr: BinaryIO, **kw: Any) -> int:
                stdout.write(b"first part\n")
                stdout.flush()
                started.set()
                time.sleep(10)
                return 0

            plain.pods.on_exec("default", name, "app", slow)
            pods = await kube.resource("pods")
            async with await pods.stream(name, ["slow"]) as stream:
                assert await stream.stdout.read(11) == b"first part\n"
                assert started.wait(5)
                proxy.cut_all()
                with pytest.raises(TransportError, match="broke mid-stream"):
                    await stream.stdout.read()
                with pytest.raises(TransportError):
                    await stream.wait(5)
            started.clear()
            task = asyncio.create_task(pods.exec(name, ["slow"]))
            assert await until(started.is_set, 5)
            streaming = kube.transport.open_connections  # type: ignore[attr-defined]
            task.cancel()  # cancelling the task closes its WebSocket at once
            with pytest.raises(asyncio.CancelledError):
                await task
            assert kube.transport.open_connections == streaming - 1  # type: ignore[attr-defined]


async def test_a_transport_without_websockets_is_unsupported(server: ApiServer,
                                                             aio: AsyncClient) -> None:
    class Sender:
        """A transport that sends requests but cannot upgrade them."""

        def __init__(self, inner: Any):
            self.inner = inner

        def send(self, *args: Any, **kw: Any) -> Any:
            return self.inner.send(*args, **kw)

    name = await make_pod(aio)
    async with AsyncClient(server.config(), transport=Sender(aio.transport)) as other:
        with pytest.raises(UnsupportedError, match="cannot open WebSockets"):
            await (await other.resource("pods")).exec(name, ["ls"])


# -- port-forward ----------------------------------------------------------------------

def port_echo(conn: Any) -> None:
    """Echo each chunk back until the client goes."""
    while data := conn.recv(65536):
        conn.sendall(data)


async def test_port_forward_listens_echoes_and_reports_remote_errors(
        server: ApiServer, aio: AsyncClient) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    server.pods.on_port("default", name, 80, port_echo)
    heard: list[str] = []
    async with await pods.port_forward(name, [":80", ":9"],
                                       on_error=lambda e: heard.append(str(e))) as fwd:
        assert list(fwd.ports) == [80, 9] and fwd.ports[80] > 0 and "127.0.0.1:" in repr(fwd)
        replies = []
        for text in (b"hello", b"x" * 300_000):  # two connections, one after the other
            reader, writer = await asyncio.open_connection("127.0.0.1", fwd.ports[80])
            writer.write(text)
            got = await reader.readexactly(len(text))
            writer.close()
            replies.append(got == text)
        assert replies == [True, True]
        assert not [t for t in threading.enumerate() if t.name.startswith("dynakube-forward")]
        reader, writer = await asyncio.open_connection("127.0.0.1", fwd.ports[9])
        assert await reader.read() == b""  # nothing listens on 9 in the Pod: closed
        writer.close()
        while not heard:
            await asyncio.sleep(0.02)
        assert fwd.errors and fwd.errors[0].port == 9 and heard == [str(fwd.errors[0])]
        stream = await fwd.connect(80)
        async with stream:
            await stream.sendall(b"direct")
            assert await stream.recv() == b"direct"
        refused = await fwd.connect(9)  # nothing listens there in the Pod
        with pytest.raises(ForwardError):
            await refused.recv()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", fwd.ports[80])
    with pytest.raises(InvalidArgumentError):
        await pods.port_forward(name, ["x:80"])


# -- cp ------------------------------------------------------------------------------------

async def test_cp_both_ways_and_a_hostile_archive(server: ApiServer, aio: AsyncClient,
                                                   tmp_path: Path) -> None:
    pods = await aio.resource("pods")
    name = await make_pod(aio)
    root = tmp_path / "container"
    (root / "etc" / "app" / "conf.d").mkdir(parents=True)
    (root / "etc" / "app" / "main.conf").write_text("main\n")
    (root / "etc" / "app" / "conf.d" / "extra.conf").write_text("extra\n")
    (root / "tmp").mkdir()
    server.pods.on_exec("default", name, "app", container(root))
    got = await pods.copy_from(name, "/etc/app", tmp_path / "app")
    assert (got / "main.conf").read_text() == "main\n"
    assert (got / "conf.d" / "extra.conf").read_text() == "extra\n"
    (tmp_path / "into").mkdir()
    assert (await pods.copy_from(name, "/etc/app/main.conf", tmp_path / "into")) \
        .read_text() == "main\n"
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    assert await pods.copy_to(name, big, "/tmp") == "/tmp/big.bin"
    back = await pods.copy_from(name, "/tmp/big.bin", tmp_path / "back.bin")
    assert back.read_bytes() == big.read_bytes()
    with pytest.raises(InvalidArgumentError, match="Cannot stat"):
        await pods.copy_from(name, "/nope", tmp_path / "nope")
    with pytest.raises(InvalidArgumentError, match="doesn't exist"):
        await pods.copy_to(name, tmp_path / "absent", "/tmp")
    escape = tarfile.TarInfo("data/../../evil")
    server.pods.on_exec("default", name, "app", hostile(escape))
    with pytest.raises(InvalidArgumentError, match="outside the destination"):
        await pods.copy_from(name, "/data", tmp_path / "data")
    assert not (tmp_path / "data").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dynakube-cp-")]
