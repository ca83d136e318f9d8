"""Exec and attach: run a command in a container (or join its main process) over a WebSocket.

``kube.resource("pods").exec("web-0", ["ls", "/"])`` upgrades ``GET pods/web-0/exec`` to
``v5.channel.k8s.io`` (``v4`` when the server is older) and returns an :class:`ExecResult`
with the command's exit code, stdout and stderr, as ``subprocess.run`` would. The streaming
form, ``pods.stream("web-0", ["sh"], stdin=True, tty=True)`` (``command=None`` attaches),
gives an :class:`ExecStream` with ``stdin``/``stdout``/``stderr`` file objects and
:meth:`ExecStream.resize`. On a workload handle (``deployments.exec("web", ...)``) the Pod is
the one ``logs()`` picks, as ``kubectl exec deploy/web`` does. The exit code and failure
reason come from the ``Status`` the kubelet sends on channel 3: ``NonZeroExitCode`` is a
result, any other failure (the runtime cannot run the command) raises its
``dynakube.errors`` class.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from .channels import (
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
from .errors import InvalidArgumentError, TransportError, UnsupportedError
from .logs import _SELECTOR_KINDS, PodChoice
from .request import ApiRequest, check_name, resource_path

__all__ = ["ExecResult", "ExecStream", "StreamPipe", "Stdin", "open_stream",
           "stream_pod", "start_stream", "run_command", "PIPE_LIMIT", "CHUNK"]

#: At most this many bytes wait in one output pipe; the connection is not read meanwhile.
PIPE_LIMIT = 1024 * 1024
#: Bytes sent per stdin message (kubectl sends 32 KiB).
CHUNK = 32 * 1024


class WebSocketLike(Protocol):
    """What a stream needs of :class:`~dynakube.transport.websocket.WebSocket`."""

    subprotocol: str

    def send(self, message: bytes) -> None: ...

    def recv(self) -> bytes | None: ...

    def close(self, code: int = 1000) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class ExecResult:
    """What a finished command left: its exit code and everything it printed."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    #: the ``Status`` of channel 3 (``reason``/``message`` say why a non-zero code came)
    status: ExitStatus

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class _Handle(Protocol):
    @property
    def client(self) -> Any: ...

    @property
    def info(self) -> Any: ...

    @property
    def subresource_name(self) -> str | None: ...

    def namespace_of(self, obj: Any = None, namespace: Any = None) -> str | None: ...

    def log_pod(self, name: str, namespace: str | None = None) -> PodChoice: ...


def stream_pod(handle: _Handle, name: str, namespace: str | None, verb: str) -> PodChoice:
    """The Pod ``verb`` (exec, attach, port-forward, cp) reaches: ``name`` on pods, else the
    one a workload's ``logs()`` would read (kubectl's choice)."""
    info = handle.info
    if handle.subresource_name:
        raise InvalidArgumentError(f"{verb} is called on the resource, not a subresource")
    if (info.group, info.kind) != ("", "Pod") and (info.group, info.kind) not in _SELECTOR_KINDS:
        raise InvalidArgumentError(
            f"cannot {verb} into {info.qualified}: use pods or a workload (deployments, "
            "statefulsets, daemonsets, replicasets, jobs, replicationcontrollers, services)")
    return handle.log_pod(name, namespace)


def open_stream(handle: _Handle, pod: PodChoice, subresource: str,
                query: tuple[tuple[str, str], ...], protocols: Sequence[str]) -> WebSocketLike:
    """Upgrade ``GET pods/{pod}/{subresource}`` through the client's transport."""
    transport = handle.client.transport
    opener = getattr(transport, "open_websocket", None)
    if opener is None:
        raise UnsupportedError(f"the client's transport ({type(transport).__name__}) cannot "
                               "open WebSockets; exec, attach and port-forward need "
                               "dynakube.transport.Transport")
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name,
                         subresource=subresource)
    socket: WebSocketLike = opener(ApiRequest("GET", path, query), protocols)
    return socket


