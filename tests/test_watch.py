"""Watch decoding (pure) and the resuming Watch iterator over a scripted transport.

Streams split anywhere, truncated or corrupted on the real wire are in ``test_faults.py``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from watchfakes import FakeResponse, FakeTransport, bookmark, cm, expired, line, quick_backoff

from dynakube.errors import (
    ForbiddenError,
    GoneError,
    InvalidArgumentError,
    ResourceVersionTooLargeError,
    ServerError,
    TransportError,
    error_from_response,
)
from dynakube.watch import Backoff, Watch, WatchEvent, decode_event, object_key

PATH = "/api/v1/namespaces/ns/configmaps"


def recorded(shared_api: Any, name: str) -> Any:
    return json.loads((shared_api / "v1.36" / "behaviour.json").read_text())[name]


# -- decoding -------------------------------------------------------------------------------
def test_decode_recorded_stream(shared_api: Any) -> None:
    events = recorded(shared_api, "watch_stream_from_resource_version")["events"]
    decoded = [decode_event(json.dumps(e).encode()) for e in events]
    assert [e.type for e in decoded] == [e["type"] for e in events]
    assert decoded[0].resource_version == events[0]["object"]["metadata"]["resourceVersion"]
    assert decoded[-1].type == "BOOKMARK" and decoded[-1].as_error() is None


def test_recorded_expired_error_is_gone(shared_api: Any) -> None:
    lines = recorded(shared_api, "watch_too_old_resource_version")["lines"]
    event = decode_event(json.dumps(lines[0]))
    error = event.as_error()
    assert isinstance(error, GoneError)
    assert error.code == 410 and error.reason == "Expired"
    assert "too old resource version" in str(error)


def test_error_event_maps_by_code() -> None:
    status = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd down"}
    assert isinstance(decode_event(line("ERROR", status)).as_error(), ServerError)
    assert decode_event(line("ADDED", cm("a", 1))).as_error() is None


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"type": "ADDED"}',
                                 b'{"type": "WEIRD", "object": {}}'])
def test_decode_rejects_malformed_lines(raw: bytes) -> None:
    with pytest.raises(TransportError):
        decode_event(raw)


def test_object_key() -> None:
    assert object_key(cm("a", 1)) == "ns/a"
    assert object_key({"metadata": {"name": "n1"}}) == "n1"
    with pytest.raises(InvalidArgumentError):
        object_key({"metadata": {}})


def test_backoff_doubles_caps_and_resets() -> None:
    now = [0.0]
    backoff = Backoff(1.0, 5.0, jitter=0.5, reset_after=60, clock=lambda: now[0], rng=lambda: 0.5)
    assert [backoff.next() for _ in range(5)] == [1.25, 2.5, 5.0, 6.25, 6.25]
    now[0] = 100.0
    assert backoff.next() == 1.25
    with pytest.raises(InvalidArgumentError):
        Backoff(0)


# -- the Watch iterator -----------------------------------------------------------------------
def test_watch_resumes_from_last_event_and_bookmark() -> None:
    transport = FakeTransport(
        FakeResponse([line("ADDED", cm("a", 11)), line("BOOKMARK", bookmark(15))]),
        FakeResponse([line("MODIFIED", cm("a", 16))], error=TransportError("reset")),
        FakeResponse([line("DELETED", cm("a", 17))]),
    )
    w = Watch(transport, PATH, resource_version="10", label_selector="app=x",
              backoff=quick_backoff())
    got = [next(w) for _ in range(3)]
    assert [(e.type, e.resource_version) for e in got] == [
        ("ADDED", "11"), ("MODIFIED", "16"), ("DELETED", "17")]
    w.stop()
    everything = transport.queries()
    # after the broken connection, one small list checks the server is not behind
    assert [q.get("resourceVersion") or q for q in everything] == \
        ["10", "15", {"limit": "1"}, "16"]
    queries = [q for q in everything if "watch" in q]
    for q in queries:
        assert q["watch"] == "true" and q["allowWatchBookmarks"] == "true"
        assert q["labelSelector"] == "app=x"
        assert 300 <= int(q["timeoutSeconds"]) <= 600
        assert "sendInitialEvents" not in q
    assert w.resource_version == "17"


def test_bookmarks_yielded_only_when_asked() -> None:
    transport = FakeTransport(FakeResponse([line("BOOKMARK", bookmark(5)),
                                            line("ADDED", cm("a", 6))]))
    with Watch(transport, PATH, resource_version="1", bookmarks=True) as w:
        assert [next(w).type, next(w).type] == ["BOOKMARK", "ADDED"]


def test_without_resource_version_starts_now() -> None:
    transport = FakeTransport(FakeResponse([line("ADDED", cm("a", 43))]), current_rv="42")
    w = Watch(transport, PATH)
    assert next(w).resource_version == "43"
    w.stop()
    first, second = transport.queries()
    assert first == {"limit": "1"}
    assert second["resourceVersion"] == "42"


def test_expired_while_resuming_raises_gone() -> None:
    transport = FakeTransport(FakeResponse([line("ADDED", cm("a", 11))]),
                              FakeResponse([line("ERROR", expired(11))]))
    w = Watch(transport, PATH, resource_version="10", backoff=quick_backoff())
    assert next(w).type == "ADDED"
    with pytest.raises(GoneError):
        next(w)


def test_retryable_answers_back_off_and_others_raise() -> None:
    busy = ServerError(503, {"reason": "ServiceUnavailable", "message": "busy"})
    transport = FakeTransport(busy, TransportError("refused"),
                              FakeResponse([line("ADDED", cm("a", 11))]))
    w = Watch(transport, PATH, resource_version="10", backoff=quick_backoff())
    assert next(w).resource_version == "11"
    w.stop()
    assert [r.target.partition("?")[2].split("&")[0] for r in transport.requests] == \
        ["watch=true", "watch=true", "limit=1", "watch=true"]
    denied = FakeTransport(ForbiddenError(403, {"reason": "Forbidden", "message": "no"}))
    with pytest.raises(ForbiddenError):
        next(Watch(denied, PATH, resource_version="1"))


def test_stop_from_another_thread_ends_a_hanging_watch() -> None:
    transport = FakeTransport(FakeResponse([line("ADDED", cm("a", 2))], hang=True))
    w = Watch(transport, PATH, resource_version="1")
    seen: list[WatchEvent] = []
    done = threading.Event()

    def consume() -> None:
        seen.extend(w)
        done.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    while not seen:
        threading.Event().wait(0.01)
    w.stop()
    assert done.wait(10)
    assert [e.type for e in seen] == ["ADDED"]
    assert w.stopped


def test_total_timeout_ends_iteration() -> None:
    transport = FakeTransport(FakeResponse(hang=True))
    w = Watch(transport, PATH, resource_version="1", timeout=0.2, read_timeout=60)
    assert list(w) == []
    assert transport.queries()[0]["timeoutSeconds"] == "1"
    assert transport.read_timeouts[0] is not None and transport.read_timeouts[0] <= 1.2


def test_clean_empty_ends_back_off_instead_of_spinning() -> None:
    ends = [FakeResponse([]) for _ in range(3)]
    transport = FakeTransport(*ends, FakeResponse([line("ADDED", cm("a", 2))]))
    sleeps: list[float] = []
    backoff = Backoff(0.001, 0.004, rng=lambda: 0.0)
    original = backoff.next

    def recording() -> float:
        sleeps.append(original())
        return sleeps[-1]

    backoff.next = recording  # type: ignore[method-assign]
    w = Watch(transport, PATH, resource_version="1", backoff=backoff)
    assert next(w).type == "ADDED"
    w.stop()
    assert sleeps == [0.001, 0.002]  # the first reconnect is at once, then it backs off


def test_initial_events_then_changes() -> None:
    transport = FakeTransport(FakeResponse([
        line("ADDED", cm("a", 7)), line("ADDED", cm("b", 3)),
        line("BOOKMARK", bookmark(9, end=True)), line("MODIFIED", cm("a", 10))]))
    w = Watch(transport, PATH, send_initial_events=True, bookmarks=True)
    got = [next(w) for _ in range(4)]
    w.stop()
    assert [e.type for e in got] == ["ADDED", "ADDED", "BOOKMARK", "MODIFIED"]
    q = transport.queries()[0]
    assert q["sendInitialEvents"] == "true" and q["resourceVersionMatch"] == "NotOlderThan"
    assert "resourceVersion" not in q


def test_initial_events_restart_neither_repeats_nor_loses() -> None:
    # The first attempt breaks after two objects; meanwhile b changed and a was deleted.
    transport = FakeTransport(
        FakeResponse([line("ADDED", cm("a", 7)), line("ADDED", cm("b", 3))],
                     error=TransportError("reset")),
        FakeResponse([line("ADDED", cm("b", 12)), line("ADDED", cm("c", 5)),
                      line("BOOKMARK", bookmark(13, end=True)), line("ADDED", cm("d", 14))]),
    )
    w = Watch(transport, PATH, send_initial_events=True, backoff=quick_backoff())
    got = [(e.type, e.object["metadata"]["name"], e.resource_version) for e in
           (next(w) for _ in range(6))]
    w.stop()
    assert got == [("ADDED", "a", "7"), ("ADDED", "b", "3"), ("MODIFIED", "b", "12"),
                   ("ADDED", "c", "5"), ("DELETED", "a", "7"), ("ADDED", "d", "14")]
    second = transport.queries()[1]
    assert second["sendInitialEvents"] == "true" and "resourceVersion" not in second
    assert w.resource_version == "14"


def test_a_bookmark_with_null_metadata_during_initial_events_is_skipped() -> None:
    transport = FakeTransport(FakeResponse([
        line("ADDED", cm("a", 7)), line("BOOKMARK", {"kind": "ConfigMap", "metadata": None}),
        line("BOOKMARK", bookmark(9, end=True))]))
    w = Watch(transport, PATH, send_initial_events=True, bookmarks=True)
    got = [next(w) for _ in range(2)]
    w.stop()
    assert [e.type for e in got] == ["ADDED", "BOOKMARK"] and got[1].ends_initial_events
    assert w.resource_version == "9"


def test_error_event_during_initial_events_is_raised() -> None:
    status = {"kind": "Status", "code": 500, "reason": "InternalError", "message": "no"}
    transport = FakeTransport(FakeResponse([line("ERROR", status)]))
    with pytest.raises(ServerError):
        next(Watch(transport, PATH, send_initial_events=True))


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        Watch(FakeTransport(), PATH, timeout=-1)
    with pytest.raises(InvalidArgumentError):
        Watch(FakeTransport(), PATH, server_timeout=(10, 5))


def recording_backoff(w_box: list[Watch]) -> tuple[Backoff, list[tuple[float, Any]]]:
    """A quick backoff that records each delay and the watch's last_error at that moment."""
    backoff = Backoff(0.001, 0.004, rng=lambda: 0.0)
    original = backoff.next
    sleeps: list[tuple[float, Any]] = []

    def recording() -> float:
        sleeps.append((original(), w_box[0].last_error if w_box else None))
        return sleeps[-1][0]

    backoff.next = recording  # type: ignore[method-assign]
    return backoff, sleeps


