"""SPDY/3.1 framing, sans-I/O: bytes in, events out, bytes to send.

kubectl's ``port-forward`` speaks SPDY (moby/spdystream, SPDY/3 frames with version 3 on the
wire) straight after an ``Upgrade: SPDY/3.1`` answer or inside WebSocket binary messages.
:class:`SpdyConnection` parses what the peer sends into events, keeps the stream states and
the flow-control windows (per stream and, as 3.1 adds, per session), and queues the frames
our side sends; whoever owns the socket feeds :meth:`~SpdyConnection.receive_data` and writes
:meth:`~SpdyConnection.data_to_send`. Header blocks are zlib streams (one per direction for
the whole connection, each block ended by a sync flush) primed with the spec's dictionary.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

from dynakube.errors import DynakubeError

__all__ = [
    "DEFAULT_WINDOW", "DICTIONARY", "FLAG_FIN", "FLAG_UNIDIRECTIONAL", "VERSION",
    "DataReceived", "Event", "FrameType", "GoAwayReceived", "Headers", "HeadersReceived",
    "PingReceived", "RstStatus", "SettingsReceived", "SpdyConnection", "SpdyProtocolError",
    "StreamOpened", "StreamReplied", "StreamReset", "WindowUpdated", "decode_header_block",
    "encode_header_block",
]

VERSION = 3
"""The version field of every control frame (SPDY/3.1 keeps SPDY/3's framing)."""

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
DEFAULT_WINDOW = 64 * 1024
"""The initial stream and session window, in bytes, until SETTINGS says otherwise."""
MAX_WINDOW = 2**31 - 1
MAX_DATA_LENGTH = 2**24 - 1
SETTINGS_INITIAL_WINDOW_SIZE = 7
MAX_HEADER_BYTES = 1024 * 1024
"""What one decompressed header block may take: a bound against a zlib bomb."""


class FrameType(IntEnum):
    """Control frame types (SPDY/3 section 2.6)."""

    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    """RST_STREAM status codes (SPDY/3 section 2.6.3)."""

    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    INVALID_CREDENTIALS = 10
    FRAME_TOO_LARGE = 11


# The compression dictionary of SPDY/3 section 2.6.10.1: header names and common values,
# each with its 4-byte big-endian length, then a run of raw strings.
_DICTIONARY_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base "
    "content-encoding content-language content-length content-location content-md5 "
    "content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
    "server te trailer transfer-encoding upgrade user-agent vary via warning "
    "www-authenticate method get status"
).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive",
             "origin"]
_DICTIONARY_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
    "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, "
    "Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _DICTIONARY_WORDS) \
    + _DICTIONARY_TAIL.encode()
"""The zlib dictionary both ends prime their header compression with."""

Headers = dict[str, list[str]]
"""Header names (lower case, as SPDY requires) to their values."""


class SpdyProtocolError(DynakubeError):
    """The peer broke SPDY framing; the session cannot go on (a GOAWAY is queued)."""


@dataclass(frozen=True)
class StreamOpened:
    """The peer opened a stream (SYN_STREAM); answer with :meth:`SpdyConnection.reply`."""

    stream_id: int
    headers: Headers
    fin: bool = False
    unidirectional: bool = False
    associated_to: int = 0
    priority: int = 0


@dataclass(frozen=True)
class StreamReplied:
    """The peer accepted a stream we opened (SYN_REPLY)."""

    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class HeadersReceived:
    """More headers on an open stream (HEADERS)."""

    stream_id: int
    headers: Headers
    fin: bool = False


@dataclass(frozen=True)
class DataReceived:
    """Bytes on a stream; ``fin``: the peer sends no more on it. Call
    :meth:`SpdyConnection.acknowledge` once they are consumed, to reopen the window."""

    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class StreamReset:
    """The peer ended a stream abruptly (RST_STREAM)."""

    stream_id: int
    status: int


@dataclass(frozen=True)
class SettingsReceived:
    """The peer's SETTINGS, id to value (the initial window is applied already)."""

    settings: dict[int, int]


@dataclass(frozen=True)
class PingReceived:
    """A PING: ``ack`` when it answers ours, else the peer's (answered already)."""

    ping_id: int
    ack: bool


@dataclass(frozen=True)
class GoAwayReceived:
    """The peer opens no more streams (GOAWAY); streams up to ``last_good_stream_id`` go on."""

    last_good_stream_id: int
    status: int


@dataclass(frozen=True)
class WindowUpdated:
    """The peer let us send ``delta`` more bytes on a stream (0: the whole session)."""

    stream_id: int
    delta: int


