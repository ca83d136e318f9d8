"""What the batched decoding of a watch-list's initial events must keep.

The initial ADDED events are decoded many lines per ``json.loads`` (with the collector
paused) to sync at the cost of a plain list. These tests pin what that must not change:
every event arrives, in order; a bad line is refused as before; the store equals a fresh
list after a sync and after a relist; and it is what makes the objects share key strings.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_informer import versions, wait_until
from test_informer_server import GatedWatches
from watchfakes import FakeResponse, FakeTransport, bookmark, cm, line, quick_backoff

from dynakube.client import Client, Resource
from dynakube.controller.informer import Informer
from dynakube.errors import TransportError
from dynakube.testing import ApiServer
from dynakube.watch import Backoff, Watch, WatchEvent

NS = "default"
PATH = "/api/v1/namespaces/default/configmaps"
MANY = 1_234  # more than two batches, the last one partial
ON_SERVER = 600  # one whole batch and a partial one


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer() as api:
        yield api


def configmap(i: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:05d}", "labels": {"app": "decoding", "n": str(i)}},
            "data": {"config.yaml": f"value {i}", "mode": "fast"}}


def populate(cms: Resource, n: int) -> None:
    for i in range(n):
        cms.create(configmap(i), NS)


def key_string(d: dict[str, Any], name: str) -> str:
    """The key object itself that ``d`` holds for ``name`` (equal strings may differ)."""
    return next(k for k in d if k == name)


def fresh_objects(cms: Resource) -> dict[str, dict[str, Any]]:
    """The server's objects as a fresh list gives them, with the kind filled in."""
    out = {}
    for item in cms.list(NS)["items"]:
        item.setdefault("kind", "ConfigMap")
        item.setdefault("apiVersion", "v1")
        out[f"{NS}/{item['metadata']['name']}"] = item
    return out


def stored(informer: Informer) -> dict[str, dict[str, Any]]:
    return {informer.store.key(o): o for o in informer.store.list()}


# -- pure: scripted streams -----------------------------------------------------------------
def test_many_initial_events_arrive_in_order_across_batches() -> None:
    lines = [line("ADDED", cm(f"o{i:05d}", 10 + i)) for i in range(MANY)]
    transport = FakeTransport(FakeResponse([
        *lines, line("BOOKMARK", bookmark(MANY + 10, end=True)),
        line("MODIFIED", cm("o00000", MANY + 11)), line("DELETED", cm("o00001", MANY + 12))]))
    w = Watch(transport, PATH, send_initial_events=True, bookmarks=True)
    got = [next(w) for _ in range(MANY + 3)]
    w.stop()
    assert [(e.type, e.object["metadata"]["name"]) for e in got[:MANY]] == \
        [("ADDED", f"o{i:05d}") for i in range(MANY)]
    assert got[MANY].ends_initial_events
    assert [(e.type, e.resource_version) for e in got[MANY + 1:]] == \
        [("MODIFIED", str(MANY + 11)), ("DELETED", str(MANY + 12))]
    assert w.resource_version == str(MANY + 12)


def test_a_line_holding_two_events_is_refused_inside_a_batch() -> None:
    # One line with two JSON values would decode as two events inside a JSON array; it must
    # be refused as decode_event refuses it, after the good lines before it were delivered.
    double = line("ADDED", cm("b", 8)) + b", " + line("ADDED", cm("c", 9))
    transport = FakeTransport(FakeResponse([
        line("ADDED", cm("a", 7)), double, line("BOOKMARK", bookmark(9, end=True))]))
    w = Watch(transport, PATH, send_initial_events=True, backoff=quick_backoff(),
              initial_attempts=1)
    assert next(w).object["metadata"]["name"] == "a"
    with pytest.raises(TransportError, match="broke off 1 times") as caught:
        next(w)
    assert "undecodable watch event" in str(caught.value.__cause__)


@pytest.mark.parametrize("enabled", [True, False], ids=["gc-enabled", "gc-disabled"])
def test_the_collector_is_left_as_it_was(enabled: bool) -> None:
    lines = [line("ADDED", cm(f"o{i}", 10 + i)) for i in range(600)]
    transport = FakeTransport(FakeResponse([*lines, line("BOOKMARK", bookmark(700, end=True))]))
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with Watch(transport, PATH, send_initial_events=True, bookmarks=True) as w:
            events = [next(w) for _ in range(601)]
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert events[-1].ends_initial_events


# -- the real wire --------------------------------------------------------------------------
def test_objects_of_one_sync_share_their_key_strings(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    populate(cms, 3)
    with Informer(cms, namespace=NS) as informer:
        assert informer.wait_for_sync(60)
        first, second = (informer.store.get(f"{NS}/cm-{i:05d}") for i in (0, 1))
    assert first is not None and second is not None
    assert key_string(first, "metadata") is key_string(second, "metadata")
    for name in ("name", "namespace", "labels", "resourceVersion", "uid"):
        assert key_string(first["metadata"], name) is key_string(second["metadata"], name)
    assert key_string(first["data"], "config.yaml") is key_string(second["data"], "config.yaml")


def test_every_event_is_delivered_in_order(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    populate(cms, ON_SERVER)
    listed = [o["metadata"]["name"] for o in cms.list(NS)["items"]]  # kube-root-ca.crt too
    watch = cms.watch(NS, send_initial_events=True, bookmarks=True)
    initial: list[WatchEvent] = []
    for event in watch:
        initial.append(event)
        if event.ends_initial_events:
            break
    assert [e.type for e in initial] == ["ADDED"] * len(listed) + ["BOOKMARK"]
    assert [e.object["metadata"]["name"] for e in initial[:-1]] == listed
    live: list[WatchEvent] = []
    done = threading.Event()

    def consume() -> None:
        for event in watch:
            if event.type != "BOOKMARK":
                live.append(event)
            if len(live) == 3:
                done.set()
                return

    threading.Thread(target=consume, daemon=True).start()
    cms.create(configmap(ON_SERVER), NS)
    cms.patch(f"cm-{ON_SERVER:05d}", {"data": {"mode": "slow"}}, NS)
    cms.delete(f"cm-{ON_SERVER:05d}", NS)
    assert done.wait(30)
    watch.stop()
    assert [e.type for e in live] == ["ADDED", "MODIFIED", "DELETED"]
    rvs = [int(e.resource_version or 0) for e in live]
    assert rvs == sorted(rvs) and rvs[0] > int(initial[-1].resource_version or 0)


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list-watch"])
def test_the_store_equals_a_fresh_list_after_a_sync_and_after_a_relist(
        server: ApiServer, watch_list: bool) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    populate(cms, ON_SERVER)
    gated = GatedWatches(cms)
    informer = Informer(gated, namespace=NS, watch_list=watch_list, backoff=Backoff(0.01, 0.2))
    with informer:
        assert informer.wait_for_sync(60)
        assert stored(informer) == fresh_objects(cms)
        # Away from the server while objects change, then compacted: resuming meets 410
        gated.gate.clear()
        server.faults.close_watches()
        cms.create(configmap(ON_SERVER), NS)
        cms.patch("cm-00005", {"data": {"mode": "slow"}}, NS)
        cms.delete("cm-00007", NS)
        server.faults.compact()
        gated.gate.set()
        assert wait_until(lambda: informer.reflector.relists >= 2)
        assert wait_until(lambda: versions(informer.store.list()) == versions(
            fresh_objects(cms).values()))
        assert stored(informer) == fresh_objects(cms)
    assert informer.reflector.watch_list is watch_list
