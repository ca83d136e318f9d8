"""WebSockets to the API server (exec, attach, port-forward), framed by ``wsproto``.

The socket is opened here with the transport's own state: the same TLS context (so the
kubeconfig's CA, client certificate and ``tls-server-name``), the same credentials (exec
plugins included, re-run once after a 401), impersonation headers, User-Agent and proxy
(:mod:`~dynakube.transport.proxy`). ``wsproto`` and ``h11`` are imported only here, when a
stream is opened. TLS runs over memory BIOs so one thread may read while another writes
(an ``ssl.SSLSocket`` must not be used from two threads at once).

A refusal before the upgrade is an ordinary HTTP answer: a ``Status`` maps to its
``dynakube.errors`` class; a server that answers without upgrading (200, a redirect) or
agrees on none of the offered subprotocols raises
:class:`~dynakube.channels.UnsupportedError`.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import TransportError, UnsupportedError, error_from_response
from ..request import ApiRequest
from .auth import Credentials, CredentialSource
from .proxy import choose_proxy, tunnel
from .ratelimit import TokenBucket
from .rules import USER_AGENT, tls_reason
from .tls import TLSSettings

if TYPE_CHECKING:
    from wsproto import WSConnection

__all__ = ["WebSocket", "open_websocket", "MAX_REFUSAL_BODY", "READ_SIZE"]

#: How much of a refusal's body is read (a Status is a few KiB).
MAX_REFUSAL_BODY = 1024 * 1024
#: Bytes asked of the socket per read.
READ_SIZE = 256 * 1024


class _Plain:
    """A connected socket as a byte pipe."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> bytes:
        return self.sock.recv(READ_SIZE)


class _TLS(_Plain):
    """TLS over memory BIOs: the OpenSSL object is touched only under a lock, the socket
    outside it, so reading and writing threads never share it unguarded."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, server_name: str):
        super().__init__(sock)
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing,
                                     server_hostname=server_name)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self) -> None:
        with self._send_lock:
            with self._lock:
                data = self._outgoing.read()
            if data:
                self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(READ_SIZE)
        with self._lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()
        return bool(data)

    def send(self, data: bytes) -> None:
        with self._send_lock:
            with self._lock:
                self._tls.write(data)
                out = self._outgoing.read()
            self.sock.sendall(out)

    def recv(self) -> bytes:
        while True:
            try:
                with self._lock:
                    data = self._tls.read(READ_SIZE)
                self._flush()  # a key update may want an answer
                return data
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    with self._lock:
                        try:
                            return self._tls.read(READ_SIZE)
                        except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ssl.SSLWantReadError):
                            return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""


class WebSocket:
    """One open WebSocket: send and receive whole binary messages, from two threads at once
    (one reading, any number writing). :meth:`abort` may be called from any thread."""

    def __init__(self, pipe: _Plain, connection: WSConnection, subprotocol: str, path: str):
        self._pipe = pipe
        self._ws = connection
        self.subprotocol = subprotocol
        self.path = path
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._message = bytearray()
        self._events: deque[Any] = deque()
        self._closed = False
        self._aborted = False
        self.close_code: int | None = None
        self._events.extend(connection.events())  # what came with the handshake

    def send(self, message: bytes) -> None:
        """Send one binary message; a broken connection raises ``TransportError``."""
        from wsproto.events import Message

        self._send_events(Message(data=message))

    def _send_events(self, *events: Any) -> None:
        from wsproto.utilities import LocalProtocolError

        with self._send_lock:
            with self._lock:
                try:
                    data = b"".join(self._ws.send(e) for e in events)
                except LocalProtocolError:  # closed meanwhile (by either side)
                    raise TransportError(f"the stream {self.path} has ended") from None
            try:
                self._pipe.send(data)
            except (OSError, ssl.SSLError) as e:
                raise self._broken(e) from e

    def recv(self) -> bytes | None:
        """The next binary message, or None once the server closed the WebSocket cleanly.
        A connection that breaks first raises ``TransportError``."""
        from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, (BytesMessage, TextMessage)):
                    data = event.data
                    self._message += data.encode() if isinstance(data, str) else data
                    if event.message_finished:
                        message, self._message = bytes(self._message), bytearray()
                        return message
                elif isinstance(event, Ping):
                    self._send_events(event.response())
                elif isinstance(event, CloseConnection):
                    self._closed_by_peer(event)
                    return None
            if self._closed:
                return None
            try:
                data = self._pipe.recv()
            except (OSError, ssl.SSLError) as e:
                raise self._broken(e) from e
            with self._lock:
                self._ws.receive_data(data or None)
                self._events.extend(self._ws.events())

    def _closed_by_peer(self, event: Any) -> None:
        """Answer the server's close frame; a connection lost without one is an error."""
        from wsproto.connection import ConnectionState

        self.close_code = event.code
        if event.code == 1006:  # the transport went without a close frame
            raise self._broken(None)
        with self._lock:
            answer = self._ws.send(event.response()) \
                if self._ws.state is ConnectionState.REMOTE_CLOSING else b""
        self._closed = True
        if answer:
            try:
                self._pipe.send(answer)
            except (OSError, ssl.SSLError):
                pass
        self._shutdown()

    def _broken(self, error: BaseException | None) -> TransportError:
        if self._aborted:
            return TransportError(f"the stream {self.path} was closed")
        reason = f": {error}" if error else ""
        return TransportError(f"the connection of {self.path} broke mid-stream{reason}")

    def close(self, code: int = 1000) -> None:
        """Say goodbye (a close frame) and drop the connection."""
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection

        if not self._closed:
            self._closed = True
            try:
                with self._send_lock:
                    with self._lock:
                        data = self._ws.send(CloseConnection(code=code)) \
                            if self._ws.state is ConnectionState.OPEN else b""
                    if data:
                        self._pipe.send(data)
            except (OSError, ssl.SSLError, TransportError):
                pass
        self._shutdown()

    def abort(self) -> None:
        """Drop the connection at once, from any thread: a blocked :meth:`recv` ends."""
        self._aborted = True
        self._closed = True
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._pipe.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._pipe.sock.close()

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<WebSocket {self.path} {self.subprotocol}>"


