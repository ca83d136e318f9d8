"""A plain Watch against the embedded server while it misbehaves: nothing lost, nothing twice."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from watchfakes import wait_until

from dynakube.client import Client, Resource
from dynakube.errors import GoneError, ServerError, TooManyRequestsError
from dynakube.request import resource_path
from dynakube.testing import ApiServer
from dynakube.watch import Backoff, Watch, WatchEvent

NS = "default"
PATH = resource_path("", "v1", "configmaps", namespace=NS)


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer() as api:
        yield api


def retrying(call: Callable[[], Any]) -> Any:
    """Writes hit the injected 429/500s too; those were never applied, so retry them."""
    for _ in range(50):
        try:
            return call()
        except (ServerError, TooManyRequestsError):
            time.sleep(0.005)
    raise AssertionError("a write kept failing")


def churn(cms: Resource, steps: int, seed: int, names: int = 30) -> None:
    """Creates, updates and deletes of ``names`` ConfigMaps, ``steps`` writes in all."""
    rng = random.Random(seed)
    live: dict[str, dict[str, Any]] = {}
    for step in range(steps):
        name = f"cm{rng.randrange(names)}"
        if name not in live:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": NS}, "data": {"step": str(step)}}
            live[name] = retrying(lambda: cms.create(body))  # noqa: B023
        elif rng.random() < 0.3:
            retrying(lambda: cms.delete(name, NS))  # noqa: B023
            del live[name]
        else:
            obj = dict(live[name], data={"step": str(step)})
            live[name] = retrying(lambda: cms.replace(obj))  # noqa: B023


class Saboteur:
    """Closes every watch every ``interval`` seconds; injects 500s and 429s now and then."""

    def __init__(self, server: ApiServer, interval: float = 0.15, compact: bool = False,
                 gate: threading.Event | None = None):
        self.server, self.interval, self.compact = server, interval, compact
        self.gate = gate  # cleared while compacting: holds the client's reconnects back
        self.closes = self.failures = self.compactions = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rounds = 0
        while not self._stop.wait(self.interval):
            rounds += 1
            if self.compact and rounds % 4 == 0:
                self._compact_while_away()
                continue
            self.server.faults.close_watches()
            self.closes += 1
            if rounds % 3 == 0:
                self.server.faults.fail_next(1, 500)
                self.server.faults.fail_next(1, 429, retry_after=0.01)
                self.failures += 2

    def _compact_while_away(self) -> None:
        """Disconnect the watches, let writes happen, compact them away, let them resume."""
        if self.gate is not None:
            self.gate.clear()
        before = self.server.store.rv
        self.server.faults.close_watches()
        self.closes += 1
        deadline = time.monotonic() + 5
        while self.server.store.rv < before + 3 and time.monotonic() < deadline:
            time.sleep(0.002)
        self.server.faults.compact()
        self.compactions += 1
        if self.gate is not None:
            self.gate.set()

    def __enter__(self) -> Saboteur:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.gate is not None:
            self.gate.set()


def watch_requests(server: ApiServer, path: str = PATH) -> int:
    return sum(1 for r in server.requests if r.path == path and "watch=true" in r.query)


def test_watch_sees_every_version_once_despite_closes_and_errors(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    start = int(cms.list(NS, limit=1)["metadata"]["resourceVersion"])
    watch = Watch(kube.transport, PATH, resource_version=str(start),
                  backoff=Backoff(0.01, 0.2))
    events: list[WatchEvent] = []
    consumer = threading.Thread(target=lambda: events.extend(watch), daemon=True)
    consumer.start()
    with Saboteur(server) as saboteur:
        churn(cms, 800, seed=1)
    final = server.store.rv
    assert wait_until(lambda: bool(events) and int(events[-1].resource_version or 0) >= final)
    watch.stop()
    consumer.join(30)
    assert not consumer.is_alive()

    versions = [int(e.resource_version or 0) for e in events]
    assert all(a < b for a, b in zip(versions, versions[1:], strict=False))  # never twice
    assert versions == list(range(start + 1, final + 1))  # never skipped
    assert {e.type for e in events} == {"ADDED", "MODIFIED", "DELETED"}
    # resuming costs one request per close or injected failure, never a tight loop
    assert saboteur.closes >= 5
    assert watch_requests(server) <= saboteur.closes + saboteur.failures + 5
    assert watch.requests <= watch_requests(server)  # the transport's own retries add some

    # replaying the events gives exactly what a fresh list returns
    state: dict[str, str] = {}
    for e in events:
        name = e.object["metadata"]["name"]
        if e.type == "DELETED":
            state.pop(name)
        else:
            state[name] = e.object["metadata"]["resourceVersion"]
    listed = [o for o in cms.list(NS)["items"] if o["metadata"]["name"].startswith("cm")]
    assert state == {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed}


def test_compaction_while_away_raises_gone(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    start = cms.list(NS, limit=1)["metadata"]["resourceVersion"]
    cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, NS)
    server.faults.compact()
    watch = cms.watch(NS, resource_version=start)
    with pytest.raises(GoneError) as caught:
        next(watch)
    assert caught.value.code == 410 and caught.value.reason == "Expired"


def test_watch_from_now_bookmarks_and_total_timeout() -> None:
    with ApiServer(bookmark_interval=0.1) as server:
        kube = Client(server.config(), validate=False)
        cms = kube.resource("configmaps")
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}}, NS)
        # the total timeout must outlast a list and a create on a loaded machine
        watch = cms.watch(NS, bookmarks=True, timeout=4.0)
        seen: list[WatchEvent] = []
        consumer = threading.Thread(target=lambda: seen.extend(watch), daemon=True)
        consumer.start()
        assert wait_until(lambda: watch.resource_version is not None)
        created = cms.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "new"}}, NS)
        consumer.join(60)
        assert not consumer.is_alive()  # the total timeout ended it
    names = [e.object["metadata"].get("name") for e in seen if e.type != "BOOKMARK"]
    assert names == ["new"]  # no synthetic ADDED for what existed before
    bookmarks = [e for e in seen if e.type == "BOOKMARK"]
    assert bookmarks and watch.resource_version == bookmarks[-1].resource_version
    assert int(watch.resource_version or 0) >= int(created["metadata"]["resourceVersion"])


def test_bookmarks_are_not_yielded_unless_asked() -> None:
    with ApiServer(bookmark_interval=0.05) as server:
        kube = Client(server.config(), validate=False)
        cms = kube.resource("configmaps")
        start = cms.list(NS, limit=1)["metadata"]["resourceVersion"]
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, NS)
        watch = cms.watch(NS, resource_version=start, timeout=2.0)  # time to connect
        assert [e.type for e in watch] == ["ADDED"]


def test_send_initial_events_from_the_server(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    for name in ("a", "b"):
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}, NS)
    present = sorted(o["metadata"]["name"] for o in cms.list(NS)["items"])  # kube-root-ca.crt
    assert {"a", "b"} <= set(present)
    watch = cms.watch(NS, send_initial_events=True, bookmarks=True)
    first = [next(watch) for _ in range(len(present) + 1)]
    watch.stop()
    assert [e.type for e in first] == ["ADDED"] * len(present) + ["BOOKMARK"]
    assert sorted(e.object["metadata"]["name"] for e in first[:-1]) == present
    annotations = first[-1].object["metadata"]["annotations"]
    assert annotations == {"k8s.io/initial-events-end": "true"}
    assert watch.resource_version == first[-1].resource_version


def test_stop_from_another_thread_is_prompt(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    start = cms.list(NS, limit=1)["metadata"]["resourceVersion"]
    cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, NS)
    watch = cms.watch(NS, resource_version=start)
    seen: list[WatchEvent] = []
    ended = threading.Event()

    def consume() -> None:
        for event in watch:
            seen.append(event)
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    assert wait_until(lambda: len(seen) == 1)  # now blocked reading the live stream
    watch.stop()
    assert ended.wait(30)
    assert watch_requests(server) == 1


def test_stop_ends_an_idle_watch(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    watch = kube.resource("configmaps").watch(NS)
    ended = threading.Event()
    threading.Thread(target=lambda: (list(watch), ended.set()), daemon=True).start()
    assert wait_until(lambda: watch_requests(server) == 1)  # connected, or about to be
    watch.stop()
    assert ended.wait(30)
