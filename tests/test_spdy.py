"""The SPDY/3.1 codec (``dynakube/apiserver/http/spdy.py``) against frames built by hand from
the spec and against itself as the other end; then, with the codec as kubectl's side, the
embedded server's direct ``Upgrade: SPDY/3.1`` port-forward over a real socket.

Hand-built frames pack every field with ``struct`` and compress header blocks with ``zlib``
and the dictionary, independently of the codec's own encoder; the codec's output is taken
apart the same way. What kubectl's moby/spdystream accepts is checked by
``test_kubectl_portforward.py``.
"""

from __future__ import annotations

import json
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rawhttp import RawKube

from dynakube.apiserver.http import spdy
from dynakube.apiserver.http.spdy import (
    DataReceived,
    GoAwayReceived,
    HeadersReceived,
    PingReceived,
    RstStatus,
    SettingsReceived,
    SpdyConnection,
    SpdyProtocolError,
    StreamOpened,
    StreamReplied,
    StreamReset,
    WindowUpdated,
)
from dynakube.apiserver.server import ApiServer


def _block(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """An uncompressed name/value block, field by field (SPDY/3 section 2.6.10)."""
    out = struct.pack(">I", len(pairs))
    for name, value in pairs:
        out += struct.pack(">I", len(name)) + name + struct.pack(">I", len(value)) + value
    return out


class _Peer:
    """The other end's header compression: one zlib stream, a sync flush per block."""

    def __init__(self) -> None:
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                        spdy.DICTIONARY)
        self.inflate = zlib.decompressobj(15, spdy.DICTIONARY)

    def compress(self, block: bytes) -> bytes:
        return self.deflate.compress(block) + self.deflate.flush(zlib.Z_SYNC_FLUSH)


def _control(kind: int, flags: int, payload: bytes, version: int = 3) -> bytes:
    return struct.pack(">HHB", 0x8000 | version, kind, flags) + \
        len(payload).to_bytes(3, "big") + payload


def _data(stream_id: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">IB", stream_id, flags) + len(payload).to_bytes(3, "big") + payload


def _syn_stream(peer: _Peer, stream_id: int, pairs: list[tuple[bytes, bytes]], flags: int = 0,
                priority: int = 0) -> bytes:
    return _control(1, flags, struct.pack(">IIBB", stream_id, 0, priority << 5, 0)
                    + peer.compress(_block(pairs)))


def _frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """Split a byte stream into (control bit, type or stream id, flags, payload)."""
    out = []
    while data:
        first, second = struct.unpack_from(">II", data)
        length = second & 0xFFFFFF
        control = first >> 31
        out.append((control, first & 0xFFFF if control else first, second >> 24,
                    data[8:8 + length]))
        data = data[8 + length:]
    return out


_PORT_HEADERS = [(b"streamtype", b"error"), (b"port", b"8080"), (b"requestid", b"0")]


# -- the dictionary and header blocks --------------------------------------------------------

def test_the_dictionary_is_the_one_of_the_spec() -> None:
    # 1423 bytes; its Adler-32 is the DICTID that zlib streams of SPDY/3 carry (Go's
    # compress/zlib refuses a stream whose DICTID is not that of its dictionary)
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


def test_header_blocks_round_trip_with_several_values_joined_by_nul() -> None:
    block = spdy.encode_header_block({"X-Names": ["a", "b"], "port": ["80"]})
    assert block == _block([(b"x-names", b"a\0b"), (b"port", b"80")])
    assert spdy.decode_header_block(block) == {"x-names": ["a", "b"], "port": ["80"]}


@pytest.mark.parametrize("block", [
    b"\x00\x00",  # no count
    _block([(b"port", b"80")])[:-1],  # the value is cut short
    _block([(b"", b"x")]),  # an empty name
    _block([(b"\xff", b"x")]),  # not text
])
def test_a_malformed_header_block_is_a_protocol_error(block: bytes) -> None:
    with pytest.raises(SpdyProtocolError):
        spdy.decode_header_block(block)


