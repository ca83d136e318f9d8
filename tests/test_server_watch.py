"""Watch streams of the embedded server: resume, bookmarks, watch-list, compaction, faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from rawhttp import CM, RawKube, configmap

from dynakube.testing import ApiServer


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    k = RawKube(kube_server)
    # these tests count ConfigMap events: start without the one every namespace gets, and
    # keep the root-ca-cert-publisher from putting it back
    kube_server.restores_defaults = False
    assert k("DELETE", CM + "/kube-root-ca.crt").status_code == 200
    return k


def summary(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(e["type"], e["object"]["metadata"].get("name")) for e in events]


def lines(answer: requests.Response) -> Iterator[dict[str, Any]]:
    for line in answer.iter_lines():
        if line:
            yield json.loads(line)


def test_resume_from_resource_version(k: RawKube) -> None:
    start = k.create(CM, configmap("a"))["metadata"]["resourceVersion"]
    k.create(CM, configmap("b"))
    k.s.patch(k.url + CM + "/a", json={"data": {"x": "1"}},
              headers={"Content-Type": "application/merge-patch+json"})
    k.s.delete(k.url + CM + "/b")
    events = k.events(resourceVersion=start, timeoutSeconds="1")
    assert summary(events) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert events[0]["object"]["apiVersion"] == "v1"
    assert events[0]["object"]["kind"] == "ConfigMap"
    deleted_rv = int(events[2]["object"]["metadata"]["resourceVersion"])
    assert deleted_rv > int(events[1]["object"]["metadata"]["resourceVersion"])


def test_live_events_and_timeout_bookmark(k: RawKube) -> None:
    with k.stream(resourceVersion=k.create(CM, configmap("first"))["metadata"]["resourceVersion"],
                  allowWatchBookmarks="true", timeoutSeconds="2") as answer:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Transfer-Encoding"] == "chunked"
        events = lines(answer)
        k.create(CM, configmap("second"))
        assert summary([next(events)]) == [("ADDED", "second")]
        rest = list(events)
    assert rest[-1]["type"] == "BOOKMARK"
    assert rest[-1]["object"] == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
        "resourceVersion": rest[-1]["object"]["metadata"]["resourceVersion"]}}


def test_watch_without_resource_version_starts_with_the_state(k: RawKube) -> None:
    k.create(CM, configmap("a"))
    k.create(CM, configmap("b"))
    assert summary(k.events(timeoutSeconds="1")) == [("ADDED", "a"), ("ADDED", "b")]
    assert summary(k.events(timeoutSeconds="1", resourceVersion="0")) == [("ADDED", "a"),
                                                                        ("ADDED", "b")]


def test_send_initial_events(k: RawKube) -> None:
    k.create(CM, configmap("a"))
    rv = k.create(CM, configmap("b"))["metadata"]["resourceVersion"]
    events = k.events(sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                      allowWatchBookmarks="true", timeoutSeconds="1")
    assert summary(events[:2]) == [("ADDED", "a"), ("ADDED", "b")]
    marker = events[2]
    assert marker["type"] == "BOOKMARK"
    assert marker["object"]["metadata"] == {"annotations": {"k8s.io/initial-events-end": "true"},
                                            "resourceVersion": rv}


def test_send_initial_events_needs_resource_version_match(k: RawKube) -> None:
    answer = k.stream(sendInitialEvents="true")
    assert answer.status_code == 422
    assert answer.json()["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")


def test_watch_list_switched_off_refuses_like_an_older_server() -> None:
    with ApiServer(watch_list=False) as server:
        answer = RawKube(server).stream(sendInitialEvents="true",
                                     resourceVersionMatch="NotOlderThan",
                                     allowWatchBookmarks="true")
        assert answer.status_code == 422
        body = answer.json()
        assert body["reason"] == "Invalid"
        assert body["message"] == (
            'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
            "sendInitialEvents is forbidden for watch unless the WatchList feature gate is "
            "enabled")
        assert body["details"] == {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [{
            "reason": "FieldValueForbidden", "field": "sendInitialEvents",
            "message": "Forbidden: sendInitialEvents is forbidden for watch unless the "
                       "WatchList feature gate is enabled"}]}


def test_too_old_resource_version_is_an_error_event(k: RawKube, kube_server: ApiServer) -> None:
    rv = k.create(CM, configmap("a"))["metadata"]["resourceVersion"]
    k.create(CM, configmap("b"))
    kube_server.faults.compact()
    events = k.events(resourceVersion=rv)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"].startswith(f"too old resource version: {rv} (")


def test_history_is_bounded() -> None:
    with ApiServer(history_size=5) as server:
        k = RawKube(server)
        rv = k.create(CM, configmap("a"))["metadata"]["resourceVersion"]
        for i in range(10):
            k.create(CM, configmap(f"n{i}"))
        assert k.events(resourceVersion=rv)[0]["type"] == "ERROR"


def test_selectors_turn_changes_into_added_and_deleted(k: RawKube) -> None:
    rv = k.create(CM, configmap("a", labels={"tier": "web"}))["metadata"]["resourceVersion"]
    patch = {"Content-Type": "application/merge-patch+json"}
    k.s.patch(k.url + CM + "/a", json={"metadata": {"labels": {"tier": "db"}}}, headers=patch)
    k.s.patch(k.url + CM + "/a", json={"metadata": {"labels": {"tier": "web"}}}, headers=patch)
    k.create(CM, configmap("b", labels={"tier": "db"}))
    events = k.events(resourceVersion=rv, labelSelector="tier=web", timeoutSeconds="1")
    assert summary(events) == [("DELETED", "a"), ("ADDED", "a")]
    named = k.events(resourceVersion=rv, fieldSelector="metadata.name=b", timeoutSeconds="1")
    assert summary(named) == [("ADDED", "b")]


def test_namespace_scope_and_legacy_watch_path(k: RawKube) -> None:
    rv = k.create(CM, configmap("here"))["metadata"]["resourceVersion"]
    k.s.post(k.url + "/api/v1/namespaces", json={"metadata": {"name": "there"}})
    k.s.post(k.url + "/api/v1/namespaces/there/configmaps", json={"metadata": {"name": "x"}})
    assert summary(k.events(resourceVersion=str(int(rv) - 1), timeoutSeconds="1")) == [
        ("ADDED", "here")]
    everywhere = k.events("/api/v1/configmaps", resourceVersion=rv, timeoutSeconds="1")
    assert summary(everywhere) == [("ADDED", "kube-root-ca.crt"), ("ADDED", "x")]
    legacy = k.s.get(k.url + "/api/v1/watch/namespaces/default/configmaps",
                     params={"resourceVersion": str(int(rv) - 1), "timeoutSeconds": "1"})
    assert [json.loads(x)["type"] for x in legacy.text.splitlines()] == ["ADDED"]


def test_close_watches_ends_streams(k: RawKube, kube_server: ApiServer) -> None:
    done = threading.Event()
    got: list[Any] = []

    def watch() -> None:
        got.extend(k.events(timeoutSeconds="30"))
        done.set()

    rv = k.create(CM, configmap("a"))["metadata"]["resourceVersion"]
    thread = threading.Thread(target=watch)
    thread.start()
    while not kube_server.store.watchers:
        done.wait(0.01)
    assert kube_server.faults.close_watches() == 1
    thread.join(timeout=10)
    assert done.is_set()
    assert summary(got) == [("ADDED", "a")]
    assert rv


def test_watch_as_table_and_metadata(k: RawKube) -> None:
    rv = k.create(CM, configmap("a"))["metadata"]["resourceVersion"]
    k.create(CM, configmap("b"))
    answer = k.s.get(k.url + CM, params={"watch": "true", "resourceVersion": rv,
                                         "timeoutSeconds": "1"},
                     headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    event = json.loads(answer.text.splitlines()[0])
    assert event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][0] == "b"
    answer = k.s.get(k.url + CM, params={"watch": "true", "resourceVersion": rv,
                                         "timeoutSeconds": "1"},
                     headers={"Accept": "application/json;as=PartialObjectMetadata;v=v1;"
                                        "g=meta.k8s.io"})
    assert json.loads(answer.text.splitlines()[0])["object"]["kind"] == "PartialObjectMetadata"


def test_stopping_the_server_ends_watches() -> None:
    server = ApiServer().start()
    k = RawKube(server)
    with k.stream(timeoutSeconds="60", resourceVersion=server.store.rv) as answer:
        server.stop()
        assert list(lines(answer)) == []


def test_concurrent_writers_are_seen_in_order(k: RawKube) -> None:
    start = k.create(CM, configmap("start"))["metadata"]["resourceVersion"]

    def write(n: int) -> None:
        s = requests.Session()
        s.trust_env = False
        s.headers["Authorization"] = f"Bearer {k.server.token}"
        for i in range(25):
            s.post(k.url + CM, json={"metadata": {"name": f"w-{n}-{i}"}})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = k.events(resourceVersion=start, timeoutSeconds="1")
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert len(events) == 100 and {e["type"] for e in events} == {"ADDED"}
    assert versions == sorted(versions) and len(set(versions)) == 100


def _open_watchers(server: ApiServer) -> int:
    with server.store.lock:
        return len(server.store.watchers)


def test_watch_of_a_client_that_went_away_is_removed(kube_server: ApiServer) -> None:
    """An idle watch (no events, no bookmarks) notices its client closed the connection instead
    of holding its watcher and thread until ``timeoutSeconds`` (30 minutes by default)."""
    import socket

    host, port = kube_server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET {CM}?watch=true HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {kube_server.token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200")
    assert _open_watchers(kube_server) == 1
    sock.close()
    gone = threading.Event()
    for _ in range(200):  # the watch checks about once a second; give it ten
        if _open_watchers(kube_server) == 0:
            gone.set()
            break
        gone.wait(0.05)
    assert gone.is_set()


@pytest.mark.parametrize("value", ["x", "nan", "1e999", "1.5", "99999999999999999999"])
def test_bad_timeout_seconds_is_a_bad_request(k: RawKube, kube_server: ApiServer,
                                              value: str) -> None:
    answer = k.s.get(k.url + CM, params={"watch": "true", "timeoutSeconds": value}, timeout=10)
    assert answer.status_code == 400
    body = answer.json()
    assert body["reason"] == "BadRequest"
    assert body["message"].startswith(f'strconv.ParseInt: parsing "{value}": ')
    assert _open_watchers(kube_server) == 0


def test_a_watch_that_falls_too_far_behind_is_closed() -> None:
    """A client that stops reading does not make the server buffer events without end."""
    from dynakube.apiserver.storage.store import ObjectStore, storage_key

    store = ObjectStore(watch_buffer=3)
    slow, _ = store.watch("configmaps", None, lambda event: True)
    other, _ = store.watch("secrets", None, lambda event: True)
    for n in range(10):
        store.put("configmaps", storage_key("default", f"c{n}"),
                  {"metadata": {"name": f"c{n}", "resourceVersion": str(store.next_rv())}})
    assert slow.closed.is_set() and slow not in store.watchers
    assert not other.closed.is_set() and other in store.watchers
    events = slow.take(0)
    assert events is not None
    assert [e.obj["metadata"]["name"] for e in events] == ["c0", "c1", "c2"]  # what it had
    assert slow.take(0) is None  # then the end of the stream


def test_watchers_of_one_group_share_one_verdict_per_event() -> None:
    """The store asks a group's first watcher whether it accepts an event, once, and hands
    the event to every member; other groups and buckets are asked on their own."""
    from dynakube.apiserver.storage.store import ObjectStore, storage_key

    store = ObjectStore()
    asked: list[str] = []

    def accept(label: str, wanted: bool) -> Any:
        def check(event: Any) -> bool:
            asked.append(label)
            return wanted
        return check

    shared = [store.watch("configmaps", None, accept("shared", True), "scope-a")[0]
              for _ in range(5)]
    refused, _ = store.watch("configmaps", None, accept("refused", False), "scope-b")
    alone, _ = store.watch("configmaps", None, accept("alone", True))
    other, _ = store.watch("secrets", None, accept("other", True), "scope-a")
    for n in range(3):
        store.put("configmaps", storage_key("default", f"c{n}"),
                  {"metadata": {"name": f"c{n}", "resourceVersion": str(store.next_rv())}})
    assert sorted(asked) == sorted(["shared", "refused", "alone"] * 3)
    for w in [*shared, alone]:
        taken = w.take(0)
        assert taken is not None and [e.key for e in taken] == [
            "/default/c0", "/default/c1", "/default/c2"]
    assert refused.take(0) == [] and other.take(0) == []
    for w in shared[:4]:
        store.unwatch(w)
    store.put("configmaps", storage_key("default", "c3"),
              {"metadata": {"name": "c3", "resourceVersion": str(store.next_rv())}})
    last = shared[4].take(0)
    assert last is not None and [e.key for e in last] == ["/default/c3"]
    assert store.close_watches() == 4 and not store.watchers


def test_request_log_keeps_the_newest_entries() -> None:
    from dynakube.apiserver.server import LoggedRequest, RequestLog

    log = RequestLog(limit=3)
    for n in range(5):
        log.add(LoggedRequest("GET", f"/p{n}", "", 200, "ua"))
    assert [r.path for r in log] == ["/p2", "/p3", "/p4"]
    assert len(log) == 3 and log.count(prefix="/p") == 3


def test_zero_timeout_seconds_means_the_default(k: RawKube) -> None:
    """As on kube-apiserver, ``timeoutSeconds=0`` is no timeout of the caller's own: the watch
    stays open and delivers events instead of ending at once."""
    with k.stream(timeoutSeconds="0", resourceVersion="0") as answer:
        assert answer.status_code == 200
        k.create(CM, configmap("late"))
        event = next(e for e in lines(answer) if e["object"]["metadata"]["name"] == "late")
        assert event["type"] == "ADDED"
