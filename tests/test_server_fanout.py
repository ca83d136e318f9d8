"""Watch fan-out of the embedded server: many watchers over the real wire, each seeing every
event in order, with selectors and two API versions of one stored resource; a stalled watcher
is closed without holding up writes or the other watchers."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from rawhttp import CM, RawKube, configmap

from dynakube.testing import ApiServer

CORE_EVENTS = "/api/v1/namespaces/default/events"
NEW_EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
Seen = list[tuple[str, str, str]]  # (type, name, resourceVersion)


def _raw(server: ApiServer) -> RawKube:
    """A raw client whose pool keeps every open watch's connection."""
    k = RawKube(server)
    k.s.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    return k


def _watchers(server: ApiServer) -> int:
    with server.store.lock:
        return len(server.store.watchers)


def _read_until(answer: requests.Response, last: str, out: list[dict[str, Any]]) -> None:
    """Collect events until the one naming ``last`` (or the stream's own timeout)."""
    for line in answer.iter_lines():
        if not line:
            continue
        event = json.loads(line)
        out.append(event)
        if event["object"]["metadata"].get("name") == last:
            return


def _wait_for_watchers(server: ApiServer, count: int) -> None:
    ready = threading.Event()
    for _ in range(400):  # bounded: at most 20 s
        if _watchers(server) >= count:
            ready.set()
            break
        ready.wait(0.05)
    assert ready.is_set(), f"only {_watchers(server)} of {count} watches opened"


def _summary(events: list[dict[str, Any]]) -> Seen:
    return [(e["type"], e["object"]["metadata"]["name"],
             e["object"]["metadata"]["resourceVersion"]) for e in events]


def _event(name: str, message: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": "target"},
            "reason": "Burst", "message": message, "type": "Normal"}


