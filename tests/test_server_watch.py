"""Watch streams of the embedded server: resume, bookmarks, watch-list, compaction, faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from dynakube.testing import ApiServer

CM = "/api/v1/namespaces/default/configmaps"


class Kube:
    def __init__(self, server: ApiServer):
        self.server = server
        self.url = server.url
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.headers["Authorization"] = f"Bearer {server.token}"

    def post(self, name: str, **labels: str) -> dict[str, Any]:
        answer = self.s.post(self.url + CM, json={"metadata": {"name": name, "labels": labels}})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def stream(self, path: str = CM, **params: Any) -> requests.Response:
        params.setdefault("timeoutSeconds", "5")
        answer = self.s.get(self.url + path, params={"watch": "true", **params}, stream=True,
                            timeout=10)
        return answer

    def events(self, path: str = CM, **params: Any) -> list[dict[str, Any]]:
        with self.stream(path, **params) as answer:
            assert answer.status_code == 200, answer.text
            return [json.loads(line) for line in answer.iter_lines() if line]


@pytest.fixture
def k(kube_server: ApiServer) -> Kube:
    return Kube(kube_server)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(e["type"], e["object"]["metadata"].get("name")) for e in events]


def lines(answer: requests.Response) -> Iterator[dict[str, Any]]:
    for line in answer.iter_lines():
        if line:
            yield json.loads(line)


def test_resume_from_resource_version(k: Kube) -> None:
    start = k.post("a")["metadata"]["resourceVersion"]
    k.post("b")
    k.s.patch(k.url + CM + "/a", json={"data": {"x": "1"}},
              headers={"Content-Type": "application/merge-patch+json"})
    k.s.delete(k.url + CM + "/b")
    events = k.events(resourceVersion=start, timeoutSeconds="1")
    assert summary(events) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert events[0]["object"]["apiVersion"] == "v1"
    assert events[0]["object"]["kind"] == "ConfigMap"
    deleted_rv = int(events[2]["object"]["metadata"]["resourceVersion"])
    assert deleted_rv > int(events[1]["object"]["metadata"]["resourceVersion"])


def test_live_events_and_timeout_bookmark(k: Kube) -> None:
    with k.stream(resourceVersion=k.post("first")["metadata"]["resourceVersion"],
                  allowWatchBookmarks="true", timeoutSeconds="2") as answer:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Transfer-Encoding"] == "chunked"
        events = lines(answer)
        k.post("second")
        assert summary([next(events)]) == [("ADDED", "second")]
        rest = list(events)
    assert rest[-1]["type"] == "BOOKMARK"
    assert rest[-1]["object"] == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
        "resourceVersion": rest[-1]["object"]["metadata"]["resourceVersion"]}}


def test_watch_without_resource_version_starts_with_the_state(k: Kube) -> None:
    k.post("a")
    k.post("b")
    assert summary(k.events(timeoutSeconds="1")) == [("ADDED", "a"), ("ADDED", "b")]
    assert summary(k.events(timeoutSeconds="1", resourceVersion="0")) == [("ADDED", "a"),
                                                                        ("ADDED", "b")]


def test_send_initial_events(k: Kube) -> None:
    k.post("a")
    rv = k.post("b")["metadata"]["resourceVersion"]
    events = k.events(sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                      allowWatchBookmarks="true", timeoutSeconds="1")
    assert summary(events[:2]) == [("ADDED", "a"), ("ADDED", "b")]
    marker = events[2]
    assert marker["type"] == "BOOKMARK"
    assert marker["object"]["metadata"] == {"annotations": {"k8s.io/initial-events-end": "true"},
                                            "resourceVersion": rv}


def test_send_initial_events_needs_resource_version_match(k: Kube) -> None:
    answer = k.stream(sendInitialEvents="true")
    assert answer.status_code == 422
    assert answer.json()["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")


def test_watch_list_switched_off_refuses_like_an_older_server() -> None:
    with ApiServer(watch_list=False) as server:
        answer = Kube(server).stream(sendInitialEvents="true",
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


def test_too_old_resource_version_is_an_error_event(k: Kube, kube_server: ApiServer) -> None:
    rv = k.post("a")["metadata"]["resourceVersion"]
    k.post("b")
    kube_server.faults.compact()
    events = k.events(resourceVersion=rv)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert status["message"].startswith(f"too old resource version: {rv} (")


def test_history_is_bounded() -> None:
    with ApiServer(history_size=5) as server:
        k = Kube(server)
        rv = k.post("a")["metadata"]["resourceVersion"]
        for i in range(10):
            k.post(f"n{i}")
        assert k.events(resourceVersion=rv)[0]["type"] == "ERROR"


def test_selectors_turn_changes_into_added_and_deleted(k: Kube) -> None:
    rv = k.post("a", tier="web")["metadata"]["resourceVersion"]
    patch = {"Content-Type": "application/merge-patch+json"}
    k.s.patch(k.url + CM + "/a", json={"metadata": {"labels": {"tier": "db"}}}, headers=patch)
    k.s.patch(k.url + CM + "/a", json={"metadata": {"labels": {"tier": "web"}}}, headers=patch)
    k.post("b", tier="db")
    events = k.events(resourceVersion=rv, labelSelector="tier=web", timeoutSeconds="1")
    assert summary(events) == [("DELETED", "a"), ("ADDED", "a")]
    named = k.events(resourceVersion=rv, fieldSelector="metadata.name=b", timeoutSeconds="1")
    assert summary(named) == [("ADDED", "b")]


def test_namespace_scope_and_legacy_watch_path(k: Kube) -> None:
    rv = k.post("here")["metadata"]["resourceVersion"]
    k.s.post(k.url + "/api/v1/namespaces", json={"metadata": {"name": "there"}})
    k.s.post(k.url + "/api/v1/namespaces/there/configmaps", json={"metadata": {"name": "x"}})
    assert summary(k.events(resourceVersion=str(int(rv) - 1), timeoutSeconds="1")) == [
        ("ADDED", "here")]
    everywhere = k.events("/api/v1/configmaps", resourceVersion=rv, timeoutSeconds="1")
    assert summary(everywhere) == [("ADDED", "x")]
    legacy = k.s.get(k.url + "/api/v1/watch/namespaces/default/configmaps",
                     params={"resourceVersion": str(int(rv) - 1), "timeoutSeconds": "1"})
    assert [json.loads(x)["type"] for x in legacy.text.splitlines()] == ["ADDED"]


def test_close_watches_ends_streams(k: Kube, kube_server: ApiServer) -> None:
    done = threading.Event()
    got: list[Any] = []

    def watch() -> None:
        got.extend(k.events(timeoutSeconds="30"))
        done.set()

    rv = k.post("a")["metadata"]["resourceVersion"]
    thread = threading.Thread(target=watch)
    thread.start()
    while not kube_server.store.watchers:
        done.wait(0.01)
    assert kube_server.faults.close_watches() == 1
    thread.join(timeout=10)
    assert done.is_set()
    assert summary(got) == [("ADDED", "a")]
    assert rv


def test_watch_as_table_and_metadata(k: Kube) -> None:
    rv = k.post("a")["metadata"]["resourceVersion"]
    k.post("b")
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
    k = Kube(server)
    with k.stream(timeoutSeconds="60") as answer:
        server.stop()
        assert list(lines(answer)) == []


def test_concurrent_writers_are_seen_in_order(k: Kube) -> None:
    start = k.post("start")["metadata"]["resourceVersion"]

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
