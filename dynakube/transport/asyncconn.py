"""One HTTP/1.1 connection on asyncio streams and ``h11``, how it is opened (TLS, an HTTP
proxy's CONNECT tunnel, SOCKS5), and the bounded pool that keeps such connections alive.

The asyncio transport (:mod:`~dynakube.transport.asynchttp`) sends through these; ``h11``
does the HTTP framing without I/O, so all this module does is move its bytes and bound the
time each step may take.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import h11

from ..errors import InvalidArgumentError, TransportError, UnsupportedError
from .proxy import Proxy, check_connect_reply, connect_request, parse_connect_reply
from .rules import USER_AGENT, root_cause, tls_reason

__all__ = ["Connection", "Pool", "connect", "AsyncWebSocket", "upgrade"]

_READ = 65536


class Connection:
    """A client connection: request out, then the answer's head and body events in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 server: str):
        self._reader = reader
        self._writer = writer
        self._server = server
        self._h11 = h11.Connection(h11.CLIENT)
        self.closed = False

    async def exchange(self, request: h11.Request, body: bytes | None,
                       timeout: float | None) -> tuple[int, list[tuple[str, str]]]:
        """Send ``request`` with ``body``; the answer's status and headers."""
        try:
            data = self._h11.send(request) or b""
            if body:
                data += self._h11.send(h11.Data(data=body)) or b""
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as e:
            raise TransportError(f"{request.method.decode()} cannot be sent: {e}") from e
        try:
            self._writer.write(data)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except (OSError, TimeoutError) as e:
            raise TransportError(f"sending to {self._server} failed: {root_cause(e)}") from e
        while True:
            event = await self._next_event(timeout)
            if isinstance(event, h11.Response):
                return event.status_code, [(k.decode("latin-1"), v.decode("latin-1"))
                                           for k, v in event.headers]
            if not isinstance(event, h11.InformationalResponse):
                raise TransportError(f"{self._server} answered with {type(event).__name__} "
                                     "before a status line")

    async def next_data(self, timeout: float | None) -> bytes | None:
        """The next piece of the body as it arrived, or None at its end."""
        while True:
            event = await self._next_event(timeout)
            if isinstance(event, h11.Data):
                return bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                return None

    async def _next_event(self, timeout: float | None) -> Any:
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as e:
                raise TransportError(f"the connection to {self._server} broke: {e}") from e
            if event is h11.NEED_DATA:
                try:
                    async with asyncio.timeout(timeout):
                        data = await self._reader.read(_READ)
                except TimeoutError as e:
                    raise TransportError(f"reading from {self._server} timed out after "
                                         f"{timeout}s") from e
                except OSError as e:
                    raise TransportError(f"the connection to {self._server} broke: "
                                         f"{root_cause(e)}") from e
                self._h11.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise TransportError(f"{self._server} closed the connection mid-answer")
            return event

    def usable(self) -> bool:
        """Still open, between requests, and not closed by the server."""
        return (not self.closed and not self._reader.at_eof()
                and self._h11.our_state is h11.IDLE)

    def next_cycle(self) -> bool:
        """Get ready for the next request after a complete answer; False if it cannot be."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    def abort(self) -> None:
        """Close at once (no goodbye): a reader waiting on it wakes with an error."""
        if not self.closed:
            self.closed = True
            self._writer.transport.abort()

    def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The connection's streams, for a protocol other than HTTP (a WebSocket)."""
        return self._reader, self._writer


class Pool:
    """Connections of one transport: idle ones kept for reuse (at most ``size``), and a
    limit of ``size`` ordinary requests in flight (streams are not counted)."""

    def __init__(self, size: int):
        if size < 1:
            raise InvalidArgumentError(f"max_connections must be >= 1, got {size}")
        self.size = size
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._slots = asyncio.Semaphore(size)

    def slot(self) -> asyncio.Semaphore:
        """``async with pool.slot():`` around one ordinary request."""
        return self._slots

    def take_idle(self) -> Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            self.forget(conn)
        return None

    def opened(self, conn: Connection) -> None:
        self._all.add(conn)

    def put_back(self, conn: Connection, reusable: bool) -> None:
        """A finished request's connection: kept while there is room, else closed."""
        if reusable and not conn.closed and conn.next_cycle() and len(self._idle) < self.size:
            self._idle.append(conn)
            return
        self.forget(conn)

    def forget(self, conn: Connection) -> None:
        conn.abort()
        self._all.discard(conn)

    def close_all(self) -> None:
        for conn in list(self._all):
            conn.abort()
        self._all.clear()
        self._idle.clear()

    @property
    def open(self) -> int:
        return len(self._all)


