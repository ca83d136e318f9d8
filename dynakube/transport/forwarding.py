"""Port-forward's network side: a socket-like stream per WebSocket, and the local listener.

One port-forward WebSocket carries one TCP connection to one Pod port (the data channel 0,
the error channel 1, each opened by the port number). :class:`PortStream` reads and writes
it like a socket. :class:`Forwarder` listens on local ports and, as kubectl does, opens one
WebSocket per accepted connection and copies bytes both ways; a remote error (nothing
listens on the Pod's port) closes that connection alone and is reported with the kubelet's
message. Which Pod and which WebSocket are the caller's business: it passes an opener.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..channels import parse_port_prefix
from ..errors import DynakubeError, InvalidArgumentError, TransportError

__all__ = ["PortStream", "Forwarder", "ForwardError", "READ_SIZE", "KEPT_ERRORS"]

log = logging.getLogger("dynakube.portforward")

#: Bytes read from a local connection per WebSocket message.
READ_SIZE = 64 * 1024
#: How many remote error messages :attr:`Forwarder.errors` keeps.
KEPT_ERRORS = 100


class _Socket(Protocol):
    subprotocol: str

    def send(self, message: bytes) -> None: ...

    def recv(self) -> bytes | None: ...

    def close(self, code: int = 1000) -> None: ...

    def abort(self) -> None: ...


class ForwardError(TransportError):
    """The Pod side of a forwarded connection failed (its port refused it, it went)."""

    def __init__(self, port: int, message: str):
        super().__init__(message)
        self.port = port


class PortStream:
    """One TCP connection to a Pod port, over its own WebSocket: ``recv``/``sendall``/
    ``close`` like a socket. ``recv`` returns ``b""`` when the Pod side closed, and raises
    :class:`ForwardError` with the kubelet's message when the connection failed there."""

    def __init__(self, socket_: _Socket, port: int):
        self._socket = socket_
        self.port = port
        self._buffer = b""
        self._opened: set[int] = set()
        self._ended = False
        self._lock = threading.Lock()

    def _next(self) -> bytes:
        """The next data payload; b"" at the end."""
        while not self._ended:
            message = self._socket.recv()
            if message is None:
                self._ended = True
                break
            if not message:
                continue
            channel, payload = message[0], message[1:]
            if channel not in (0, 1):
                continue  # another port's channel: this stream asked for one only
            if channel not in self._opened:  # each channel opens with its port number
                self._opened.add(channel)
                _, payload = parse_port_prefix(payload)
            if channel == 1:
                if payload:
                    self._ended = True
                    self._socket.close()
                    raise ForwardError(self.port, payload.decode("utf-8", "replace").strip())
                continue
            if payload:
                return payload
        return b""

    def recv(self, size: int = READ_SIZE) -> bytes:
        if not self._buffer:
            self._buffer = self._next()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), READ_SIZE):
            self._socket.send(b"\x00" + bytes(view[start:start + READ_SIZE]))

    def close(self) -> None:
        self._ended = True
        self._socket.close()

    def abort(self) -> None:
        """Drop the connection from any thread: a blocked :meth:`recv` returns."""
        self._ended = True
        self._socket.abort()

    def __enter__(self) -> PortStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PortStream port {self.port}>"


class Forwarder:
    """Local listeners on ``address`` forwarding each accepted connection to a Pod port.

    ``pairs`` are (local port (0: any free one), remote port); :attr:`ports` then maps
    each remote port to the local port it listens on. ``open_stream(remote_port)`` makes
    the :class:`PortStream` of one connection. :attr:`errors` keeps the last remote error
    messages; ``on_error`` hears each as it happens.
    """

    def __init__(self, open_stream: Callable[[int], PortStream],
                 pairs: Iterable[tuple[int, int]], *,
                 address: str = "127.0.0.1",
                 on_error: Callable[[ForwardError], None] | None = None):
        self._open = open_stream
        self._on_error = on_error
        self.address = address
        self.errors: deque[ForwardError] = deque(maxlen=KEPT_ERRORS)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._live: set[Any] = set()
        self._listeners: list[tuple[socket.socket, int]] = []
        self.ports: dict[int, int] = {}
        try:
            for local, remote in pairs:
                listener = socket.create_server((address, local))
                self._listeners.append((listener, remote))
                self.ports[remote] = listener.getsockname()[1]
        except OSError as e:
            self.close()
            raise InvalidArgumentError(f"cannot listen on {address}:{local}: "
                                       f"{e.strerror or e}") from e
        for listener, remote in self._listeners:
            threading.Thread(target=self._accept, args=(listener, remote), daemon=True,
                             name=f"dynakube-forward-{remote}").start()

    def _accept(self, listener: socket.socket, remote: int) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn, remote), daemon=True,
                             name=f"dynakube-forward-{remote}-conn").start()

    def _serve(self, conn: socket.socket, remote: int) -> None:
        stream: PortStream | None = None
        with self._lock:
            self._live.add(conn)
        try:
            stream = self._open(remote)
            with self._lock:
                self._live.add(stream)
            if self._closed.is_set():
                return
            upload = threading.Thread(target=self._upload, args=(conn, stream), daemon=True,
                                      name=f"dynakube-forward-{remote}-up")
            upload.start()
            while data := stream.recv(READ_SIZE):
                conn.sendall(data)
        except ForwardError as e:
            self._report(e)
        except (TransportError, OSError) as e:
            if not self._closed.is_set():
                log.debug("forwarded connection to port %d ended: %s", remote, e)
                if stream is None:  # the WebSocket could not be opened at all
                    self._report(ForwardError(remote, str(e)))
        except DynakubeError as e:  # an API error opening the stream (the Pod went, ...)
            self._report(ForwardError(remote, str(e)))
        finally:
            with self._lock:
                self._live.discard(conn)
                self._live.discard(stream)
            if stream is not None:
                stream.abort()
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    @staticmethod
    def _upload(conn: socket.socket, stream: PortStream) -> None:
        try:
            while data := conn.recv(READ_SIZE):
                stream.sendall(data)
        except (TransportError, OSError):
            pass
        # the protocol cannot half-close: the Pod side decides when the connection ends

    def _report(self, error: ForwardError) -> None:
        self.errors.append(error)
        log.info("an error occurred forwarding %d: %s", error.port, error)
        if self._on_error is not None:
            self._on_error(error)

    def close(self) -> None:
        """Stop listening and drop every forwarded connection."""
        self._closed.set()
        for listener, _ in self._listeners:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            live = list(self._live)
        for item in live:
            if isinstance(item, PortStream):
                item.abort()
            else:
                with contextlib.suppress(OSError):
                    item.shutdown(socket.SHUT_RDWR)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