class StreamPipe(io.RawIOBase):
    """One output channel of a stream, read like a pipe: ``read()`` waits for data and
    returns ``b""`` at the end. At most :data:`PIPE_LIMIT` bytes wait in it: a full pipe
    holds the connection, as a full OS pipe holds a process."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._ended = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()

    def readable(self) -> bool:
        return True

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._size < PIPE_LIMIT or self.closed)
            if not self.closed:
                self._chunks.append(data)
                self._size += len(data)
                self._cond.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._ended = True
            self._error = error
            self._cond.notify_all()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._cond:
            self._cond.wait_for(lambda: self._chunks or self._ended)
            if not self._chunks:
                if self._error is not None:
                    raise TransportError(str(self._error)) from self._error
                return 0
            chunk = self._chunks.popleft()
            n = min(len(view), len(chunk))
            view[:n] = chunk[:n]
            if n < len(chunk):
                self._chunks.appendleft(chunk[n:])
            self._size -= n
            self._cond.notify_all()
            return n

    def close(self) -> None:
        with self._cond:
            super().close()
            self._chunks.clear()
            self._cond.notify_all()


class Stdin(io.RawIOBase):
    """A stream's stdin: ``write()`` sends, ``close()`` tells the command it ended (v5's
    close signal; a v4 server cannot be told, the command then reads on)."""

    def __init__(self, socket: WebSocketLike):
        super().__init__()
        self._socket = socket

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed stdin")
        view = memoryview(data).cast("B")
        for start in range(0, len(view), CHUNK):
            self._socket.send(frame(STDIN, view[start:start + CHUNK]))
        return len(view)

    def close(self) -> None:
        if not self.closed:
            super().close()
            if self._socket.subprotocol == V5:
                try:
                    self._socket.send(close_signal(STDIN))
                except TransportError:
                    pass  # the stream is gone already: the command has no stdin left anyway


def _pump(socket: WebSocketLike, outputs: dict[int, Callable[[bytes], None]]) -> bytes | None:
    """Read the stream to its end, handing each output channel's data on; the Status."""
    status: bytes | None = None
    while (message := socket.recv()) is not None:
        if not message:
            continue
        channel, payload = message[0], message[1:]
        if channel == ERROR:
            status = (status or b"") + payload
        elif channel in outputs and payload:
            outputs[channel](payload)
    return status