async def connect(host: str, port: int, *, context: ssl.SSLContext | None, server_name: str,
                  proxy: Proxy | None, socks: tuple[str, int] | None, timeout: float,
                  server: str) -> Connection:
    """A connection to ``host:port`` (through ``proxy`` or ``socks``), TLS when ``context``."""
    via = (proxy.host, proxy.port) if proxy else socks
    try:
        async with asyncio.timeout(timeout):
            if via is None:
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=server_name if context else None)
            else:
                reader, writer = await asyncio.open_connection(*via)
                if socks is not None:
                    await _socks5(reader, writer, host, port)
                elif proxy is not None and context is not None:
                    await _tunnel(reader, writer, host, port, proxy)
                if context is not None:
                    await writer.start_tls(context, server_hostname=server_name)
    except TimeoutError:
        raise TransportError(f"cannot connect to {server}: no connection within "
                             f"{timeout}s") from ConnectionError("connect timed out")
    except ssl.SSLError as e:
        raise TransportError(f"TLS with {server} failed: {tls_reason(e)}; check the "
                             "certificate-authority, tls-server-name and client certificate "
                             "in the kubeconfig") from e
    except OSError as e:
        where = f"the proxy {via[0]}:{via[1]}" if via else server
        raise TransportError(f"cannot connect to {where}: {root_cause(e)}") from e
    return Connection(reader, writer, server)


async def _tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                  port: int, proxy: Proxy) -> None:
    """HTTP CONNECT through ``proxy`` (the request and its answer are proxy.py's)."""
    writer.write(connect_request(host, port, proxy, USER_AGENT))
    data = b""
    while (reply := parse_connect_reply(data)) is None:
        chunk = await reader.read(4096)
        if not chunk:
            raise TransportError(f"the proxy {proxy.host}:{proxy.port} closed the connection "
                                 f"instead of answering CONNECT {host}:{port}")
        data += chunk
    code, reason, _ = reply
    check_connect_reply(code, reason, proxy, host, port)


async def _socks5(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                  port: int) -> None:
    """RFC 1928 CONNECT without authentication; the proxy resolves names."""
    writer.write(b"\x05\x01\x00")
    try:
        if await reader.readexactly(2) != b"\x05\x00":
            raise TransportError("the SOCKS5 proxy wants authentication, which the asyncio "
                                 "transport does not offer")
        try:
            address = b"\x01" + ipaddress.IPv4Address(host).packed
        except ValueError:
            name = host.encode("idna")
            address = b"\x03" + bytes([len(name)]) + name
        writer.write(b"\x05\x01\x00" + address + port.to_bytes(2, "big"))
        head = await reader.readexactly(4)
        if head[1] != 0:
            raise TransportError(f"the SOCKS5 proxy refused {host}:{port} (reply {head[1]})")
        size = {1: 4, 4: 16}.get(head[3]) or (await reader.readexactly(1))[0]
        await reader.readexactly(size + 2)
    except asyncio.IncompleteReadError as e:
        raise TransportError("the SOCKS5 proxy closed the connection mid-handshake") from e


