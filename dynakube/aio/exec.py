"""Exec and attach on the event loop: a command's result, or its streams as coroutines.

The same wire as :mod:`dynakube.exec` (``v5.channel.k8s.io``, else ``v4``), over the asyncio
transport's WebSocket: the query (:func:`~dynakube.channels.exec_query`), the framing and
the exit ``Status`` (:mod:`dynakube.channels`), the Pod a workload's exec reaches and the
checks of the arguments are the sync modules'. No thread reads a stream: a task does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..channels import (
    ERROR,
    EXEC_PROTOCOLS,
    STDERR,
    STDIN,
    STDOUT,
    V5,
    ExitStatus,
    close_signal,
    exec_query,
    exit_status,
    frame,
    resize_message,
)
from ..errors import InvalidArgumentError, TransportError
from ..exec import CHUNK, PIPE_LIMIT, ExecResult, _command, _describe, _stdin_source, stream_pod
from ..logs import PodChoice
from ..request import ApiRequest, check_name, resource_path

if TYPE_CHECKING:
    from ..transport.asyncconn import AsyncWebSocket
    from .handles import Handle as AsyncResource

__all__ = ["AsyncExecStream", "AsyncPipe", "ExecResult", "run_command", "start_stream",
           "target_pod"]


class AsyncPipe:
    """One output channel: ``await pipe.read()`` (all of it), ``read(n)`` (what is there, up
    to ``n``; ``b""`` at the end) or ``async for chunk in pipe``. At most
    :data:`~dynakube.exec.PIPE_LIMIT` bytes wait in it; a full pipe holds the connection."""

    def __init__(self, name: str):
        self.name = name
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._ended = False
        self._closed = False
        self._error: BaseException | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    async def feed(self, data: bytes) -> None:
        await self._writable.wait()
        if not self._closed:
            self._chunks.append(data)
            self._size += len(data)
            self._readable.set()
            if self._size >= PIPE_LIMIT:
                self._writable.clear()

    def end(self, error: BaseException | None = None) -> None:
        self._ended, self._error = True, error
        self._readable.set()

    async def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while chunk := await self.read(PIPE_LIMIT):
                parts.append(chunk)
            return b"".join(parts)
        while not self._chunks and not self._ended:
            self._readable.clear()
            await self._readable.wait()
        if not self._chunks:
            if self._error is not None:
                raise TransportError(str(self._error)) from self._error
            return b""
        chunk = self._chunks.popleft()
        if size < len(chunk):
            chunk, rest = chunk[:size], chunk[size:]
            self._chunks.appendleft(rest)
        self._size -= len(chunk)
        if self._size < PIPE_LIMIT:
            self._writable.set()
        return chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(PIPE_LIMIT):
            yield chunk

    def close(self) -> None:
        """Drop what waits and what comes: nobody reads this channel."""
        self._closed = self._ended = True
        self._chunks.clear()
        self._size = 0
        self._writable.set()
        self._readable.set()  # a reader waiting now gets the end


async def _pump(socket: AsyncWebSocket,
                outputs: dict[int, Callable[[bytes], Awaitable[None]]]) -> bytes | None:
    """Read the stream to its end, handing each output channel's data on; the Status."""
    status: bytes | None = None
    while (message := await socket.recv()) is not None:
        if not message:
            continue
        channel, payload = message[0], message[1:]
        if channel == ERROR:
            status = (status or b"") + payload
        elif channel in outputs and payload:
            await outputs[channel](payload)
    return status


async def _send_stdin(socket: AsyncWebSocket, data: Any) -> None:
    view = memoryview(data).cast("B")
    for start in range(0, len(view), CHUNK):
        await socket.send(frame(STDIN, view[start:start + CHUNK]))