# -- frames from the peer --------------------------------------------------------------------

def test_a_hand_built_syn_stream_opens_a_stream_whatever_the_split() -> None:
    peer = _Peer()
    wire = _syn_stream(peer, 1, _PORT_HEADERS + [(b"X-Two", b"a\0b")], priority=3) + \
        _syn_stream(peer, 3, [(b"streamtype", b"data")], flags=spdy.FLAG_FIN)
    server = SpdyConnection(server=True)
    events = [e for i in range(len(wire)) for e in server.receive_data(wire[i:i + 1])]
    assert events == [
        StreamOpened(1, {"streamtype": ["error"], "port": ["8080"], "requestid": ["0"],
                         "x-two": ["a", "b"]}, priority=3),
        StreamOpened(3, {"streamtype": ["data"]}, fin=True),
    ]


def test_data_frames_carry_bytes_and_the_end_of_a_stream() -> None:
    peer = _Peer()
    server = SpdyConnection(server=True)
    server.receive_data(_syn_stream(peer, 1, _PORT_HEADERS))
    assert server.receive_data(_data(1, 0, b"hello") + _data(1, spdy.FLAG_FIN, b"")) == [
        DataReceived(1, b"hello"), DataReceived(1, b"", fin=True)]
    assert server.receive_data(_data(1, 0, b"late")) == []  # after the end: dropped
    assert server.data_to_send() == b""


def test_data_for_a_stream_never_opened_is_refused_with_invalid_stream() -> None:
    server = SpdyConnection(server=True)
    assert server.receive_data(_data(7, 0, b"x")) == []
    assert _frames(server.data_to_send()) == [
        (1, 3, 0, struct.pack(">II", 7, RstStatus.INVALID_STREAM))]


def test_a_stream_id_of_the_wrong_parity_or_going_back_is_reset() -> None:
    peer = _Peer()
    server = SpdyConnection(server=True)
    assert server.receive_data(_syn_stream(peer, 2, _PORT_HEADERS)) == [
        StreamReset(2, RstStatus.PROTOCOL_ERROR)]
    server.receive_data(_syn_stream(peer, 5, _PORT_HEADERS))
    assert server.receive_data(_syn_stream(peer, 3, _PORT_HEADERS)) == [
        StreamReset(3, RstStatus.PROTOCOL_ERROR)]
    assert [f[:2] for f in _frames(server.data_to_send())] == [(1, 3), (1, 3)]


def test_control_frames_of_the_peer_become_events() -> None:
    peer = _Peer()
    client = SpdyConnection(server=False)
    stream = client.open_stream({"a": ["1"]})
    client.data_to_send()
    reply = _control(2, 0, struct.pack(">I", stream) + peer.compress(_block([(b"ok", b"1")])))
    headers = _control(8, spdy.FLAG_FIN, struct.pack(">I", stream)
                       + peer.compress(_block([(b"more", b"2")])))
    settings = _control(4, 0, struct.pack(">III", 1, 4, 100))  # id 4, value 100
    goaway = _control(7, 0, struct.pack(">II", 9, 0))
    update = _control(9, 0, struct.pack(">II", stream, 10))
    rst = _control(3, 0, struct.pack(">II", stream, RstStatus.CANCEL))
    unknown = _control(0x42, 0, b"whatever")
    events = client.receive_data(reply + headers + settings + goaway + update + rst + unknown)
    assert events == [StreamReplied(stream, {"ok": ["1"]}), HeadersReceived(stream, {"more": [
        "2"]}, fin=True), SettingsReceived({4: 100}), GoAwayReceived(9, 0),
        WindowUpdated(stream, 10), StreamReset(stream, RstStatus.CANCEL)]