def open_websocket(request: ApiRequest, protocols: Sequence[str], *, server: str,
                   tls: TLSSettings | None, server_name: str | None,
                   headers: Sequence[tuple[str, str]], credentials: CredentialSource | None,
                   proxy_url: str | None, connect_timeout: float,
                   limiter: TokenBucket | None = None) -> WebSocket:
    """Upgrade ``request`` (a GET) to a WebSocket speaking one of ``protocols``."""
    reauthenticated = False
    while True:
        if limiter is not None:
            limiter.acquire()
        creds = credentials.current() if credentials else Credentials()
        if creds.cert is not None and tls is not None:
            tls.use_client_certificate(creds.cert)
        result = _handshake(request, protocols, server, tls, server_name,
                            [*headers, *creds.headers.items()], proxy_url, connect_timeout)
        if isinstance(result, WebSocket):
            return result
        code, body = result
        if code == 401 and not reauthenticated and credentials is not None:
            reauthenticated = True
            if credentials.unauthorized():
                continue
        if code >= 400:
            raise error_from_response(code, body)
        raise UnsupportedError(
            f"{server} answered {request.method} {request.path} with {code} instead of "
            "switching to a WebSocket: it does not serve this over WebSockets (kube-apiserver "
            "does since 1.30 for exec/attach and 1.31 for port-forward), or a proxy on the "
            "way drops the upgrade")


