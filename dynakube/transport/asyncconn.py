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
from typing import Any

import h11

from ..errors import InvalidArgumentError, TransportError
from .proxy import Proxy, connect_request, parse_connect_reply
from .rules import USER_AGENT, root_cause, tls_reason

__all__ = ["Connection", "Pool", "connect"]

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
    if code == 407:
        raise TransportError(f"the proxy {proxy.host}:{proxy.port} wants credentials (407 "
                             f"{reason}): put user:password in the proxy URL")
    if not 200 <= code < 300:
        raise TransportError(f"the proxy {proxy.host}:{proxy.port} refused CONNECT "
                             f"{host}:{port}: {code} {reason}")


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