def test_the_peers_ping_is_answered_and_ours_comes_back_as_an_ack() -> None:
    server = SpdyConnection(server=True)
    assert server.receive_data(_control(6, 0, struct.pack(">I", 1))) == [PingReceived(1, False)]
    assert server.data_to_send() == _control(6, 0, struct.pack(">I", 1))
    ours = server.ping()
    assert ours % 2 == 0 and server.data_to_send() == _control(6, 0, struct.pack(">I", ours))
    assert server.receive_data(_control(6, 0, struct.pack(">I", ours))) == [
        PingReceived(ours, True)]
    assert server.data_to_send() == b""


@pytest.mark.parametrize("wire", [
    _control(1, 0, struct.pack(">I", 1), version=2),  # another SPDY version
    _control(6, 0, b"\x00"),  # a PING too short
    _control(1, 0, struct.pack(">IIBB", 1, 0, 0, 0) + b"not zlib at all"),
])
def test_a_broken_session_queues_goaway_and_raises(wire: bytes) -> None:
    server = SpdyConnection(server=True)
    with pytest.raises(SpdyProtocolError):
        server.receive_data(wire)
    assert _frames(server.data_to_send()) == [(1, 7, 0, struct.pack(">II", 0, 1))]
    assert server.closed


# -- frames to the peer ----------------------------------------------------------------------

def test_reply_and_data_frames_are_laid_out_as_the_spec_says() -> None:
    peer = _Peer()
    server = SpdyConnection(server=True)
    server.receive_data(_syn_stream(peer, 1, _PORT_HEADERS))
    server.reply(1)
    server.send_data(1, b"hi", fin=True)
    wire = server.data_to_send()
    (control, kind, flags, payload), data = _frames(wire)
    assert wire[:4] == b"\x80\x03\x00\x02" and (control, kind, flags) == (1, 2, 0)
    assert payload[:4] == b"\x00\x00\x00\x01"
    assert peer.inflate.decompress(payload[4:]) == struct.pack(">I", 0)  # no headers
    assert wire.endswith(b"\x00\x00\x00\x01\x01\x00\x00\x02hi") and data[2:] == (1, b"hi")


def test_header_blocks_share_one_zlib_stream_per_direction() -> None:
    peer = _Peer()
    client = SpdyConnection(server=False)
    for n in range(3):
        client.open_stream({"requestID": [str(n)], "streamType": ["data"]})
    frames = _frames(client.data_to_send())
    assert [struct.unpack_from(">I", f[3])[0] for f in frames] == [1, 3, 5]
    blocks = [peer.inflate.decompress(f[3][10:]) for f in frames]
    assert blocks == [_block([(b"requestid", str(n).encode()), (b"streamtype", b"data")])
                      for n in range(3)]
    assert len(frames[2][3]) < len(frames[0][3])  # the later blocks refer to the earlier


def test_a_large_send_is_split_into_frames_of_at_most_16_mib() -> None:
    client = SpdyConnection(server=False, enforce_flow_control=False)
    stream = client.open_stream({})
    client.data_to_send()
    client.send_data(stream, b"x" * (spdy.MAX_DATA_LENGTH + 5), fin=True)
    frames = _frames(client.data_to_send())
    assert [(len(f[3]), f[2]) for f in frames] == [(spdy.MAX_DATA_LENGTH, 0), (5, 1)]
    with pytest.raises(SpdyProtocolError, match="closed for sending"):
        client.send_data(stream, b"more")


def test_settings_and_goaway_we_send() -> None:
    server = SpdyConnection(server=True)
    server.settings({7: 1 << 20})
    server.goaway()
    assert _frames(server.data_to_send()) == [
        (1, 4, 0, struct.pack(">III", 1, 7, 1 << 20)), (1, 7, 0, struct.pack(">II", 0, 0))]


# -- flow control ----------------------------------------------------------------------------