def test_streams_cut_after_an_event_still_back_off() -> None:
    # A proxy cutting every stream after one event: delivering once is not being healthy.
    cut = [FakeResponse([line("ADDED", cm("a", 10 + i))], error=TransportError("reset"))
           for i in range(5)]
    transport = FakeTransport(*cut)
    backoff, sleeps = recording_backoff([])
    w = Watch(transport, PATH, resource_version="1", backoff=backoff)
    assert [next(w).resource_version for _ in range(5)] == ["10", "11", "12", "13", "14"]
    w.stop()
    assert [s for s, _ in sleeps] == [0.001, 0.002, 0.004]  # after one immediate reconnect


def test_a_stream_that_stayed_up_reconnects_at_once() -> None:
    ends = [FakeResponse([line("ADDED", cm("a", 10 + i))], error=TransportError("reset"))
            for i in range(4)]
    backoff, sleeps = recording_backoff([])
    w = Watch(FakeTransport(*ends), PATH, resource_version="1", backoff=backoff,
              healthy_after=0.0)
    assert [next(w).resource_version for _ in range(4)] == ["10", "11", "12", "13"]
    w.stop()
    assert sleeps == []


def test_last_error_is_set_per_failed_attempt_and_cleared_by_a_delivery() -> None:
    transport = FakeTransport(
        FakeResponse([line("ADDED", cm("a", 11))], error=TransportError("reset")),
        TransportError("refused"), FakeResponse([line("ADDED", cm("a", 12))]))
    box: list[Watch] = []
    backoff, sleeps = recording_backoff(box)
    w = Watch(transport, PATH, resource_version="10", backoff=backoff)
    box.append(w)
    assert next(w).resource_version == "11" and w.last_error is None
    assert next(w).resource_version == "12"
    w.stop()
    assert [str(e) for _, e in sleeps] == ["refused"]
    assert w.last_error is None


