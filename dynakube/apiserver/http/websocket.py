"""Upgrading a request to a WebSocket (RFC 6455), and the blocking message socket after it.

``wsproto`` does the framing, sans-I/O: :class:`WebSocket` feeds it the bytes read from the
connection and sends what it produces, so the streaming verbs (exec, attach, port-forward,
and the SPDY tunnel of ``kubectl port-forward``) get whole binary messages through the small
:class:`~..verbs.channels.MessageSocket` interface. One thread reads; any thread may send, and
a send blocks while the peer is slow to read, which is what bounds the memory of a stream.
wsproto is imported only when a request upgrades.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["CLOSE_TIMEOUT", "MAX_MESSAGE_BYTES", "WebSocket", "accept", "handshake_problem",
           "is_websocket", "offered_protocols", "run_websocket", "subprotocol_for"]

MAX_MESSAGE_BYTES = 1024 * 1024
"""The largest message a peer may send (clients send stdin and data in pieces far smaller)."""
CLOSE_TIMEOUT = 5.0
"""How long a closing WebSocket waits for the peer's close frame before it hangs up."""
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_POLL = 0.5


def is_websocket(headers: Message) -> bool:
    """Whether the request asks for a WebSocket (``Connection: Upgrade``, ``Upgrade:
    websocket``), as ``wsstream.IsWebSocketRequest`` decides."""
    connection = [t.strip().lower() for t in headers.get("Connection", "").split(",")]
    return "upgrade" in connection and headers.get("Upgrade", "").lower() == "websocket"


def offered_protocols(headers: Message) -> list[str]:
    """The subprotocols the client offers, in its order (every ``Sec-WebSocket-Protocol``)."""
    return [p.strip() for value in headers.get_all("Sec-WebSocket-Protocol") or []
            for p in value.split(",") if p.strip()]


def handshake_problem(headers: Message, method: str) -> str | None:
    """What makes the upgrade request invalid for RFC 6455, or None."""
    if method not in ("GET", "POST"):
        return f"method {method} cannot upgrade to a WebSocket"
    if headers.get("Sec-WebSocket-Version", "").strip() != "13":
        return "unsupported Sec-WebSocket-Version (want 13)"
    key = headers.get("Sec-WebSocket-Key", "").strip()
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError(key)
    except ValueError:
        return "missing or invalid Sec-WebSocket-Key"
    return None


def _accept_token(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()


def _buffered(handler: BaseHTTPRequestHandler) -> bytes:
    """Bytes the client sent after its request that ``rfile`` already buffered."""
    sock = handler.connection
    sock.setblocking(False)
    try:
        return handler.rfile.read1(MAX_MESSAGE_BYTES) or b""
    except (OSError, ValueError):  # nothing buffered, nothing waiting
        return b""
    finally:
        sock.setblocking(True)


def accept(handler: BaseHTTPRequestHandler, protocol: str) -> WebSocket:
    """Answer ``101 Switching Protocols`` with ``protocol`` and return the WebSocket."""
    handler.send_response(101)
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept",
                        _accept_token(handler.headers.get("Sec-WebSocket-Key", "").strip()))
    if protocol:
        handler.send_header("Sec-WebSocket-Protocol", protocol)
    handler.end_headers()
    handler.wfile.flush()
    handler.connection.settimeout(None)
    return WebSocket(handler.connection, protocol, _buffered(handler))


def run_websocket(handler: BaseHTTPRequestHandler, protocol: str,
                  session: Callable[[WebSocket], None]) -> None:
    """Upgrade, run ``session`` on the WebSocket, and make sure it is closed after; the
    HTTP connection ends with it."""
    handler.close_connection = True
    ws = accept(handler, protocol)
    try:
        session(ws)
    finally:
        ws.close()
        ws.drain()


