"""Port-forward over SPDY streams, as the kubelet serves it to ``kubectl port-forward``.

kubectl opens two streams per forwarded connection, both with the headers ``streamType``
(``error`` or ``data``), ``port`` and ``requestID``; the pair of one ``requestID`` is one TCP
connection into the Pod (kubelet ``portforward/httpstream.go``). A pair whose second stream
does not come within the kubelet's ``streamCreationTimeout`` (the server's
``options.stream_creation_timeout``) is given up: the kubelet's ``timed out waiting for
streams`` goes on its error stream, which then ends, and a lone data stream is reset. Once
both streams are in,
the port is dialled (:func:`~.portforward.open_pod_port`); when that fails, the kubelet's
error text goes on the error stream. Bytes are pumped both ways, kubectl → Pod through a
bounded buffer (a full buffer holds the reader, which is TCP backpressure for kubectl), and
when the Pod side ends both streams are closed, as the kubelet closes them. Many pairs run
at once over one session. The HTTP layer owns the SPDY framing and calls this session with
what arrives; the session answers through the small :class:`StreamLink` interface.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..rules.podstreams import PodConnection
from .crud import Api
from .portforward import open_pod_port

__all__ = ["BUFFER_BYTES", "PROTOCOL", "PortForwardSession", "StreamLink"]

PROTOCOL = "portforward.k8s.io"
"""The port-forward protocol version kubectl asks for (``X-Stream-Protocol-Version``)."""
BUFFER_BYTES = 1024 * 1024
"""What one connection buffers from kubectl before the session stops reading."""
_CHUNK = 32 * 1024


class StreamLink(Protocol):
    """What the session needs from the SPDY connection under it (thread-safe)."""

    def reply(self, stream_id: int) -> None:
        """Accept a stream kubectl opened (SYN_REPLY)."""
        ...

    def reset(self, stream_id: int) -> None:
        """Refuse or abort a stream (RST_STREAM)."""
        ...

    def send(self, stream_id: int, data: bytes, *, fin: bool = False) -> None:
        """Send on a stream (blocks while kubectl is slow to read); ``fin`` closes our side.
        ``BrokenPipeError`` when the connection is gone."""
        ...

    def consumed(self, stream_id: int, size: int) -> None:
        """``size`` bytes received on the stream were delivered (reopens the window)."""
        ...


class _Inbound:
    """Bytes from kubectl waiting for the Pod connection: bounded, blocking when full."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._eof = False
        self._aborted = False

    def put(self, data: bytes) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._size < BUFFER_BYTES or self._aborted)
            if not self._aborted:
                self._chunks.append(data)
                self._size += len(data)
                self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._chunks.clear()
            self._cond.notify_all()

    def get(self) -> bytes | None:
        """The next bytes; ``b""`` at kubectl's end of data, None when aborted."""
        with self._cond:
            self._cond.wait_for(lambda: self._chunks or self._eof or self._aborted)
            if self._aborted:
                return None
            if not self._chunks:
                return b""
            data = self._chunks.popleft()
            self._size -= len(data)
            self._cond.notify_all()
            return data


@dataclass
class _Pair:
    """The error and data streams of one ``requestID``: one connection into the Pod."""

    request_id: str
    port: int = 0
    error_stream: int | None = None
    data_stream: int | None = None
    inbound: _Inbound = field(default_factory=_Inbound)
    conn: PodConnection | None = None
    timer: threading.Timer | None = None


def _check(headers: dict[str, list[str]]) -> tuple[str, int]:
    """The stream type and port of a new stream; ValueError with the kubelet's words."""
    port_text = (headers.get("port") or [""])[0]
    if not port_text:
        raise ValueError('"port" header is required')
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"unable to parse {port_text!r} as a port")
    if int(port_text) < 1:
        raise ValueError(f'port "{port_text}" must be > 0')
    kind = (headers.get("streamtype") or [""])[0]
    if not kind:
        raise ValueError('"streamType" header is required')
    if kind not in ("error", "data"):
        raise ValueError(f'invalid stream type "{kind}"')
    return kind, int(port_text)