def test_sending_is_held_to_the_peers_window_until_it_grows() -> None:
    client = SpdyConnection(server=False)
    stream = client.open_stream({})
    client.send_data(stream, b"x" * spdy.DEFAULT_WINDOW)
    assert client.send_window(stream) == 0
    with pytest.raises(SpdyProtocolError, match="WINDOW_UPDATE"):
        client.send_data(stream, b"y")
    client.receive_data(_control(9, 0, struct.pack(">II", stream, 10)))
    assert client.send_window(stream) == 0  # the session window is still closed
    client.receive_data(_control(9, 0, struct.pack(">II", 0, 100)))
    assert client.send_window(stream) == 10
    client.receive_data(_control(4, 0, struct.pack(">III", 1, 7, spdy.DEFAULT_WINDOW + 5)))
    assert client.send_window(stream) == 15  # a new initial window moves open streams too


def test_an_overrun_of_our_window_resets_the_stream_when_enforced() -> None:
    peer = _Peer()
    server = SpdyConnection(server=True)
    server.receive_data(_syn_stream(peer, 1, _PORT_HEADERS))
    chunk = b"z" * (spdy.DEFAULT_WINDOW // 2)
    assert len(server.receive_data(_data(1, 0, chunk) * 2)) == 2
    assert server.receive_data(_data(1, 0, b"!")) == [
        StreamReset(1, RstStatus.FLOW_CONTROL_ERROR)]
    lax = SpdyConnection(server=True, enforce_flow_control=False)  # kubectl's spdystream
    lax.receive_data(_syn_stream(_Peer(), 1, _PORT_HEADERS))
    assert len(lax.receive_data(_data(1, 0, chunk) * 3)) == 3 and lax.data_to_send() == b""


def test_consumed_bytes_reopen_the_windows_every_half_window() -> None:
    peer = _Peer()
    server = SpdyConnection(server=True)
    server.receive_data(_syn_stream(peer, 1, _PORT_HEADERS))
    half = spdy.DEFAULT_WINDOW // 2
    server.acknowledge(1, half - 1)
    assert server.data_to_send() == b""
    server.acknowledge(1, 1)
    assert _frames(server.data_to_send()) == [(1, 9, 0, struct.pack(">II", 0, half)),
                                              (1, 9, 0, struct.pack(">II", 1, half))]


def test_a_smaller_window_of_ours_is_announced_in_settings() -> None:
    server = SpdyConnection(server=True, window=1024)
    assert _frames(server.data_to_send()) == [(1, 4, 0, struct.pack(">III", 1, 7, 1024))]


# -- both ends -------------------------------------------------------------------------------

def test_two_codecs_carry_many_streams_both_ways() -> None:
    client, server = SpdyConnection(server=False), SpdyConnection(server=True)
    ids = [client.open_stream({"requestID": [str(n)]}) for n in range(20)]
    opened = server.receive_data(client.data_to_send())
    assert [e.headers["requestid"] for e in opened if isinstance(e, StreamOpened)] == [
        [str(n)] for n in range(20)]
    for stream in ids:
        server.reply(stream)
        server.send_data(stream, f"to {stream}".encode(), fin=True)
        client.send_data(stream, f"from {stream}".encode(), fin=True)
    to_client = client.receive_data(server.data_to_send())
    to_server = server.receive_data(client.data_to_send())
    assert [e.data for e in to_client if isinstance(e, DataReceived)] == [
        f"to {s}".encode() for s in ids]
    assert [e.data for e in to_server if isinstance(e, DataReceived)] == [
        f"from {s}".encode() for s in ids]
    assert all(server.send_window(s) == 0 for s in ids)  # closed both ways: forgotten


# -- over the wire: the codec as kubectl's side against the embedded server -----------------

class _Kubectl:
    """kubectl's half of a direct SPDY port-forward session, on a raw socket."""

    def __init__(self, server: ApiServer, pod: str = "web", protocol: str = "portforward.k8s.io"):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.sock.sendall(
            f"POST /api/v1/namespaces/default/pods/{pod}/portforward HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
            f"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            f"X-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        self.status_line, *lines = head.decode().split("\r\n")[:-2]
        self.headers = dict(line.split(": ", 1) for line in lines)
        self.spdy = SpdyConnection(server=False, enforce_flow_control=False)  # as spdystream
        self.events: list[spdy.Event] = []

    def body(self) -> bytes:
        size = int(self.headers["Content-Length"])
        data = b""
        while len(data) < size:
            data += self.sock.recv(size - len(data))
        return data

    def send(self) -> None:
        self.sock.sendall(self.spdy.data_to_send())

    def pair(self, port: int, request_id: int) -> tuple[int, int]:
        """The error and data streams of one connection, opened as kubectl opens them."""
        headers = {"streamType": ["error"], "port": [str(port)], "requestID": [str(request_id)]}
        error = self.spdy.open_stream(headers, fin=True)
        data = self.spdy.open_stream({**headers, "streamType": ["data"]})
        self.send()
        return error, data

    def until(self, done: Callable[[list[spdy.Event]], bool]) -> list[spdy.Event]:
        while not done(self.events):
            chunk = self.sock.recv(65536)
            assert chunk, f"the server hung up; events so far: {self.events}"
            self.events += self.spdy.receive_data(chunk)
        return self.events

    def received(self, stream: int) -> bytes:
        """Everything on ``stream`` until its end."""
        self.until(lambda evs: any(isinstance(e, DataReceived) and e.stream_id == stream
                                   and e.fin for e in evs))
        return b"".join(e.data for e in self.events
                        if isinstance(e, DataReceived) and e.stream_id == stream)


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer() as srv:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "x"}]}}
        RawKube(srv).create("/api/v1/namespaces/default/pods", pod)
        RawKube(srv).create("/api/v1/namespaces/default/pods",
                            {**pod, "metadata": {"name": "unscheduled"}, "spec": {
                                "containers": [{"name": "main", "image": "x"}]}})

        def shout(conn: Any) -> None:
            conn.sendall(b"ready:")
            while data := conn.recv(65536):
                conn.sendall(data.upper())

        srv.pods.on_port("default", "web", 80, shout)
        yield srv


