"""A fault-injecting TCP proxy on loopback, for the reliability tests (a helper, not tests).

It sits between a client and the embedded API server, apart from the server's own fault
controls, and breaks what a real network breaks: it cuts watch streams after N chunks or
bytes, stalls connections (a silently dead peer), truncates and corrupts streams, splits
them into tiny segments, refuses connections (an outage) and switches its upstream (a server
restarted elsewhere, e.g. with an empty store). It speaks plain TCP, so the server must be
plain HTTP; it reads request lines only to count requests and to tell watches apart.

Usage::

    with ApiServer() as server, FaultProxy(server.url) as proxy:
        kube = Client(dataclasses.replace(server.config(), server=proxy.url))
        proxy.cut_watches(chunks=1)
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "ProxiedRequest"]

_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
_BUFFER = 65536


@dataclass(frozen=True)
class ProxiedRequest:
    """One request line the proxy forwarded (``target`` is the path with its query)."""

    method: str
    target: str

    @property
    def watch(self) -> bool:
        return "watch=true" in self.target or "watch=1" in self.target


@dataclass(eq=False)
class _Conn:
    client: socket.socket
    upstream: socket.socket
    watch: bool = False  # a watch request went through: what comes back is its stream
    chunks: int = 0  # upstream reads since the watch request
    sent: int = 0  # bytes sent to the client since the watch request
    closed: threading.Event = field(default_factory=threading.Event)
    flowing: threading.Event = field(default_factory=threading.Event)  # clear: stalled

    def __post_init__(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _address(upstream: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(upstream, tuple):
        return upstream
    parts = urlsplit(upstream)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ValueError(f"the fault proxy needs a plain http://host:port upstream, not {upstream}")
    return parts.hostname, parts.port


class FaultProxy:
    """A threaded TCP proxy on ``127.0.0.1``; every fault switch may be flipped at any time.

    Watch faults (``cut_watches``, ``corrupt_watches``) apply to the stream that answers a
    request with ``watch=true``; the other switches apply to every connection.
    """

    def __init__(self, upstream: str | tuple[str, int]):
        self._upstream = _address(upstream)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._conns: set[_Conn] = set()
        self._requests: list[ProxiedRequest] = []
        self._accepting = threading.Thread(target=self._accept_loop, daemon=True,
                                           name=f"faultproxy-{self.port}")
        self._running = threading.Event()
        self.refusing = False
        self.cut_chunks: int | None = None
        self.cut_bytes: int | None = None
        self.corrupt_every: int | None = None
        self.segment_size: int | None = None
        #: How many watch streams the proxy cut, corrupted, and connections it refused.
        self.cuts = self.corruptions = self.refused = 0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._running.set()
        self._accepting.start()
        return self

    def stop(self) -> None:
        self._running.clear()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._accepting.join(5)
        self._listener.close()
        self.cut_all()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- switches -------------------------------------------------------------------------
    def switch_upstream(self, upstream: str | tuple[str, int], *, cut: bool = True) -> None:
        """Send new connections to ``upstream``; with ``cut``, end the open ones now."""
        self._upstream = _address(upstream)
        if cut:
            self.cut_all()

    def cut_watches(self, *, chunks: int | None = None, nbytes: int | None = None) -> None:
        """Cut every watch stream after ``chunks`` upstream reads or ``nbytes`` bytes
        (mid-line and mid-chunk: a truncated stream); None for both turns it off."""
        self.cut_chunks, self.cut_bytes = chunks, nbytes

    def corrupt_watches(self, every: int | None) -> None:
        """Overwrite every ``every``-th byte of each watch stream with ``0xff`` (never valid
        in JSON nor in chunk framing); None turns it off."""
        self.corrupt_every = every

    def segment(self, size: int | None) -> None:
        """Forward answers in segments of ``size`` bytes (a stream split anywhere)."""
        self.segment_size = size

    def stall(self) -> int:
        """Stop forwarding on the open connections, in both directions, keeping them open:
        a peer gone silently (a NAT entry dropped). New connections flow. Returns how many."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.flowing.clear()
        return len(conns)

    def resume(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            conn.flowing.set()

    def refuse(self, on: bool = True) -> None:
        """Close new connections at once (an outage); with ``on=True`` also cut open ones."""
        self.refusing = on
        if on:
            self.cut_all()

    def heal(self) -> None:
        """Every fault off."""
        self.refusing = False
        self.cut_chunks = self.cut_bytes = self.corrupt_every = self.segment_size = None
        self.resume()

    def cut_all(self) -> int:
        """Close every open connection now; returns how many."""
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            conn.close()
        return len(conns)

    # -- what went through ----------------------------------------------------------------
    @property
    def requests(self) -> list[ProxiedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, *, watch: bool | None = None, path: str | None = None) -> int:
        """Requests forwarded, optionally only watches (or non-watches) of ``path``."""
        return sum(1 for r in self.requests
                   if (watch is None or r.watch is watch)
                   and (path is None or r.target.partition("?")[0] == path))

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- internals ------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while self._running.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._running.is_set():
                client.close()
                return
            if self.refusing:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()  # the upstream is down: the client sees a dropped connection
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(client, upstream)
            with self._lock:
                self._conns.add(conn)
            for target in (self._client_to_upstream, self._upstream_to_client):
                threading.Thread(target=target, args=(conn,), daemon=True).start()

    def _wait_flowing(self, conn: _Conn) -> bool:
        while not conn.flowing.wait(0.05):
            if conn.closed.is_set():
                return False
        return not conn.closed.is_set()

    def _client_to_upstream(self, conn: _Conn) -> None:
        try:
            while True:
                data = conn.client.recv(_BUFFER)
                if not data or not self._wait_flowing(conn):
                    break
                for match in _REQUEST_LINE.finditer(data):
                    request = ProxiedRequest(match.group(1).decode(), match.group(2).decode())
                    with self._lock:
                        self._requests.append(request)
                    if request.watch:
                        conn.watch, conn.chunks, conn.sent = True, 0, 0
                conn.upstream.sendall(data)
        except OSError:
            pass
        self._drop(conn)

    def _upstream_to_client(self, conn: _Conn) -> None:
        try:
            while True:
                data = conn.upstream.recv(_BUFFER)
                if not data or not self._wait_flowing(conn):
                    break
                if conn.watch:
                    data, cut = self._watch_faults(conn, data)
                    self._send(conn, data)
                    if cut:
                        self.cuts += 1
                        break
                else:
                    self._send(conn, data)
        except OSError:
            pass
        self._drop(conn)

    def _watch_faults(self, conn: _Conn, data: bytes) -> tuple[bytes, bool]:
        """The part of ``data`` to forward, and whether to cut the stream after it."""
        conn.chunks += 1
        every = self.corrupt_every
        if every:
            first = (conn.sent // every + 1) * every  # stream offsets every, 2*every, ...
            for offset in range(first, conn.sent + len(data) + 1, every):
                at = offset - conn.sent - 1
                data = data[:at] + b"\xff" + data[at + 1:]
                self.corruptions += 1
        cut = False
        if self.cut_bytes is not None and conn.sent + len(data) >= self.cut_bytes:
            data, cut = data[:max(0, self.cut_bytes - conn.sent)], True
        if self.cut_chunks is not None and conn.chunks >= self.cut_chunks:
            cut = True
        conn.sent += len(data)
        return data, cut

    def _send(self, conn: _Conn, data: bytes) -> None:
        size = self.segment_size
        if not size:
            conn.client.sendall(data)
            return
        for start in range(0, len(data), size):
            conn.client.sendall(data[start:start + size])
            time.sleep(0.0005)  # let the client read each segment apart

    def _drop(self, conn: _Conn) -> None:
        with self._lock:
            self._conns.discard(conn)
        conn.close()