def test_twenty_watchers_each_get_every_event_in_order(kube_server: ApiServer) -> None:
    k = _raw(kube_server)
    assert k("DELETE", CM + "/kube-root-ca.crt").status_code == 200
    start = k.get(CM).json()["metadata"]["resourceVersion"]
    plain: list[list[dict[str, Any]]] = [[] for _ in range(10)]
    picked: list[list[dict[str, Any]]] = [[] for _ in range(10)]
    answers: list[requests.Response] = []
    threads = []
    for index in range(20):
        params = {"resourceVersion": start, "timeoutSeconds": "60"}
        if index % 2:
            params["labelSelector"] = "tier=a"
        answer = k.stream(**params)
        assert answer.status_code == 200
        answers.append(answer)
        out = picked[index // 2] if index % 2 else plain[index // 2]
        threads.append(threading.Thread(target=_read_until, args=(answer, "zz-end", out)))
    for thread in threads:
        thread.start()
    _wait_for_watchers(kube_server, 20)

    every: Seen = []
    tier_a: Seen = []
    for n in range(40):
        tier = "a" if n % 3 == 0 else "b"
        made = k.create(CM, configmap(f"c{n:02d}", labels={"tier": tier}))
        seen = ("ADDED", f"c{n:02d}", made["metadata"]["resourceVersion"])
        every.append(seen)
        if tier == "a":
            tier_a.append(seen)
    # moving c01 into the selection is ADDED for the selective watchers, MODIFIED for the rest
    moved = k.s.patch(k.url + CM + "/c01", json={"metadata": {"labels": {"tier": "a"}}},
                      headers={"Content-Type": "application/merge-patch+json"}).json()
    every.append(("MODIFIED", "c01", moved["metadata"]["resourceVersion"]))
    tier_a.append(("ADDED", "c01", moved["metadata"]["resourceVersion"]))
    assert k("DELETE", CM + "/c00").status_code == 200
    every.append(("DELETED", "c00", "?"))  # its resourceVersion is only on the event
    tier_a.append(("DELETED", "c00", "?"))
    end = k.create(CM, configmap("zz-end", labels={"tier": "a"}))
    every.append(("ADDED", "zz-end", end["metadata"]["resourceVersion"]))
    tier_a.append(("ADDED", "zz-end", end["metadata"]["resourceVersion"]))

    for thread in threads:
        thread.join(60)
    for answer in answers:
        answer.close()
    for events in plain + picked:
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        assert rvs == sorted(set(rvs))  # in order, none twice
    deleted = [e for e in plain[0] if e["type"] == "DELETED"][0]["object"]["metadata"]
    for expected in (every, tier_a):
        expected[-2] = ("DELETED", "c00", deleted["resourceVersion"])
    assert all(_summary(events) == every for events in plain)
    assert all(_summary(events) == tier_a for events in picked)
    assert all(e["object"]["apiVersion"] == "v1" and e["object"]["kind"] == "ConfigMap"
               for events in plain + picked for e in events)


def test_both_event_versions_watching_get_their_own_shape(kube_server: ApiServer) -> None:
    """core/v1 and events.k8s.io/v1 watch one stored resource; each event is encoded once per
    version, and neither version's watchers see the other's bytes."""
    k = _raw(kube_server)
    start = k.get(CORE_EVENTS).json()["metadata"]["resourceVersion"]
    seen: dict[str, list[list[dict[str, Any]]]] = {CORE_EVENTS: [], NEW_EVENTS: []}
    answers, threads = [], []
    for path in (CORE_EVENTS, NEW_EVENTS) * 4:
        answer = k.stream(path, resourceVersion=start, timeoutSeconds="60")
        assert answer.status_code == 200
        answers.append(answer)
        out: list[dict[str, Any]] = []
        seen[path].append(out)
        threads.append(threading.Thread(target=_read_until, args=(answer, "zz-end", out)))
    for thread in threads:
        thread.start()
    _wait_for_watchers(kube_server, 8)

    names = [f"e{n:02d}" for n in range(25)] + ["zz-end"]
    rvs = [k.create(CORE_EVENTS, _event(name, f"note {name}"))["metadata"]["resourceVersion"]
           for name in names]
    for thread in threads:
        thread.join(60)
    for answer in answers:
        answer.close()

    expected = [("ADDED", name, rv) for name, rv in zip(names, rvs, strict=True)]
    for events in seen[CORE_EVENTS]:
        assert _summary(events) == expected
        assert all(e["object"]["apiVersion"] == "v1" and
                   e["object"]["message"] == "note " + e["object"]["metadata"]["name"] and
                   "note" not in e["object"] for e in events)
    for events in seen[NEW_EVENTS]:
        assert _summary(events) == expected
        assert all(e["object"]["apiVersion"] == "events.k8s.io/v1" and
                   e["object"]["note"] == "note " + e["object"]["metadata"]["name"] and
                   "message" not in e["object"] for e in events)
    # one encoding per version, shared by the four watchers of each
    with kube_server.store.lock:
        stored = [e for e in kube_server.store.history
                  if e.bucket.endswith("events") and e.obj["metadata"]["name"] in names]
    assert len(stored) == len(names)
    assert all(len(e.wire) == 2 for e in stored)


def test_a_stalled_watcher_is_closed_without_holding_up_writes(kube_server: ApiServer) -> None:
    """A client that stops reading fills its socket; its buffer stays bounded, it is closed,
    and the writes and the other watcher carry on."""
    k = _raw(kube_server)
    kube_server.store.watch_buffer = 25  # a reading client never lags this far; a stalled one does
    start = k.get(CM).json()["metadata"]["resourceVersion"]
    stalled = k.stream(resourceVersion=start, timeoutSeconds="60")
    live = k.stream(resourceVersion=start, timeoutSeconds="60")
    got: list[dict[str, Any]] = []
    reader = threading.Thread(target=_read_until, args=(live, "zz-end", got))
    reader.start()
    _wait_for_watchers(kube_server, 2)
    big = "x" * 200_000  # a few of these fill any socket buffer of a client that is not reading
    names = [f"big{n:02d}" for n in range(60)] + ["zz-end"]
    for name in names:
        k.create(CM, configmap(name, {"blob": big}))
    reader.join(60)
    live.close()
    assert [e["object"]["metadata"]["name"] for e in got if e["type"] == "ADDED"
            and e["object"]["metadata"]["name"] in names] == names
    assert _watchers(kube_server) <= 1  # the stalled one was dropped
    late: list[dict[str, Any]] = []
    _read_until(stalled, "zz-end", late)  # what it had, then the end of its stream
    stalled.close()
    assert 0 < len(late) < len(names)
    assert [e["object"]["metadata"]["name"] for e in late] == names[:len(late)]