@pytest.fixture
def connect(server: ApiServer) -> Iterator[Callable[..., _Kubectl]]:
    """Open kubectl-like sessions (``connect(pod=..., protocol=...)``), closed after the test."""
    opened: list[_Kubectl] = []

    def open_session(**kwargs: str) -> _Kubectl:
        opened.append(_Kubectl(server, **kwargs))
        return opened[-1]

    yield open_session
    for session in opened:
        session.sock.close()


def test_the_direct_upgrade_answers_as_the_kubelet_does(connect: Callable[..., _Kubectl]
                                                        ) -> None:
    kubectl = connect()
    assert kubectl.status_line == "HTTP/1.1 101 Switching Protocols"
    assert (kubectl.headers["Connection"], kubectl.headers["Upgrade"]) == ("Upgrade", "SPDY/3.1")
    assert kubectl.headers["X-Stream-Protocol-Version"] == "portforward.k8s.io"
    error, data = kubectl.pair(80, 0)
    kubectl.until(lambda evs: sum(isinstance(e, StreamReplied) for e in evs) == 2)
    kubectl.spdy.send_data(data, b"hello", fin=True)  # kubectl's local client half-closes
    kubectl.send()
    assert kubectl.received(data) == b"ready:HELLO"
    assert kubectl.received(error) == b""  # no error: the stream just ends