Event = (StreamOpened | StreamReplied | HeadersReceived | DataReceived | StreamReset
         | SettingsReceived | PingReceived | GoAwayReceived | WindowUpdated)


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block: a count, then length-prefixed names and values
    (several values of one name joined by NUL)."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key = name.lower().encode()
        value = b"\0".join(v.encode() for v in values)
        out += [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    """Parse an uncompressed name/value block; :class:`SpdyProtocolError` when malformed."""
    try:
        (count,), pos = struct.unpack_from(">I", block), 4
        headers: Headers = {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4:pos + 4 + size].decode()
            pos += 4 + size
            (size,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4:pos + 4 + size].decode()
            pos += 4 + size
            if not name or pos > len(block):
                raise SpdyProtocolError("truncated or empty header name in a header block")
            headers.setdefault(name.lower(), []).extend(value.split("\0"))
    except (struct.error, UnicodeDecodeError) as exc:
        raise SpdyProtocolError(f"malformed header block: {exc}") from None
    return headers


@dataclass
class _Stream:
    send_window: int
    recv_window: int
    unacknowledged: int = 0
    local_closed: bool = False
    remote_closed: bool = False


@dataclass
class _Windows:
    """The session-level windows SPDY/3.1 adds on top of the per-stream ones."""

    send: int = DEFAULT_WINDOW
    recv: int = DEFAULT_WINDOW
    unacknowledged: int = 0
    initial_send: int = DEFAULT_WINDOW
    streams: dict[int, _Stream] = field(default_factory=dict)


class SpdyConnection:
    """One end of a SPDY/3.1 session.

    ``server``: our stream and ping ids are even (the peer's odd). ``enforce_flow_control``:
    whether a peer that overruns our window gets ``FLOW_CONTROL_ERROR`` and whether
    :meth:`send_data` refuses more than the peer's window. moby/spdystream (kubectl's side)
    sends no WINDOW_UPDATE and ignores ours, relying on TCP backpressure, so a server for
    kubectl keeps the windows as bookkeeping only and bounds its buffers instead.
    """

    def __init__(self, *, server: bool, enforce_flow_control: bool = True,
                 window: int = DEFAULT_WINDOW):
        self.server = server
        self.enforce_flow_control = enforce_flow_control
        self._window = window  # what we let the peer send on each stream
        self._w = _Windows(recv=window)
        self._next_id = 2 if server else 1
        self._next_ping = 2 if server else 1
        self._last_peer_id = 0
        self._inbuf = bytearray()
        self._out: list[bytes] = []
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, 8,
                                         zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._inflate = zlib.decompressobj(15, DICTIONARY)
        self.closed = False
        if window != DEFAULT_WINDOW:
            self.settings({SETTINGS_INITIAL_WINDOW_SIZE: window})

    # -- what we send ----------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """All frames queued since the last call, to be written in this order."""
        out, self._out = b"".join(self._out), []
        return out

    def _control(self, kind: FrameType, flags: int, payload: bytes) -> None:
        self._out.append(struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(payload))
                         + payload)

    def _compress(self, headers: Headers) -> bytes:
        return self._deflate.compress(encode_header_block(headers)) + \
            self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def open_stream(self, headers: Headers, *, fin: bool = False) -> int:
        """Open a stream of ours (SYN_STREAM); returns its id."""
        stream_id, self._next_id = self._next_id, self._next_id + 2
        self._w.streams[stream_id] = _Stream(self._w.initial_send, self._window,
                                             local_closed=fin)
        self._control(FrameType.SYN_STREAM, FLAG_FIN if fin else 0,
                      struct.pack(">IIBB", stream_id, 0, 0, 0) + self._compress(headers))
        return stream_id

    def reply(self, stream_id: int, headers: Headers | None = None, *, fin: bool = False) -> None:
        """Accept a stream the peer opened (SYN_REPLY)."""
        self._control(FrameType.SYN_REPLY, FLAG_FIN if fin else 0,
                      struct.pack(">I", stream_id) + self._compress(headers or {}))
        if fin:
            self._local_close(stream_id)

    def send_headers(self, stream_id: int, headers: Headers, *, fin: bool = False) -> None:
        self._control(FrameType.HEADERS, FLAG_FIN if fin else 0,
                      struct.pack(">I", stream_id) + self._compress(headers))
        if fin:
            self._local_close(stream_id)

    def send_window(self, stream_id: int) -> int:
        """How many bytes the peer lets us send on ``stream_id`` now (stream and session)."""
        stream = self._w.streams.get(stream_id)
        return min(stream.send_window, self._w.send) if stream else 0

    def send_data(self, stream_id: int, data: bytes, *, fin: bool = False) -> None:
        """Queue ``data`` (as many DATA frames as it takes); ``fin`` half-closes the stream.
        :class:`SpdyProtocolError` for a stream we closed or, when enforced, past the window."""
        stream = self._w.streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise SpdyProtocolError(f"stream {stream_id} is closed for sending")
        if self.enforce_flow_control and len(data) > min(stream.send_window, self._w.send):
            raise SpdyProtocolError(f"{len(data)} bytes exceed the peer's window on stream "
                                    f"{stream_id}; wait for a WINDOW_UPDATE")
        stream.send_window -= len(data)
        self._w.send -= len(data)
        view = memoryview(data)
        while True:
            chunk, view = view[:MAX_DATA_LENGTH], view[MAX_DATA_LENGTH:]
            last = not view
            flags = FLAG_FIN if fin and last else 0
            self._out.append(struct.pack(">II", stream_id, flags << 24 | len(chunk)) + chunk)
            if last:
                break
        if fin:
            self._local_close(stream_id)

    def reset(self, stream_id: int, status: int = RstStatus.CANCEL) -> None:
        """End a stream abruptly (RST_STREAM)."""
        self._control(FrameType.RST_STREAM, 0, struct.pack(">II", stream_id, status))
        self._w.streams.pop(stream_id, None)

    def settings(self, values: dict[int, int]) -> None:
        self._control(FrameType.SETTINGS, 0, struct.pack(">I", len(values)) + b"".join(
            struct.pack(">II", key & 0xFFFFFF, value) for key, value in values.items()))

    def ping(self) -> int:
        """Send a PING of ours; the answer comes back as ``PingReceived(ack=True)``."""
        ping_id, self._next_ping = self._next_ping, self._next_ping + 2
        self._control(FrameType.PING, 0, struct.pack(">I", ping_id))
        return ping_id

    def goaway(self, status: int = 0) -> None:
        """Accept no more streams from the peer (GOAWAY)."""
        self._control(FrameType.GOAWAY, 0, struct.pack(">II", self._last_peer_id, status))
        self.closed = True

    def acknowledge(self, stream_id: int, size: int) -> None:
        """``size`` received bytes were consumed: reopen the windows (WINDOW_UPDATE), in
        steps of half a window so that a busy stream does not send one per frame."""
        self._w.unacknowledged += size
        if self._w.unacknowledged >= self._window // 2:
            self._window_update(0, self._w.unacknowledged)
            self._w.recv += self._w.unacknowledged
            self._w.unacknowledged = 0
        stream = self._w.streams.get(stream_id)
        if stream is None or stream.remote_closed:
            return
        stream.unacknowledged += size
        if stream.unacknowledged >= self._window // 2:
            self._window_update(stream_id, stream.unacknowledged)
            stream.recv_window += stream.unacknowledged
            stream.unacknowledged = 0

    def _window_update(self, stream_id: int, delta: int) -> None:
        self._control(FrameType.WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))

    def _local_close(self, stream_id: int) -> None:
        stream = self._w.streams.get(stream_id)
        if stream is not None:
            stream.local_closed = True
            if stream.remote_closed:
                del self._w.streams[stream_id]

    def _remote_close(self, stream_id: int) -> None:
        stream = self._w.streams.get(stream_id)
        if stream is not None:
            stream.remote_closed = True
            if stream.local_closed:
                del self._w.streams[stream_id]

    # -- what we receive -------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Parse ``data`` (any split of the byte stream); returns the complete frames' events.
        Protocol errors of one stream reset it; those of the session queue a GOAWAY and
        raise :class:`SpdyProtocolError`."""
        self._inbuf += data
        events: list[Event] = []
        buf = self._inbuf
        pos = 0
        try:
            while len(buf) - pos >= 8:
                first, second = struct.unpack_from(">II", buf, pos)
                length = second & 0xFFFFFF
                if len(buf) - pos - 8 < length:
                    break
                payload = bytes(buf[pos + 8:pos + 8 + length])
                pos += 8 + length
                flags = second >> 24
                if first & 0x80000000:
                    version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
                    if version != VERSION:
                        raise SpdyProtocolError(f"SPDY version {version} is not supported "
                                                f"(only {VERSION})")
                    event = self._on_control(kind, flags, payload)
                else:
                    event = self._on_data(first & 0x7FFFFFFF, flags, payload)
                if event is not None:
                    events.append(event)
        except SpdyProtocolError:
            self.goaway(1)
            raise
        finally:
            del buf[:pos]
        return events

    def _on_data(self, stream_id: int, flags: int, payload: bytes) -> Event | None:
        fin = bool(flags & FLAG_FIN)
        stream = self._w.streams.get(stream_id)
        if stream is None or stream.remote_closed:
            if stream_id > self._last_peer_id and stream_id % 2 != self._next_id % 2:
                self.reset(stream_id, RstStatus.INVALID_STREAM)
            return None  # a late frame of a stream already reset or closed
        stream.recv_window -= len(payload)
        self._w.recv -= len(payload)
        if self.enforce_flow_control and (stream.recv_window < 0 or self._w.recv < 0):
            self.reset(stream_id, RstStatus.FLOW_CONTROL_ERROR)
            return StreamReset(stream_id, RstStatus.FLOW_CONTROL_ERROR)
        if fin:
            self._remote_close(stream_id)
        return DataReceived(stream_id, payload, fin)

    def _headers(self, block: bytes) -> Headers:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BYTES)
        except zlib.error as exc:
            raise SpdyProtocolError(f"header block does not decompress: {exc}") from None
        if self._inflate.unconsumed_tail:
            raise SpdyProtocolError(f"header block larger than {MAX_HEADER_BYTES} bytes")
        return decode_header_block(raw)

    def _on_control(self, kind: int, flags: int, payload: bytes) -> Event | None:
        fin = bool(flags & FLAG_FIN)
        try:
            if kind == FrameType.SYN_STREAM:
                return self._on_syn_stream(flags, payload)
            if kind in (FrameType.SYN_REPLY, FrameType.HEADERS):
                stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
                headers = self._headers(payload[4:])
                if fin:
                    self._remote_close(stream_id)
                if kind == FrameType.SYN_REPLY:
                    return StreamReplied(stream_id, headers, fin)
                return HeadersReceived(stream_id, headers, fin)
            if kind == FrameType.RST_STREAM:
                stream_id, status = struct.unpack_from(">II", payload)
                self._w.streams.pop(stream_id & 0x7FFFFFFF, None)
                return StreamReset(stream_id & 0x7FFFFFFF, status)
            if kind == FrameType.SETTINGS:
                return self._on_settings(payload)
            if kind == FrameType.PING:
                (ping_id,) = struct.unpack_from(">I", payload)
                ack = ping_id % 2 == self._next_ping % 2
                if not ack:
                    self._control(FrameType.PING, 0, payload[:4])
                return PingReceived(ping_id, ack)
            if kind == FrameType.GOAWAY:
                last, status = struct.unpack_from(">II", payload)
                return GoAwayReceived(last & 0x7FFFFFFF, status)
            if kind == FrameType.WINDOW_UPDATE:
                return self._on_window_update(payload)
        except struct.error:
            raise SpdyProtocolError(f"{FrameType(kind).name} frame too short") from None
        return None  # unknown control frames are ignored, as the spec says

    def _on_syn_stream(self, flags: int, payload: bytes) -> Event:
        stream_id, associated = struct.unpack_from(">II", payload)
        stream_id &= 0x7FFFFFFF
        headers = self._headers(payload[10:])  # the block always advances the zlib stream
        if stream_id == 0 or stream_id % 2 == self._next_id % 2 or \
                stream_id <= self._last_peer_id:
            self.reset(stream_id, RstStatus.PROTOCOL_ERROR)
            return StreamReset(stream_id, RstStatus.PROTOCOL_ERROR)
        self._last_peer_id = stream_id
        fin, one_way = bool(flags & FLAG_FIN), bool(flags & FLAG_UNIDIRECTIONAL)
        self._w.streams[stream_id] = _Stream(self._w.initial_send, self._window,
                                             local_closed=one_way, remote_closed=fin)
        if fin and one_way:
            del self._w.streams[stream_id]
        return StreamOpened(stream_id, headers, fin, one_way, associated & 0x7FFFFFFF,
                            payload[8] >> 5)

    def _on_settings(self, payload: bytes) -> Event:
        (count,) = struct.unpack_from(">I", payload)
        values = {}
        for i in range(count):
            key, value = struct.unpack_from(">II", payload, 4 + 8 * i)
            values[key & 0xFFFFFF] = value
        window = values.get(SETTINGS_INITIAL_WINDOW_SIZE)
        if window is not None:
            if window > MAX_WINDOW:
                raise SpdyProtocolError(f"initial window {window} is larger than 2^31-1")
            for stream in self._w.streams.values():
                stream.send_window += window - self._w.initial_send
            self._w.initial_send = window
        return SettingsReceived(values)

    def _on_window_update(self, payload: bytes) -> Event | None:
        stream_id, delta = struct.unpack_from(">II", payload)
        stream_id &= 0x7FFFFFFF
        delta &= 0x7FFFFFFF
        if stream_id == 0:
            self._w.send += delta
        else:
            stream = self._w.streams.get(stream_id)
            if stream is None:
                return None
            stream.send_window += delta
            if stream.send_window > MAX_WINDOW:
                self.reset(stream_id, RstStatus.FLOW_CONTROL_ERROR)
                return StreamReset(stream_id, RstStatus.FLOW_CONTROL_ERROR)
        return WindowUpdated(stream_id, delta)
