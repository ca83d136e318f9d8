"""A tiny raw WebSocket client for the server's streaming tests, framed with ``wsproto``.

It speaks exactly what a client puts on the wire (the upgrade request, channel-prefixed
binary messages, the close handshake, or an abrupt reset), so that the tests check the
server's side byte for byte, independently of dynakube's own client.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from dynakube.testing import ApiServer

__all__ = ["Rejected", "RawWebSocket", "Session", "exec_path"]


class Rejected(Exception):
    """The server answered the upgrade with ``status`` and ``body`` instead of 101."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.body)


def exec_path(pod: str, *command: str, namespace: str = "default", verb: str = "exec",
              **flags: Any) -> str:
    """``/api/v1/namespaces/NS/pods/POD/exec?command=...&stdout=true...``."""
    parts = [f"command={quote(c, safe='')}" for c in command]
    parts += [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in flags.items()]
    return f"/api/v1/namespaces/{namespace}/pods/{pod}/{verb}?" + "&".join(parts)


class RawWebSocket:
    """One WebSocket to the embedded server (HTTP or HTTPS), or the refusal of it."""

    def __init__(self, server: ApiServer, path: str, protocols: list[str], *,
                 token: str | None = None, method: str = "GET",
                 headers: list[tuple[str, str]] | None = None):
        url = urlsplit(server.url)
        sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80),
                                        timeout=30)
        if url.scheme == "https":
            ctx = ssl.create_default_context(cafile=server.ca_file)
            sock = ctx.wrap_socket(sock, server_hostname=url.hostname)
        self.sock = sock
        self.ws = WSConnection(ConnectionType.CLIENT)
        extra = [("Authorization", f"Bearer {token or server.token}"), *(headers or [])]
        data = self.ws.send(Request(host=url.netloc, target=path, subprotocols=protocols,
                                    extra_headers=extra))
        if method != "GET":
            data = data.replace(b"GET ", method.encode() + b" ", 1)
        self.sock.sendall(data)
        self.pending: list[Any] = []
        self.close_code: int | None = None
        try:
            self.subprotocol = self._handshake()
        except BaseException:
            self.sock.close()
            raise

    def _events(self) -> list[Any]:
        while not self.pending:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.pending.extend(self.ws.events())
            if not data and not self.pending:
                return []
        events, self.pending = self.pending, []
        return events

    def _handshake(self) -> str:
        while True:
            events = self._events()
            if not events:
                raise ConnectionError("the server hung up during the handshake")
            for i, event in enumerate(events):
                if isinstance(event, AcceptConnection):
                    self.pending = events[i + 1:] + self.pending
                    return event.subprotocol or ""
                if isinstance(event, RejectConnection):
                    body = b""
                    rest = events[i + 1:]
                    while True:
                        for e in rest:
                            if isinstance(e, RejectData):
                                body += e.data
                                if e.body_finished:
                                    heads = {k.decode(): v.decode() for k, v in event.headers}
                                    raise Rejected(event.status_code, body, heads)
                        if not event.has_body:
                            raise Rejected(event.status_code, b"", {})
                        rest = self._events()

    def send(self, channel: int, payload: bytes = b"") -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data=bytes([channel]) + payload)))

    def recv(self) -> bytes | None:
        """The next whole message; None once the server closed (``close_code`` is set)."""
        buffer = b""
        while True:
            events = self._events()
            if not events:
                self.sock.close()
                return None
            for i, event in enumerate(events):
                if isinstance(event, (BytesMessage, TextMessage)):
                    chunk = event.data if isinstance(event.data, bytes) else \
                        event.data.encode()
                    buffer += chunk
                    if event.message_finished:
                        self.pending = events[i + 1:] + self.pending
                        return buffer
                elif isinstance(event, Ping):
                    self.sock.sendall(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                    try:
                        self.sock.sendall(self.ws.send(event.response()))
                    except Exception:
                        pass
                    self.sock.close()
                    return None

    def close(self) -> None:
        try:
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        except Exception:
            pass
        self.sock.close()

    def kill(self) -> None:
        """Hang up at once with a TCP reset, as a killed process's connection goes."""
        raw = self.sock
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()


@dataclass
class Session:
    """Everything one exec/attach session sent back, by channel."""

    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    status: Any = None
    other: list[bytes] = field(default_factory=list)
    close_code: int | None = None

    @classmethod
    def read(cls, ws: RawWebSocket) -> Session:
        """Read until the server closes."""
        session = cls()
        while (message := ws.recv()) is not None:
            channel, payload = message[0], message[1:]
            if channel == 1:
                session.out += payload
            elif channel == 2:
                session.err += payload
            elif channel == 3:
                assert session.status is None, "one Status only"
                session.status = json.loads(payload)
            else:
                session.other.append(message)
        session.close_code = ws.close_code
        ws.sock.close()
        return session