class WebSocket:
    """The server side of one WebSocket on a connected (possibly TLS) socket.

    ``trailing`` is what the client sent right after its request. Sends are serialized by a
    lock and written synchronously (the socket's own buffer is the only one); :meth:`recv`
    answers pings and the close handshake itself.
    """

    def __init__(self, sock: socket.socket, subprotocol: str, trailing: bytes = b""):
        from wsproto.connection import Connection, ConnectionType

        self._sock = sock
        self._subprotocol = subprotocol
        self._conn = Connection(ConnectionType.SERVER)
        self._proto_lock = threading.Lock()  # wsproto's state, read and written by both sides
        self._send_lock = threading.Lock()  # frames leave whole and in order
        self._messages: collections.deque[bytes] = collections.deque()
        self._partial = bytearray()
        self._finished = False
        self._deadline: float | None = None
        self._trailing = trailing

    @property
    def subprotocol(self) -> str:
        return self._subprotocol

    @property
    def closed(self) -> bool:
        """Whether nothing more can be sent (closing, closed, or the connection broke)."""
        from wsproto.connection import ConnectionState

        return self._finished or self._conn.state is not ConnectionState.OPEN

    def _write(self, event: Any) -> None:
        """Frame ``event`` and send it (under the send lock); ``BrokenPipeError`` if gone."""
        from wsproto.utilities import LocalProtocolError

        with self._proto_lock:
            try:
                data = self._conn.send(event)
            except LocalProtocolError:  # the peer's close or end came in meanwhile
                self._finished = True
                raise BrokenPipeError("the WebSocket is closed") from None
        try:
            self._sock.sendall(data)
        except (OSError, ValueError) as exc:
            self._finished = True
            raise BrokenPipeError(f"the WebSocket connection is gone: {exc}") from None

    def send(self, data: bytes) -> None:
        from wsproto.events import BytesMessage

        with self._send_lock:
            if self.closed:
                raise BrokenPipeError("the WebSocket is closed")
            self._write(BytesMessage(data=bytes(data)))

    def close(self, code: int = 1000, reason: str = "") -> None:
        from wsproto.events import CloseConnection

        with self._send_lock:
            if self.closed:
                return
            self._deadline = time.monotonic() + CLOSE_TIMEOUT
            try:
                self._write(CloseConnection(code=code, reason=reason))
            except BrokenPipeError:
                pass

    def drain(self) -> None:
        """Read (and drop) until the close handshake ends, so that hanging up does not reset
        a connection whose last frames the peer has not read yet."""
        while self.recv() is not None:
            pass

    def recv(self) -> bytes | None:
        while not self._messages:
            if self._finished:
                return None
            self._feed(self._read())
        return self._messages.popleft()

    def _read(self) -> bytes:
        """The next bytes from the connection; ``b""`` at its end (or the close deadline)."""
        if self._trailing:
            data, self._trailing = self._trailing, b""
            return data
        sock = self._sock
        while True:
            if self._deadline is not None and time.monotonic() > self._deadline:
                return b""
            try:
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()) and \
                        not select.select([sock], [], [], _POLL)[0]:
                    continue
                return sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ValueError):
                return b""

    def _feed(self, data: bytes) -> None:
        from wsproto.connection import ConnectionState
        from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
        from wsproto.utilities import LocalProtocolError

        with self._proto_lock:
            try:
                self._conn.receive_data(data or None)
            except LocalProtocolError:  # bytes after the close: nothing more to read
                data = b""
            events = list(self._conn.events())
        if not data:
            self._finished = True
        for event in events:
            if isinstance(event, (BytesMessage, TextMessage)):
                chunk = event.data.encode() if isinstance(event.data, str) else \
                    bytes(event.data)
                self._partial += chunk
                if len(self._partial) > MAX_MESSAGE_BYTES:
                    self._partial.clear()
                    self.close(1009, "message too big")
                elif event.message_finished:
                    self._messages.append(bytes(self._partial))
                    self._partial.clear()
            elif isinstance(event, Ping):
                self._reply(event.response())
            elif isinstance(event, CloseConnection):
                if self._conn.state is ConnectionState.REMOTE_CLOSING:
                    self._reply(event.response())
                self._finished = True

    def _reply(self, event: Any) -> None:
        with self._send_lock:
            try:
                self._write(event)
            except BrokenPipeError:
                pass


def subprotocol_for(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """The first subprotocol the client offers that is supported (the client's order)."""
    return next((p for p in offered if p in supported), None)