def _connect(server: str, tls: TLSSettings | None, server_name: str | None,
             proxy_url: str | None, timeout: float) -> _Plain:
    parts = urlsplit(server)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    proxy = choose_proxy(server, proxy_url, os.environ)
    try:
        sock = socket.create_connection((proxy.host, proxy.port) if proxy else (host, port),
                                        timeout=timeout)
    except OSError as e:
        where = f"the proxy {proxy.host}:{proxy.port}" if proxy else server
        raise TransportError(f"cannot connect to {where}: {e.strerror or e}") from e
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if proxy:
            tunnel(sock, host, port, proxy, USER_AGENT)
        if not https or tls is None:
            return _Plain(sock)
        if tls.cert_file:  # files named in the kubeconfig, read per connection as urllib3 does
            from .tls import load_cert_chain

            with open(tls.cert_file, "rb") as c, open(tls.key_file or tls.cert_file, "rb") as k:
                load_cert_chain(tls.context, c.read(), k.read(), what="client-certificate")
        return _TLS(sock, tls.context, server_name or host)
    except ssl.SSLError as e:
        sock.close()
        raise TransportError(f"TLS with {server} failed: {tls_reason(e)}; check the "
                             "certificate-authority, tls-server-name and client certificate "
                             "in the kubeconfig") from e
    except OSError as e:
        sock.close()
        raise TransportError(f"cannot connect to {server}: {e.strerror or e}") from e
    except BaseException:
        sock.close()
        raise


def _handshake(request: ApiRequest, protocols: Sequence[str], server: str,
               tls: TLSSettings | None, server_name: str | None,
               headers: list[tuple[str, str]], proxy_url: str | None,
               timeout: float) -> WebSocket | tuple[int, bytes]:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, RejectConnection, RejectData
    from wsproto.utilities import LocalProtocolError, RemoteProtocolError

    pipe = _connect(server, tls, server_name, proxy_url, timeout)
    ws = WSConnection(ConnectionType.CLIENT)
    target = urlsplit(server).path.rstrip("/") + request.target
    try:
        pipe.send(ws.send(_request_event(server, target, protocols, headers)))
        code, body = 0, bytearray()
        while True:
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    if event.subprotocol not in protocols:
                        pipe.sock.close()
                        raise UnsupportedError(
                            f"{server} upgraded {request.path} to a WebSocket but agreed on "
                            f"none of {', '.join(protocols)} (it chose "
                            f"{event.subprotocol or 'none'}): it is too old for this stream")
                    pipe.sock.settimeout(None)
                    return WebSocket(pipe, ws, str(event.subprotocol), request.path)
                if isinstance(event, RejectConnection):
                    code = event.status_code
                    if not event.has_body:
                        pipe.sock.close()
                        return code, bytes(body)
                elif isinstance(event, RejectData):
                    body += event.data[:MAX_REFUSAL_BODY - len(body)]
                    if event.body_finished or len(body) >= MAX_REFUSAL_BODY:
                        pipe.sock.close()
                        return code, bytes(body)
            data = pipe.recv()
            ws.receive_data(data or None)
            if not data and code:
                pipe.sock.close()
                return code, bytes(body)
            if not data:
                raise TransportError(f"{server} closed the connection before answering the "
                                     f"WebSocket upgrade of {request.path}")
    except (RemoteProtocolError, LocalProtocolError) as e:
        pipe.sock.close()
        raise TransportError(f"{server} answered the WebSocket upgrade of {request.path} "
                             f"with a broken handshake: {e}") from e
    except TimeoutError as e:
        pipe.sock.close()
        raise TransportError(f"{server} did not answer the WebSocket upgrade of "
                             f"{request.path} within {timeout:g}s") from e
    except (OSError, ssl.SSLError) as e:
        pipe.sock.close()
        raise TransportError(f"the WebSocket upgrade of {request.path} failed: {e}") from e


def _request_event(server: str, target: str, protocols: Sequence[str],
                   headers: list[tuple[str, str]]) -> Any:
    from wsproto.events import Request

    host = urlsplit(server).netloc
    skip = {"host", "connection", "upgrade", "accept-encoding", "sec-websocket-protocol"}
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers
             if k.lower() not in skip]
    return Request(host=host, target=target, subprotocols=list(protocols), extra_headers=extra)
