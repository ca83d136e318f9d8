"""Watches and informers behind a fault proxy: cuts, stalls, corruption, outages, resets.

The proxy (``faultproxy.FaultProxy``) sits on loopback between the client and a plain-HTTP
embedded server, apart from the server's own fault controls. Rate checks count requests in
a bounded window; every wait is bounded and only guards against a hang.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from faultproxy import FaultProxy
from watchfakes import wait_until

from dynakube.client import Client, Resource
from dynakube.controller.informer import DeletedFinalStateUnknown, Informer
from dynakube.errors import ResourceVersionTooLargeError
from dynakube.request import resource_path
from dynakube.testing import ApiServer
from dynakube.watch import Backoff, Watch, WatchEvent

NS = "default"
PATH = resource_path("", "v1", "configmaps", namespace=NS)


@dataclasses.dataclass
class Rig:
    """A server, a proxy in front of it, a client through the proxy and one straight to it."""

    server: ApiServer
    proxy: FaultProxy
    kube: Client  # through the proxy
    direct: Client  # to the server, for writes the faults must not touch

    @property
    def cms(self) -> Resource:
        return self.kube.resource("configmaps")

    def restart_empty(self) -> ApiServer:
        """A new server with an empty store (same token) takes over behind the proxy."""
        fresh = ApiServer(token=self.server.token, bookmark_interval=0.5).start()
        self.proxy.switch_upstream(fresh.url)
        self.server.stop()
        self.server = fresh
        self.direct.close()
        self.direct = Client(fresh.config(), validate=False)
        return fresh


def make_rig(server: ApiServer) -> tuple[FaultProxy, Client, Client]:
    proxy = FaultProxy(server.url).start()
    kube = Client(dataclasses.replace(server.config(), server=proxy.url), validate=False)
    return proxy, kube, Client(server.config(), validate=False)


@pytest.fixture
def rig() -> Iterator[Rig]:
    server = ApiServer(bookmark_interval=0.5).start()
    proxy, kube, direct = make_rig(server)
    r = Rig(server, proxy, kube, direct)
    try:
        yield r
    finally:
        r.kube.close()
        r.direct.close()
        proxy.stop()
        r.server.stop()


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
            "data": data}


def versions(objects: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {o["metadata"]["name"]: (o["metadata"]["uid"], o["metadata"]["resourceVersion"])
            for o in objects}


def fresh(kube: Client) -> dict[str, tuple[str, str]]:
    return versions(kube.resource("configmaps").list(NS)["items"])


def collect(watch: Watch, count: int) -> list[WatchEvent]:
    """``count`` non-bookmark events from ``watch`` (which must carry a total timeout)."""
    got: list[WatchEvent] = []
    for event in watch:
        got.append(event)
        if len(got) == count:
            break
    watch.stop()
    return got


# -- the real decoding path ---------------------------------------------------------------
def test_a_stream_split_into_single_bytes_decodes_the_same(rig: Rig) -> None:
    start = rig.cms.list(NS)["metadata"]["resourceVersion"]
    made = [rig.direct.resource("configmaps").create(cm(f"s{i}", v="x" * i)) for i in range(5)]
    rig.proxy.segment(1)
    got = collect(rig.cms.watch(NS, resource_version=start, timeout=60), 5)
    assert [(e.type, e.object["metadata"]["resourceVersion"]) for e in got] == \
        [("ADDED", o["metadata"]["resourceVersion"]) for o in made]
    assert got[-1].object["data"] == {"v": "xxxx"}


@pytest.mark.parametrize("fault", ["truncate", "corrupt"])
def test_truncated_or_corrupted_streams_resume_without_loss_or_repeats(
        rig: Rig, fault: str) -> None:
    start = rig.cms.list(NS)["metadata"]["resourceVersion"]
    writes = rig.direct.resource("configmaps")
    made = [writes.create(cm(f"t{i}", v=str(i))) for i in range(12)]
    if fault == "truncate":
        rig.proxy.cut_watches(nbytes=700)  # a few events, then a cut mid-line
    else:
        rig.proxy.corrupt_watches(every=900)  # a few events, then an undecodable byte
    watch = rig.cms.watch(NS, resource_version=start, timeout=120)
    watch.backoff = Backoff(0.01, 0.05)
    got = collect(watch, 12)
    assert [e.object["metadata"]["resourceVersion"] for e in got] == \
        [o["metadata"]["resourceVersion"] for o in made]
    assert (rig.proxy.cuts if fault == "truncate" else rig.proxy.corruptions) >= 1
    assert watch.requests >= 2


# -- item 2: no tight reconnect loop ---------------------------------------------------------
@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list-watch"])
def test_watches_cut_after_every_event_keep_a_bounded_request_rate(
        rig: Rig, watch_list: bool) -> None:
    writes = rig.direct.resource("configmaps")
    for i in range(3):
        writes.create(cm(f"pre{i}"))
    rig.proxy.cut_watches(chunks=2)  # the headers, one event, cut: each stream "delivers"
    informer = Informer(rig.cms, namespace=NS, watch_list=watch_list)  # client-go's backoff
    with informer:
        # A cut watch-list gives way to list + watch; the list is not cut, so it syncs.
        assert informer.wait_for_sync(60)
        errors = set()
        for i in range(120):  # ~6 s of writes, so every reconnect has an event waiting
            writes.create(cm(f"w{i}"))
            errors.add(type(informer.last_error).__name__)
            time.sleep(0.05)
        watches = rig.proxy.count(watch=True, path=PATH)
        lists = rig.proxy.count(watch=False, path=PATH)
    # 0.8 s doubling with jitter: a handful of reconnects in the window, not hundreds
    assert 2 <= watches <= 15, watches
    assert lists <= watches + 3  # a limit=1 list after each broken stream, a sync or two
    assert "TransportError" in errors  # the broken streams are visible while they last


def test_a_watch_list_that_keeps_breaking_off_falls_back_to_list_and_watch(rig: Rig) -> None:
    writes = rig.direct.resource("configmaps")
    for i in range(30):
        writes.create(cm(f"big{i}", v="x" * 200))
    rig.proxy.cut_watches(nbytes=3000)  # every stream breaks before the initial events end
    informer = Informer(rig.cms, namespace=NS, backoff=Backoff(0.05, 0.2))
    with informer:
        assert informer.wait_for_sync(60)
        assert versions(informer.store.list()) == fresh(rig.direct)
    assert rig.proxy.count(watch=False, path=PATH) >= 1  # it listed
    initial = [r for r in rig.proxy.requests if "sendInitialEvents=true" in r.target]
    assert 1 <= len(initial) <= 2 * 3  # at most two watch-list syncs of three attempts


# -- item 4: resourceVersions that go backwards -----------------------------------------------
def test_server_restarted_empty_makes_the_informer_relist(rig: Rig) -> None:
    writes = rig.direct.resource("configmaps")
    for i in range(12):
        obj = writes.create(cm(f"old{i}"))
        writes.patch(obj["metadata"]["name"], {"data": {"n": "1"}}, NS)
    deleted: list[Any] = []
    informer = Informer(rig.cms, namespace=NS, backoff=Backoff(0.05, 0.5))
    informer.add_handler(on_delete=deleted.append)
    with informer:
        assert informer.wait_for_sync(60)
        assert versions(informer.store.list()) == fresh(rig.direct)
        old = set(informer.store.keys())
        assert len(old) >= 12
        relists = informer.reflector.relists
        rig.restart_empty()
        new = rig.direct.resource("configmaps")
        for i in range(3):
            new.create(cm(f"new{i}"))
        assert wait_until(lambda: versions(informer.store.list()) == fresh(rig.direct))
        assert informer.flush(30)
    keys = set(informer.store.keys())
    assert {f"{NS}/new{i}" for i in range(3)} <= keys
    assert not any(k.startswith(f"{NS}/old") for k in keys)
    assert informer.reflector.relists > relists
    gone = {d.key for d in deleted if isinstance(d, DeletedFinalStateUnknown)}
    # all the old server had and the new one has not (and what it re-created, new uid)
    assert old - keys <= gone <= old


def test_a_plain_watch_raises_instead_of_missing_a_reset_servers_objects(rig: Rig) -> None:
    writes = rig.direct.resource("configmaps")
    for i in range(10):
        writes.create(cm(f"old{i}"))
    start = rig.cms.list(NS)["metadata"]["resourceVersion"]
    watch = rig.cms.watch(NS, resource_version=start, timeout=60)
    watch.backoff = Backoff(0.01, 0.05)
    outcome: list[BaseException] = []
    seen: list[WatchEvent] = []

    def consume() -> None:
        try:
            seen.extend(watch)
        except ResourceVersionTooLargeError as e:
            outcome.append(e)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    assert wait_until(lambda: watch.requests >= 1)
    rig.restart_empty()
    for i in range(3):
        rig.direct.resource("configmaps").create(cm(f"new{i}"))
    thread.join(60)
    watch.stop()
    assert outcome  # ResourceVersionTooLargeError: went backwards, or the server said so
    assert seen == []  # the new objects were neither delivered as if in order, nor skipped


# -- item 9: health ---------------------------------------------------------------------------
def test_an_outage_sets_last_error_and_recovery_clears_it(rig: Rig) -> None:
    informer = Informer(rig.cms, namespace=NS, backoff=Backoff(0.05, 0.5), read_timeout=2.0)
    with informer:
        assert informer.wait_for_sync(60)
        assert informer.last_error is None and informer.healthy()
        assert informer.last_event_time is not None
        rig.proxy.refuse()
        assert wait_until(lambda: informer.last_error is not None, 30)
        assert wait_until(lambda: not informer.healthy(max_silence=1.0), 30)
        rig.direct.resource("configmaps").create(cm("during"))
        rig.proxy.refuse(False)
        assert wait_until(lambda: f"{NS}/during" in informer.store, 60)
        assert wait_until(lambda: informer.last_error is None and informer.healthy(), 30)
    assert not informer.healthy()  # stopped


def test_a_silently_dead_connection_is_noticed_within_the_read_timeout(rig: Rig) -> None:
    # bookmarks every 0.5 s; the informer trusts a silent connection for 2 s
    informer = Informer(rig.cms, namespace=NS, backoff=Backoff(0.05, 0.5), read_timeout=2.0)
    with informer:
        assert informer.wait_for_sync(60)
        assert wait_until(lambda: rig.proxy.count(watch=True, path=PATH) >= 1)
        assert rig.proxy.stall() >= 1
        rig.direct.resource("configmaps").create(cm("after-stall"))
        assert wait_until(lambda: f"{NS}/after-stall" in informer.store, 60)
        assert informer.healthy()
    assert rig.proxy.count(watch=True, path=PATH) >= 2  # it reconnected
