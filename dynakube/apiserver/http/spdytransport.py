"""The wire under ``kubectl port-forward``'s SPDY: a direct upgrade, or a WebSocket tunnel.

kubectl 1.32 first asks for a WebSocket with the subprotocol ``SPDY/3.1+portforward.k8s.io``
(KEP-4006) and, when refused, falls back to ``POST`` with ``Upgrade: SPDY/3.1``. Either way
the bytes after the upgrade are one SPDY session (in the tunnel, split over binary messages
anywhere, frame boundaries or not). This module answers the upgrade as kube-apiserver does
(the SPDY handshake of ``httpstream.Handshake``: ``X-Stream-Protocol-Version`` negotiated,
``403`` when no version fits), runs the :class:`~.spdy.SpdyConnection` codec on the socket or
the WebSocket, and feeds the streams to the port-forward verb
(:class:`~..verbs.spdyforward.PortForwardSession`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler

from ..call import Call
from ..status import bad_request
from ..verbs.crud import Api
from ..verbs.spdyforward import PROTOCOL, PortForwardSession
from . import websocket
from .spdy import (
    DataReceived,
    Event,
    SpdyConnection,
    SpdyProtocolError,
    StreamOpened,
    StreamReset,
)

__all__ = ["TUNNEL_PREFIX", "TUNNEL_PROTOCOL", "serve_spdy_portforward", "wants_spdy"]

TUNNEL_PREFIX = "SPDY/3.1+"
TUNNEL_PROTOCOL = TUNNEL_PREFIX + PROTOCOL
"""The WebSocket subprotocol of the SPDY tunnel (``WebsocketsSPDYTunnelingPortForwardV1``)."""
_READ_BYTES = 64 * 1024


def _tokens(headers: Message, name: str) -> list[str]:
    return [t.strip().lower() for value in headers.get_all(name) or []
            for t in value.split(",") if t.strip()]


def _direct(headers: Message) -> bool:
    return "upgrade" in _tokens(headers, "Connection") and \
        "spdy/3.1" in _tokens(headers, "Upgrade")


def wants_spdy(headers: Message) -> bool:
    """Whether a port-forward request is kubectl's SPDY: a direct ``Upgrade: SPDY/3.1``, or a
    WebSocket that offers the tunnel's subprotocol (kube-apiserver's tunnelling handler)."""
    if _direct(headers):
        return True
    return websocket.is_websocket(headers) and \
        TUNNEL_PROTOCOL in websocket.offered_protocols(headers)


class _Link:
    """The codec behind a lock, writing what it queues at once and in order (header blocks
    share one zlib stream, so frames must leave in the order they were made)."""

    def __init__(self, write: Callable[[bytes], None]):
        self._spdy = SpdyConnection(server=True, enforce_flow_control=False)
        self._lock = threading.Lock()
        self._write = write

    def _flush(self) -> None:
        data = self._spdy.data_to_send()
        if data:
            self._write(data)

    def receive(self, data: bytes) -> list[Event]:
        with self._lock:
            try:
                return self._spdy.receive_data(data)
            finally:
                self._flush()  # ping answers, resets, a GOAWAY

    def reply(self, stream_id: int) -> None:
        with self._lock:
            self._spdy.reply(stream_id)
            self._flush()

    def reset(self, stream_id: int) -> None:
        with self._lock:
            self._spdy.reset(stream_id)
            self._flush()

    def send(self, stream_id: int, data: bytes, *, fin: bool = False) -> None:
        with self._lock:
            try:
                self._spdy.send_data(stream_id, data, fin=fin)
            except SpdyProtocolError:
                raise BrokenPipeError(f"SPDY stream {stream_id} is closed") from None
            self._flush()

    def consumed(self, stream_id: int, size: int) -> None:
        with self._lock:
            self._spdy.acknowledge(stream_id, size)
            self._flush()


def _run(api: Api, namespace: str, pod: str, read: Callable[[], bytes | None],
         write: Callable[[bytes], None]) -> None:
    """Feed what ``read`` returns to the session until it returns None (the connection
    ended; kubectl's tunnel also sends empty messages, which are no end)."""
    link = _Link(write)
    session = PortForwardSession(api, namespace, pod, link)
    try:
        while (data := read()) is not None:
            for event in link.receive(data):
                if isinstance(event, StreamOpened):
                    session.stream_opened(event.stream_id, event.headers)
                    if event.fin:
                        session.data_received(event.stream_id, b"", True)
                elif isinstance(event, DataReceived):
                    session.data_received(event.stream_id, event.data, event.fin)
                elif isinstance(event, StreamReset):
                    session.stream_reset(event.stream_id)
    except (SpdyProtocolError, OSError):
        pass  # a broken session or connection: what was forwarded over it ends
    finally:
        session.close()


def _negotiate(handler: BaseHTTPRequestHandler) -> str | None:
    """``httpstream.Handshake``: the agreed protocol ("" for a client that names none), or
    None after answering ``403`` with the versions the server accepts."""
    offered = [p.strip() for value in handler.headers.get_all("X-Stream-Protocol-Version") or []
               for p in value.split(",") if p.strip()]
    if not offered or PROTOCOL in offered:
        return PROTOCOL if offered else ""
    body = (f"unable to upgrade: unable to negotiate protocol: client supports "
            f"[{' '.join(offered)}], server accepts [{PROTOCOL}]").encode()
    handler.send_response(403)
    handler.send_header("X-Accepted-Stream-Protocol-Versions", PROTOCOL)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    return None


def serve_spdy_portforward(handler: BaseHTTPRequestHandler, api: Api, call: Call,
                           log: Callable[[int], None]) -> None:
    """Answer a port-forward request that :func:`wants_spdy` and serve its session until
    kubectl hangs up; ``log`` records the status answered. kube-apiserver's checks come
    first, as JSON ``Status`` errors: the Pod (``404``) and its node (``400``)."""
    pod = api.current(call)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {call.name} does not have a host assigned")
    namespace, name = str(call.namespace), str(call.name)
    handler.close_connection = True
    if not _direct(handler.headers):
        problem = websocket.handshake_problem(handler.headers, handler.command)
        if problem:
            raise bad_request(problem)
        log(101)
        websocket.run_websocket(handler, TUNNEL_PROTOCOL,
                                lambda ws: _run(api, namespace, name, ws.recv, ws.send))
        return
    protocol = _negotiate(handler)
    log(403 if protocol is None else 101)
    if protocol is None:
        return
    handler.send_response(101)
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Upgrade", "SPDY/3.1")
    if protocol:
        handler.send_header("X-Stream-Protocol-Version", protocol)
    handler.end_headers()
    handler.wfile.flush()
    handler.connection.settimeout(None)

    def read() -> bytes | None:
        try:
            return handler.rfile.read1(_READ_BYTES) or None
        except (OSError, ValueError):
            return None

    _run(api, namespace, name, read, handler.connection.sendall)