class PortForwardSession:
    """The port-forward streams of one SPDY connection to one Pod.

    The HTTP layer calls :meth:`stream_opened`, :meth:`data_received` and
    :meth:`stream_reset` from its reading thread, and :meth:`close` when the connection ends.
    ``dial`` is the seam to the Pod (:func:`~.portforward.open_pod_port`).
    """

    def __init__(self, api: Api, namespace: str, pod: str, link: StreamLink,
                 dial: Callable[[Api, str, str, int], PodConnection] = open_pod_port):
        self._api = api
        self._namespace = namespace
        self._pod = pod
        self._link = link
        self._dial = dial
        self._lock = threading.Lock()
        self._pairs: dict[str, _Pair] = {}  # by requestID, until both streams are in
        self._streams: dict[int, _Pair] = {}  # by stream id, while the connection lasts
        self._closed = False

    def stream_opened(self, stream_id: int, headers: dict[str, list[str]]) -> None:
        """kubectl opened a stream: refuse it if its headers are wrong, else accept it and
        start forwarding once its pair is complete."""
        try:
            kind, port = _check(headers)
        except ValueError:
            self._link.reset(stream_id)
            return
        self._link.reply(stream_id)
        request_id = (headers.get("requestid") or [""])[0]
        if not request_id:  # clients before requestID: the kubelet's best-effort pairing
            request_id = str(stream_id if kind == "error" else stream_id - 2)
        with self._lock:
            pair = self._pairs.setdefault(request_id, _Pair(request_id, port))
            duplicate = (pair.error_stream if kind == "error" else pair.data_stream) is not None
            if not duplicate:
                setattr(pair, f"{kind}_stream", stream_id)
                self._streams[stream_id] = pair
            complete = pair.error_stream is not None and pair.data_stream is not None
            if complete and not duplicate:
                del self._pairs[request_id]
                if pair.timer is not None:
                    pair.timer.cancel()
            elif pair.timer is None and not self._closed:
                pair.timer = threading.Timer(self._api.options.stream_creation_timeout,
                                             self._give_up, args=(pair,))
                pair.timer.daemon = True
                pair.timer.start()
        if duplicate:
            if pair.error_stream is not None:
                self._send(pair.error_stream, f"error processing stream for request "
                           f"{request_id}: {kind} stream already assigned".encode())
            self._link.reset(stream_id)
        elif complete:
            threading.Thread(target=self._forward, args=(pair,), daemon=True,
                             name=f"dynakube-spdy-forward-{port}").start()

    def data_received(self, stream_id: int, data: bytes, fin: bool) -> None:
        """Bytes from kubectl: data streams feed their Pod connection (blocking while its
        buffer is full); the error stream carries nothing from kubectl."""
        pair = self._streams.get(stream_id)
        if pair is None:
            return
        if stream_id != pair.data_stream:
            if data:
                self._link.consumed(stream_id, len(data))
            return
        if data:
            pair.inbound.put(data)
        if fin:
            pair.inbound.finish()

    def stream_reset(self, stream_id: int) -> None:
        """kubectl reset a stream (it does so to the data stream once it has read the Pod's
        end): the connection into the Pod is dropped."""
        pair = self._streams.get(stream_id)
        if pair is not None and stream_id == pair.data_stream:
            pair.inbound.abort()

    def close(self) -> None:
        """The SPDY connection ended: every forwarded connection ends with it."""
        with self._lock:
            self._closed = True
            pairs = list(self._streams.values())
            waiting = list(self._pairs.values())
        for pair in waiting:
            if pair.timer is not None:
                pair.timer.cancel()
        for pair in pairs:
            pair.inbound.abort()
            if pair.conn is not None:
                pair.conn.close()

    def _give_up(self, pair: _Pair) -> None:
        """The kubelet's ``monitorStreamPair`` timing out: the half-open pair is dropped."""
        with self._lock:
            if self._closed or self._pairs.get(pair.request_id) is not pair:
                return
            del self._pairs[pair.request_id]
            for stream in (pair.error_stream, pair.data_stream):
                if stream is not None:
                    self._streams.pop(stream, None)
        if pair.error_stream is not None:
            self._send(pair.error_stream, f"(conn=0x{id(self):x}, request={pair.request_id}) "
                       "timed out waiting for streams".encode())
            self._send(pair.error_stream, b"", fin=True)
        if pair.data_stream is not None:
            try:
                self._link.reset(pair.data_stream)
            except OSError:
                pass  # the connection is gone already

    # -- one forwarded connection --------------------------------------------------------

    def _send(self, stream_id: int, data: bytes, *, fin: bool = False) -> bool:
        try:
            self._link.send(stream_id, data, fin=fin)
            return True
        except (BrokenPipeError, OSError):
            return False

    def _forward(self, pair: _Pair) -> None:
        assert pair.error_stream is not None and pair.data_stream is not None
        to_pod: threading.Thread | None = None
        try:
            try:
                conn = self._dial(self._api, self._namespace, self._pod, pair.port)
            except OSError as exc:  # the kubelet's words go on the error stream
                self._send(pair.error_stream, str(exc).encode())
                return
            with self._lock:
                pair.conn = conn
                if self._closed:
                    return
            to_pod = threading.Thread(target=self._to_pod, args=(pair, conn), daemon=True,
                                      name=f"dynakube-spdy-to-pod-{pair.port}")
            to_pod.start()
            while chunk := conn.recv(_CHUNK):
                if not self._send(pair.data_stream, chunk):
                    break
        finally:
            # the Pod side ended: both streams close, as the kubelet closes them after its
            # copy; kubectl then resets the data stream, which ends the other direction
            self._send(pair.data_stream, b"", fin=True)
            self._send(pair.error_stream, b"", fin=True)
            if to_pod is not None:
                to_pod.join()
            if pair.conn is not None:
                pair.conn.close()
            with self._lock:
                self._streams.pop(pair.data_stream, None)
                self._streams.pop(pair.error_stream, None)

    def _to_pod(self, pair: _Pair, conn: PodConnection) -> None:
        """kubectl → Pod until kubectl's end of data (half-close) or a reset; after a reset
        the connection into the Pod is dropped, as the kubelet drops it."""
        assert pair.data_stream is not None
        while (data := pair.inbound.get()) is not None:
            if not data:
                conn.shutdown_write()
                return
            try:
                conn.sendall(data)
            except OSError:
                pair.inbound.abort()
                return
            self._link.consumed(pair.data_stream, len(data))
        conn.shutdown()  # reset: the Pod sees the end, and the copy from it stops