def test_many_connections_run_at_once_over_one_session(connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect()
    pairs = [kubectl.pair(80, n) for n in range(16)]
    for n, (_, data) in enumerate(pairs):  # all interleaved, none finished before the last
        kubectl.spdy.send_data(data, f"conn {n} ".encode() * 300)
    kubectl.send()
    for _, data in pairs:
        kubectl.spdy.send_data(data, b"", fin=True)
    kubectl.send()
    assert [kubectl.received(d) for _, d in pairs] == [
        b"ready:" + f"CONN {n} ".encode() * 300 for n in range(len(pairs))]


def test_a_client_that_keeps_to_the_windows_has_them_reopened(
        connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect()  # unlike spdystream, this client waits for WINDOW_UPDATEs
    _, data = kubectl.pair(80, 0)
    payload = bytes(range(256)) * 1024  # four windows' worth
    sent = 0
    while sent < len(payload):
        room = kubectl.spdy.send_window(data)
        if room == 0:
            seen = len(kubectl.events)
            kubectl.until(lambda evs, seen=seen: any(isinstance(e, WindowUpdated)
                                                     for e in evs[seen:]))
            continue
        kubectl.spdy.send_data(data, payload[sent:sent + room])
        kubectl.send()
        sent += room
    kubectl.spdy.send_data(data, b"", fin=True)
    kubectl.send()
    assert kubectl.received(data) == b"ready:" + payload.upper()
    updates = [e for e in kubectl.events if isinstance(e, WindowUpdated)]
    assert {e.stream_id for e in updates} == {0, data}


def test_a_port_nothing_listens_on_gets_the_error_on_its_error_stream(
        connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect()
    error, data = kubectl.pair(9, 7)
    text = kubectl.received(error).decode()
    assert text.startswith("error forwarding port 9 to pod ")
    assert text.rstrip().endswith("dial tcp6 [::1]:9: connect: connection refused")
    assert kubectl.received(data) == b""  # the data stream ends too


def test_streams_with_wrong_headers_are_reset(connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect()
    bad = [kubectl.spdy.open_stream(h) for h in (
        {"streamType": ["data"], "requestID": ["1"]},  # no port
        {"streamType": ["data"], "port": ["0"], "requestID": ["1"]},
        {"streamType": ["data"], "port": ["http"], "requestID": ["1"]},
        {"streamType": ["stdin"], "port": ["80"], "requestID": ["1"]},
        {"port": ["80"], "requestID": ["1"]})]
    kubectl.send()
    events = kubectl.until(lambda evs: len(evs) == len(bad))
    assert events == [StreamReset(s, RstStatus.CANCEL) for s in bad]


def test_a_second_stream_of_one_type_and_request_is_an_error(
        connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect()
    error = kubectl.spdy.open_stream({"streamType": ["error"], "port": ["80"],
                                      "requestID": ["3"]})
    again = kubectl.spdy.open_stream({"streamType": ["error"], "port": ["80"],
                                      "requestID": ["3"]})
    kubectl.send()
    kubectl.until(lambda evs: any(isinstance(e, StreamReset) for e in evs))
    assert [e for e in kubectl.events if isinstance(e, StreamReset)] == [
        StreamReset(again, RstStatus.CANCEL)]
    assert [e.data for e in kubectl.events if isinstance(e, DataReceived)] == [
        b"error processing stream for request 3: error stream already assigned"]
    assert error != again


def test_an_unknown_protocol_version_is_refused_before_the_upgrade(
        connect: Callable[..., _Kubectl]) -> None:
    kubectl = connect(protocol="v9.portforward.example")
    assert kubectl.status_line.startswith("HTTP/1.1 403")
    assert kubectl.headers["X-Accepted-Stream-Protocol-Versions"] == "portforward.k8s.io"
    assert kubectl.body() == (b"unable to upgrade: unable to negotiate protocol: client "
                              b"supports [v9.portforward.example], server accepts "
                              b"[portforward.k8s.io]")


@pytest.mark.parametrize(("pod", "code", "message"), [
    ("nope", 404, 'pods "nope" not found'),
    ("unscheduled", 400, "pod unscheduled does not have a host assigned"),
])
def test_kube_apiservers_checks_come_first_as_json_status(
        connect: Callable[..., _Kubectl], pod: str, code: int, message: str) -> None:
    kubectl = connect(pod=pod)
    assert kubectl.status_line.startswith(f"HTTP/1.1 {code}")
    status = json.loads(kubectl.body())
    assert (status["kind"], status["code"], status["message"]) == ("Status", code, message)