class AsyncExecStream:
    """A running command (or attach): :meth:`write` / :meth:`close_stdin` (when asked for),
    :attr:`stdout`, :attr:`stderr` (None with a tty) as :class:`AsyncPipe`, :meth:`resize`,
    and ``await wait()`` for the exit code. A task reads the connection into the pipes:
    read both (or pass ``stderr=False``). ``async with`` it, or :meth:`aclose`."""

    def __init__(self, socket: AsyncWebSocket, *, stdin: bool, stderr: bool, tty: bool,
                 what: str):
        self._socket = socket
        self.tty = tty
        self.what = what
        self._stdin_open = stdin
        self.stdout = AsyncPipe("stdout")
        self.stderr: AsyncPipe | None = AsyncPipe("stderr") if stderr and not tty else None
        self._status: ExitStatus | None = None
        self._error: BaseException | None = None
        self._hung_up = False
        outputs: dict[int, Callable[[bytes], Awaitable[None]]] = {STDOUT: self.stdout.feed}
        if self.stderr is not None:
            outputs[STDERR] = self.stderr.feed
        self._task = asyncio.get_running_loop().create_task(self._read(outputs),
                                                            name=f"dynakube-{what}")

    async def _read(self, outputs: dict[int, Callable[[bytes], Awaitable[None]]]) -> None:
        error: BaseException | None = None
        try:
            self._status = exit_status(await _pump(self._socket, outputs))
        except TransportError as e:
            if not self._hung_up:
                error = self._error = e
        finally:
            for pipe in (self.stdout, self.stderr):
                if pipe is not None:
                    pipe.end(error)
            await self._socket.close()

    @property
    def protocol(self) -> str:
        return self._socket.subprotocol

    async def write(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send to the command's stdin (text as UTF-8)."""
        if not self._stdin_open:
            raise InvalidArgumentError("write() needs a stream opened with stdin=True, and "
                                       "before close_stdin()")
        await _send_stdin(self._socket, data.encode() if isinstance(data, str) else data)

    async def close_stdin(self) -> None:
        """Tell the command its stdin ended (v5's close signal; a v4 server cannot be told)."""
        if self._stdin_open:
            self._stdin_open = False
            if self._socket.subprotocol == V5:
                with contextlib.suppress(TransportError):
                    await self._socket.send(close_signal(STDIN))

    async def resize(self, width: int, height: int) -> None:
        """Tell the terminal's new size (columns, rows) to the command (tty only)."""
        if not self.tty:
            raise InvalidArgumentError("resize() needs a stream opened with tty=True")
        await self._socket.send(resize_message(width, height))

    async def wait(self, timeout: float | None = None) -> int:
        """The exit code once the command ended (errors as ``ExecStream.wait``)."""
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.what} did not end within {timeout:g}s") from None
        if self._error is not None:
            raise TransportError(str(self._error)) from self._error
        if self._status is None:
            raise TransportError(f"{self.what} was closed before it ended")
        error = self._status.error
        if error is not None:
            raise error
        assert self._status.exit_code is not None
        return self._status.exit_code

    @property
    def status(self) -> ExitStatus | None:
        return self._status

    async def aclose(self) -> None:
        """Hang up: the command loses its streams (it may go on running, as with kubectl)."""
        await self.close_stdin()
        if not self._task.done():
            self._hung_up = True
            self._socket.abort()
        for pipe in (self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()
        with contextlib.suppress(Exception):
            await self._task

    async def __aenter__(self) -> AsyncExecStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "done" if self._task.done() else "running"
        return f"<AsyncExecStream {self.what} {self.protocol} {state}>"


async def target_pod(handle: AsyncResource, name: str, namespace: str | None,
                     verb: str) -> PodChoice:
    """The Pod ``verb`` reaches (:func:`dynakube.exec.stream_pod`'s checks and choice; the
    handle's ``log_pod`` is a coroutine, so the choice comes back to be awaited)."""
    pending = stream_pod(cast(Any, handle), name, namespace, verb)
    return cast(PodChoice, await cast(Any, pending))


async def _connect(handle: AsyncResource, pod: PodChoice, command: list[str] | None,
                   container: str | None, stdin: bool, stderr: bool,
                   tty: bool) -> AsyncWebSocket:
    if container is not None:
        check_name(container, "container")
    query = exec_query(command, container=container, stdin=stdin, stderr=stderr, tty=tty)
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name,
                         subresource="exec" if command is not None else "attach")
    transport = handle.client.transport
    opener = getattr(transport, "open_websocket", None)
    if opener is None:
        from ..errors import UnsupportedError

        raise UnsupportedError(f"the client's transport ({type(transport).__name__}) cannot "
                               "open WebSockets; exec and attach need "
                               "dynakube.transport.asynchttp.AsyncTransport")
    socket: AsyncWebSocket = await opener(ApiRequest("GET", path, query), EXEC_PROTOCOLS)
    return socket


async def start_stream(handle: AsyncResource, pod: PodChoice, command: list[str] | None,
                       container: str | None, *, stdin: bool, stderr: bool = True,
                       tty: bool = False) -> AsyncExecStream:
    """An :class:`AsyncExecStream` of ``command`` (attach when None) in ``pod``."""
    socket = await _connect(handle, pod, command, container, stdin, stderr, tty)
    return AsyncExecStream(socket, stdin=stdin, stderr=stderr, tty=tty,
                           what=_describe(pod, command))


async def run_command(handle: AsyncResource, pod: PodChoice, command: list[str] | None,
                      container: str | None, stdin: Any = None, tty: bool = False,
                      timeout: float | None = None) -> ExecResult:
    """Run ``command`` (attach when None) in ``pod`` to its end: an ``ExecResult``."""
    source = _stdin_source(stdin)
    socket = await _connect(handle, pod, command, container, source is not None, True, tty)
    out, err = bytearray(), bytearray()

    async def add_out(data: bytes) -> None:
        out.extend(data)

    async def add_err(data: bytes) -> None:
        err.extend(data)

    async def feed() -> None:
        try:
            if isinstance(source, bytes | bytearray | memoryview):
                await _send_stdin(socket, source)
            else:
                assert source is not None
                while chunk := await asyncio.to_thread(source.read, CHUNK):
                    await _send_stdin(socket, chunk)
            if socket.subprotocol == V5:
                await socket.send(close_signal(STDIN))
        except TransportError:
            pass  # the reader reports why the stream ended

    writer = asyncio.get_running_loop().create_task(feed()) if source is not None else None
    try:
        async with asyncio.timeout(timeout):
            payload = await _pump(socket, {STDOUT: add_out, STDERR: add_err})
    except TimeoutError:
        socket.abort()
        raise TimeoutError(f"{_describe(pod, command)} did not end within "
                           f"{timeout:g}s") from None
    finally:
        if writer is not None and not writer.done():
            writer.cancel()
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        await socket.close()
    status = exit_status(payload)
    if status.error is not None:
        raise status.error
    assert status.exit_code is not None
    return ExecResult(status.exit_code, bytes(out), bytes(err), status)


def command_of(command: Sequence[str] | None) -> list[str] | None:
    """``command`` checked as :mod:`dynakube.exec` checks it (None: attach)."""
    return _command(command) if command is not None else None
