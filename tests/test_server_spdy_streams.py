"""The kubelet stand-in's SPDY port-forward pairing: its ``streamCreationTimeout``.

The kubelet waits that long (30 s by default) for the second stream of a ``requestID``;
a pair left half open is then given up. The server's ``options.stream_creation_timeout``
is the setting, made short here. The SPDY client is ``test_spdy``'s kubectl stand-in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rawhttp import RawKube
from test_spdy import _Kubectl

from dynakube.apiserver.http.spdy import RstStatus, StreamReset
from dynakube.apiserver.server import ApiServer


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer() as srv:
        RawKube(srv).create("/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "x"}]}})

        def shout(conn: Any) -> None:
            conn.sendall(b"ready:")
            while data := conn.recv(65536):
                conn.sendall(data.upper())

        srv.pods.on_port("default", "web", 80, shout)
        yield srv


def test_the_default_is_the_kubelets_30_seconds(server: ApiServer) -> None:
    assert server.options.stream_creation_timeout == 30.0


def test_a_pair_left_half_open_is_given_up(server: ApiServer) -> None:
    """The error stream says so and ends; a lone data stream is reset; the session goes on."""
    server.options.stream_creation_timeout = 0.2
    kubectl = _Kubectl(server)
    try:
        error = kubectl.spdy.open_stream({"streamType": ["error"], "port": ["80"],
                                          "requestID": ["5"]}, fin=True)
        lone = kubectl.spdy.open_stream({"streamType": ["data"], "port": ["80"],
                                         "requestID": ["6"]})
        kubectl.send()
        text = kubectl.received(error).decode()
        assert re.fullmatch(r"\(conn=0x[0-9a-f]+, request=5\) timed out waiting for streams",
                            text), text
        kubectl.until(lambda evs: StreamReset(lone, RstStatus.CANCEL) in evs)
        # a late second stream of a given-up request starts a pair of its own
        late = kubectl.spdy.open_stream({"streamType": ["data"], "port": ["80"],
                                         "requestID": ["5"]})
        kubectl.send()
        kubectl.until(lambda evs: StreamReset(late, RstStatus.CANCEL) in evs)
        _, data = kubectl.pair(80, 7)  # a pair that completes in time is forwarded
        kubectl.spdy.send_data(data, b"in time", fin=True)
        kubectl.send()
        assert kubectl.received(data) == b"ready:IN TIME"
    finally:
        kubectl.sock.close()


def test_a_pair_completed_in_time_is_not_given_up(server: ApiServer) -> None:
    server.options.stream_creation_timeout = 0.2
    kubectl = _Kubectl(server)
    try:
        error, data = kubectl.pair(80, 1)
        kubectl.spdy.send_data(data, b"a", fin=False)
        kubectl.send()
        kubectl.until(lambda evs: b"ready:A" in b"".join(
            getattr(e, "data", b"") for e in evs if getattr(e, "stream_id", None) == data))
        time.sleep(0.4)  # past the timeout: nothing happens to a complete pair
        kubectl.spdy.send_data(data, b"b", fin=True)
        kubectl.send()
        assert kubectl.received(data) == b"ready:AB"
        assert kubectl.received(error) == b""
        assert not any(isinstance(e, StreamReset) for e in kubectl.events)
    finally:
        kubectl.sock.close()


def test_a_reset_data_stream_ends_the_connection_into_the_pod(server: ApiServer) -> None:
    """kubectl resets the data stream when its local connection goes: the Pod's side sees the
    end of its input (a target reading forever would otherwise keep its thread)."""
    import threading

    ended = threading.Event()

    def reader(conn: Any) -> None:
        while conn.recv(65536):
            pass
        ended.set()

    server.pods.on_port("default", "web", 81, reader)
    kubectl = _Kubectl(server)
    try:
        _, data = kubectl.pair(81, 9)
        kubectl.spdy.send_data(data, b"no end of data follows")
        kubectl.send()
        kubectl.spdy.reset(data)
        kubectl.send()
        assert ended.wait(10)
    finally:
        kubectl.sock.close()