class ExecStream:
    """A running command (or attach): ``stdin`` (when asked for), ``stdout``, ``stderr``
    (None with a tty: the terminal merges it) and :meth:`wait` for the exit code.

    A thread reads the connection into the pipes; read both of them (or pass
    ``stderr=False``) so that neither fills up. Use it as a context manager.
    """

    def __init__(self, socket: WebSocketLike, *, stdin: bool, stderr: bool, tty: bool,
                 what: str):
        self._socket = socket
        self.tty = tty
        self.what = what
        self.stdin: Stdin | None = Stdin(socket) if stdin else None
        self.stdout = StreamPipe("stdout")
        self.stderr: StreamPipe | None = StreamPipe("stderr") if stderr and not tty else None
        self._status: ExitStatus | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._hung_up = False
        outputs: dict[int, Callable[[bytes], None]] = {STDOUT: self.stdout.feed}
        if self.stderr is not None:
            outputs[STDERR] = self.stderr.feed
        self._thread = threading.Thread(target=self._read, args=(outputs,),
                                        name=f"dynakube-{what}", daemon=True)
        self._thread.start()

    def _read(self, outputs: dict[int, Callable[[bytes], None]]) -> None:
        error: BaseException | None = None
        try:
            self._status = exit_status(_pump(self._socket, outputs))
        except TransportError as e:
            if not self._hung_up:  # close() ends the pipes quietly
                error = self._error = e
        finally:
            for pipe in (self.stdout, self.stderr):
                if pipe is not None:
                    pipe.end(error)
            self._socket.close()
            self._done.set()

    @property
    def protocol(self) -> str:
        return self._socket.subprotocol

    def resize(self, width: int, height: int) -> None:
        """Tell the terminal's new size (columns, rows) to the command (tty only)."""
        if not self.tty:
            raise InvalidArgumentError("resize() needs a stream opened with tty=True")
        self._socket.send(resize_message(width, height))

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, once the command ended. A failure without one (the runtime could
        not run the command) raises its ``dynakube.errors`` class; a broken connection
        ``TransportError``; a ``timeout`` that passes ``TimeoutError``."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.what} did not end within {timeout:g}s")
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
        """The final Status, once it came."""
        return self._status

    def close(self) -> None:
        """Hang up: the command loses its streams (it may go on running, as with kubectl)."""
        if self.stdin is not None:
            self.stdin.close()
        if not self._done.is_set():
            self._hung_up = True
            self._socket.abort()
        for pipe in (self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()
        self._thread.join(5)

    def __enter__(self) -> ExecStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self._done.is_set() else "running"
        return f"<ExecStream {self.what} {self.protocol} {state}>"


def _feed_stdin(socket: WebSocketLike, source: bytes | IO[bytes]) -> None:
    stdin = Stdin(socket)
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            stdin.write(source)
        else:
            while chunk := source.read(CHUNK):
                stdin.write(chunk)
    except TransportError:
        pass  # the reader reports why the stream ended
    finally:
        stdin.close()


def _stdin_source(stdin: Any) -> bytes | IO[bytes] | None:
    if stdin is None or stdin is False:
        return None
    if isinstance(stdin, str):
        return stdin.encode()
    if isinstance(stdin, (bytes, bytearray, memoryview)) or hasattr(stdin, "read"):
        return stdin
    raise InvalidArgumentError(f"stdin must be bytes, str or a binary file, got "
                               f"{type(stdin).__name__}")


def _command(command: Sequence[str]) -> list[str]:
    if isinstance(command, str):
        raise InvalidArgumentError("command must be a list of strings, such as ['sh', '-c', "
                                   f"'echo hi'], got the string {command!r}")
    return list(command)


def _describe(pod: PodChoice, command: list[str] | None) -> str:
    verb = f"exec {' '.join(command)[:60]}" if command is not None else "attach"
    return f"{verb} in pod {pod.namespace}/{pod.name}"


def _connect(handle: _Handle, pod: PodChoice, command: list[str] | None,
             container: str | None, stdin: bool, stderr: bool, tty: bool) -> WebSocketLike:
    if container is not None:
        check_name(container, "container")
    query = exec_query(command, container=container, stdin=stdin, stderr=stderr, tty=tty)
    return open_stream(handle, pod, "exec" if command is not None else "attach", query,
                       EXEC_PROTOCOLS)


def start_stream(handle: _Handle, pod: PodChoice, command: list[str] | None,
                 container: str | None, *, stdin: bool, stderr: bool = True,
                 tty: bool = False) -> ExecStream:
    """An :class:`ExecStream` of ``command`` (attach when None) in ``pod``."""
    socket = _connect(handle, pod, command, container, stdin, stderr, tty)
    return ExecStream(socket, stdin=stdin, stderr=stderr, tty=tty,
                      what=_describe(pod, command))


def run_command(handle: _Handle, pod: PodChoice, command: list[str] | None,
                container: str | None, stdin: Any = None, tty: bool = False,
                timeout: float | None = None) -> ExecResult:
    """Run ``command`` (attach when None) in ``pod`` to its end."""
    source = _stdin_source(stdin)
    socket = _connect(handle, pod, command, container, source is not None, True, tty)
    out, err = bytearray(), bytearray()
    timer = None
    timed_out = threading.Event()
    if timeout is not None:
        def hang_up() -> None:
            timed_out.set()
            socket.abort()

        timer = threading.Timer(timeout, hang_up)
        timer.daemon = True
        timer.start()
    writer = None
    if source is not None:
        writer = threading.Thread(target=_feed_stdin, args=(socket, source), daemon=True,
                                  name="dynakube-exec-stdin")
        writer.start()
    try:
        payload = _pump(socket, {STDOUT: out.extend, STDERR: err.extend})
    except TransportError:
        if timed_out.is_set():
            raise TimeoutError(f"{_describe(pod, command)} did not end within "
                               f"{timeout:g}s") from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
        socket.close()
    if writer is not None:
        writer.join(5)
    status = exit_status(payload)
    if status.error is not None:
        raise status.error
    assert status.exit_code is not None
    return ExecResult(status.exit_code, bytes(out), bytes(err), status)