class AsyncWebSocket:
    """One open WebSocket on the loop: whole binary messages out (:meth:`send`) and in
    (:meth:`recv`), as the sync :class:`~dynakube.transport.websocket.WebSocket`."""

    def __init__(self, conn: Connection, ws: Any, subprotocol: str, path: str,
                 forget: Callable[[Connection], None] | None = None):
        self._conn = conn
        self._forget = forget
        self._reader, self._writer = conn.streams()
        self._ws = ws
        self.subprotocol = subprotocol
        self.path = path
        self._message = bytearray()
        self._events: deque[Any] = deque(ws.events())  # what came with the handshake
        self._closed = False
        self._aborted = False
        self.close_code: int | None = None

    async def send(self, message: bytes) -> None:
        """Send one binary message; a broken connection raises ``TransportError``."""
        from wsproto.events import Message

        await self._send_events(Message(data=message))

    async def _send_events(self, *events: Any) -> None:
        from wsproto.utilities import LocalProtocolError

        try:
            data = b"".join(self._ws.send(e) for e in events)
        except LocalProtocolError:  # closed meanwhile (by either side)
            raise TransportError(f"the stream {self.path} has ended") from None
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as e:
            raise self._broken(e) from e

    async def recv(self) -> bytes | None:
        """The next binary message, or None once the server closed the WebSocket cleanly."""
        from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, BytesMessage | TextMessage):
                    data = event.data
                    self._message += data.encode() if isinstance(data, str) else data
                    if event.message_finished:
                        message, self._message = bytes(self._message), bytearray()
                        return message
                elif isinstance(event, Ping):
                    await self._send_events(event.response())
                elif isinstance(event, CloseConnection):
                    await self._closed_by_peer(event)
                    return None
            if self._closed:
                return None
            try:
                data = await self._reader.read(_READ)
            except OSError as e:
                raise self._broken(e) from e
            self._ws.receive_data(data or None)
            self._events.extend(self._ws.events())

    async def _closed_by_peer(self, event: Any) -> None:
        from wsproto.connection import ConnectionState

        self.close_code = event.code
        if event.code == 1006:  # the connection went without a close frame
            raise self._broken(None)
        answer = self._ws.send(event.response()) \
            if self._ws.state is ConnectionState.REMOTE_CLOSING else b""
        self._closed = True
        if answer:
            try:
                self._writer.write(answer)
                await self._writer.drain()
            except OSError:
                pass
        self._drop()

    def _drop(self) -> None:
        self._conn.abort()
        if self._forget is not None:
            self._forget(self._conn)

    def _broken(self, error: BaseException | None) -> TransportError:
        if self._aborted:
            return TransportError(f"the stream {self.path} was closed")
        reason = f": {error}" if error else ""
        return TransportError(f"the connection of {self.path} broke mid-stream{reason}")

    async def close(self, code: int = 1000) -> None:
        """Say goodbye (a close frame) and drop the connection."""
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection

        if not self._closed:
            self._closed = True
            try:
                if self._ws.state is ConnectionState.OPEN:
                    self._writer.write(self._ws.send(CloseConnection(code=code)))
                    await self._writer.drain()
            except (OSError, TransportError):
                pass
        self._drop()

    def abort(self) -> None:
        """Drop the connection at once: a waiting :meth:`recv` ends with TransportError."""
        self._aborted = self._closed = True
        self._drop()

    def __repr__(self) -> str:
        return f"<AsyncWebSocket {self.path} {self.subprotocol}>"


async def upgrade(conn: Connection, server: str, target: str, path: str,
                  protocols: Sequence[str], headers: list[tuple[str, str]],
                  timeout: float, forget: Callable[[Connection], None] | None = None
                  ) -> AsyncWebSocket | tuple[int, bytes]:
    """The WebSocket handshake on ``conn``: the socket, or ``(status, body)`` of a refusal
    (the caller maps it as the sync transport does)."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, RejectConnection, RejectData
    from wsproto.utilities import LocalProtocolError, RemoteProtocolError

    from .websocket import MAX_REFUSAL_BODY, _request_event

    reader, writer = conn.streams()
    ws = WSConnection(ConnectionType.CLIENT)
    try:
        async with asyncio.timeout(timeout):
            writer.write(ws.send(_request_event(server, target, protocols, headers)))
            await writer.drain()
            code, body = 0, bytearray()
            while True:
                for event in ws.events():
                    if isinstance(event, AcceptConnection):
                        if event.subprotocol not in protocols:
                            raise UnsupportedError(
                                f"{server} upgraded {path} to a WebSocket but agreed on "
                                f"none of {', '.join(protocols)} (it chose "
                                f"{event.subprotocol or 'none'}): it is too old for this "
                                "stream")
                        return AsyncWebSocket(conn, ws, str(event.subprotocol), path, forget)
                    if isinstance(event, RejectConnection):
                        code = event.status_code
                        if not event.has_body:
                            return code, bytes(body)
                    elif isinstance(event, RejectData):
                        body += event.data[:MAX_REFUSAL_BODY - len(body)]
                        if event.body_finished or len(body) >= MAX_REFUSAL_BODY:
                            return code, bytes(body)
                data = await reader.read(_READ)
                ws.receive_data(data or None)
                if not data and code:
                    return code, bytes(body)
                if not data:
                    raise TransportError(f"{server} closed the connection before answering "
                                         f"the WebSocket upgrade of {path}")
    except (RemoteProtocolError, LocalProtocolError) as e:
        raise TransportError(f"{server} answered the WebSocket upgrade of {path} with a "
                             f"broken handshake: {e}") from e
    except TimeoutError as e:
        raise TransportError(f"{server} did not answer the WebSocket upgrade of {path} "
                             f"within {timeout:g}s") from e
    except OSError as e:
        raise TransportError(f"the WebSocket upgrade of {path} failed: {e}") from e