def too_large(rv: int = 99, current: int = 5) -> dict[str, Any]:
    """kube-apiserver's answer to a watch or list from a future resourceVersion."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"Too large resource version: {rv}, current: {current}",
            "reason": "Timeout", "code": 504,
            "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                    "message": "Too large resource version"}],
                        "retryAfterSeconds": 1}}


def test_too_large_resource_version_maps_to_a_gone_like_error() -> None:
    error = error_from_response(504, too_large())
    assert isinstance(error, ResourceVersionTooLargeError) and isinstance(error, GoneError)
    older = {"kind": "Status", "code": 504, "reason": "Timeout",
             "message": "Too large resource version: 99, current: 5"}
    assert isinstance(error_from_response(504, older), ResourceVersionTooLargeError)
    timeout = {"kind": "Status", "code": 504, "reason": "Timeout", "message": "slow"}
    assert type(error_from_response(504, timeout)) is ServerError


def test_too_large_error_event_is_raised_not_retried() -> None:
    transport = FakeTransport(FakeResponse([line("ERROR", too_large())]),
                              FakeResponse([line("ERROR", too_large())]))
    w = Watch(transport, PATH, resource_version="99", backoff=quick_backoff(), timeout=5)
    with pytest.raises(ResourceVersionTooLargeError):
        next(w)
    assert len(transport.requests) == 1


def test_resource_version_below_the_start_raises() -> None:
    # The server restarted empty: its new objects have versions below where the watch was.
    transport = FakeTransport(FakeResponse([
        line("ADDED", cm("a", 101)), line("BOOKMARK", bookmark(102)),
        line("ADDED", cm("new", 7))]), FakeResponse([line("ADDED", cm("b", 8))]))
    w = Watch(transport, PATH, resource_version="100", backoff=quick_backoff(), timeout=5)
    assert next(w).resource_version == "101"
    with pytest.raises(ResourceVersionTooLargeError, match="went backwards"):
        next(w)
    assert w.resource_version == "102"


def test_resource_version_zero_starts_anywhere_without_tripping() -> None:
    transport = FakeTransport(FakeResponse([line("ADDED", cm("a", 50)),
                                            line("ADDED", cm("b", 20))]))
    w = Watch(transport, PATH, resource_version="0")
    assert [next(w).resource_version for _ in range(2)] == ["50", "20"]
    w.stop()


def test_initial_events_that_keep_breaking_give_up_after_the_attempts() -> None:
    broken = [FakeResponse([line("ADDED", cm("a", 7))], error=TransportError("reset"))
              for _ in range(3)]
    w = Watch(FakeTransport(*broken), PATH, send_initial_events=True, backoff=quick_backoff(),
              initial_attempts=3)
    assert next(w).type == "ADDED"
    with pytest.raises(TransportError, match="broke off 3 times"):
        next(w)
    with pytest.raises(InvalidArgumentError):
        Watch(FakeTransport(), PATH, initial_attempts=0)


def test_a_server_behind_the_watch_after_a_broken_connection_raises() -> None:
    # A server restarted empty accepts a watch from the future and stays silent: the small
    # list sent after a broken connection shows it is behind.
    transport = FakeTransport(
        FakeResponse([line("ADDED", cm("a", 101))], error=TransportError("reset")),
        FakeResponse(hang=True), current_rv="7")
    w = Watch(transport, PATH, resource_version="100", backoff=quick_backoff(), timeout=5)
    assert next(w).resource_version == "101"
    with pytest.raises(ResourceVersionTooLargeError, match="the server is at 7"):
        next(w)
    assert isinstance(w.last_error, ResourceVersionTooLargeError)
    assert len(transport.requests) == 2  # the watch, the list; no watch from the future
