"""Informers against the embedded server while it drops watches, compacts and fails requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_informer import Recorder, versions, wait_until
from test_watch_server import NS, PATH, Saboteur, churn, watch_requests

from dynakube.client import Client, Resource
from dynakube.controller.informer import DeletedFinalStateUnknown, Informer
from dynakube.controller.leaderelection import LeaderElector, LeaseRecord
from dynakube.request import ApiRequest
from dynakube.testing import ApiServer
from dynakube.watch import Backoff, Watch


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer() as api:
        yield api


class GatedWatches:
    """A ListerWatcher over a Resource whose watch requests wait while ``gate`` is clear.

    It lets the test hold the informer's reconnects back while writes happen and are
    compacted away, so that resuming deterministically meets ``410 Gone``.
    """

    def __init__(self, resource: Resource):
        self.resource = resource
        self.gate = threading.Event()
        self.gate.set()
        self._transport = resource.client.transport

    def list(self, namespace: Any = None, /, **kw: Any) -> dict[str, Any]:
        return self.resource.list(namespace, **kw)

    def watch(self, namespace: Any = None, /, **kw: Any) -> Watch:
        watch = self.resource.watch(namespace, **kw)
        watch.transport = self
        return watch

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        if stream:
            self.gate.wait(30)
        return self._transport.send(request, stream=stream, read_timeout=read_timeout)


def list_requests(server: ApiServer) -> int:
    return sum(1 for r in server.requests if r.path == PATH and r.method == "GET"
               and "watch=true" not in r.query)


def fresh(kube: Client) -> dict[str, tuple[str, str]]:
    """The server's state, read across namespaces so the informer's request counts stay."""
    items = kube.resource("configmaps").list(all_namespaces=True)["items"]
    return versions(o for o in items if o["metadata"]["namespace"] == NS)


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list-watch"])
def test_informer_converges_through_closes_compaction_and_errors(
        server: ApiServer, watch_list: bool) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    for i in range(10):
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"pre{i}"}}, NS)
    gated = GatedWatches(cms)
    informer = Informer(gated, namespace=NS, watch_list=watch_list, page_size=7,
                        backoff=Backoff(0.01, 0.2))
    rec = Recorder()
    rec.register(informer)
    with informer:
        assert informer.wait_for_sync(60)
        assert versions(informer.store.list()) == fresh(kube)
        with Saboteur(server, compact=True, gate=gated.gate) as saboteur:
            churn(cms, 700, seed=2)
        assert wait_until(lambda: versions(informer.store.list()) == fresh(kube))
        assert informer.flush(60)
        relists = informer.reflector.relists
    expected = fresh(kube)
    assert versions(informer.store.list()) == expected
    assert versions(rec.state.values()) == expected  # handlers saw each final state
    live_uids = {uid for uid, _ in expected.values()}
    for gone in rec.deleted:  # nothing reported deleted that exists
        final = gone.object if isinstance(gone, DeletedFinalStateUnknown) else gone
        assert final["metadata"]["uid"] not in live_uids
    assert saboteur.compactions >= 2
    # the 410s forced relists; compactions while already away share one
    assert 2 <= relists - 1 <= saboteur.compactions
    # bounded: a few requests per fault, no tight loops
    faults = saboteur.closes + saboteur.failures + saboteur.compactions
    assert watch_requests(server) <= faults + 5
    pages = 2 if watch_list else 3  # 10 objects and up to 30 more, in pages of 7
    assert list_requests(server) <= (relists + saboteur.failures) * (pages + 3)
    assert informer.reflector.watch_list is watch_list


def test_refused_watch_list_falls_back_on_an_older_server() -> None:
    with ApiServer(watch_list=False) as server:
        kube = Client(server.config(), validate=False)
        cms = kube.resource("configmaps")
        cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}, NS)
        informer = Informer(cms, namespace=NS, backoff=Backoff(0.01, 0.2))
        with informer:
            assert informer.wait_for_sync(60)
            cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}, NS)
            assert wait_until(lambda: f"{NS}/b" in informer.store)
            assert versions(informer.store.list()) == fresh(kube)
        assert informer.reflector.watch_list is False
        refused = [r for r in server.requests if "sendInitialEvents=true" in r.query]
        assert [r.status for r in refused] == [422]
        assert list_requests(server) == 1


def test_client_informer_with_handlers_and_indexes(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    cms = kube.resource("configmaps")
    present = [o["metadata"]["name"] for o in cms.list(NS)["items"]]  # kube-root-ca.crt
    informer = kube.informer("configmaps", NS)
    informer.store.add_indexer("app", lambda o: [
        v for k, v in (o["metadata"].get("labels") or {}).items() if k == "app"])
    added = threading.Event()
    names: list[str] = []

    def on_add(obj: dict[str, Any]) -> None:
        names.append(obj["metadata"]["name"])
        if obj["metadata"]["name"] == "web":
            added.set()

    informer.add_handler(on_add=on_add)
    with informer:
        assert informer.wait_for_sync(60)
        cms.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "web", "labels": {"app": "shop"}}}, NS)
        assert added.wait(60)
        assert [o["metadata"]["name"] for o in informer.store.by_index("app", "shop")] == ["web"]
    assert sorted(names) == sorted([*present, "web"])


def test_leader_election_on_a_real_lease(server: ApiServer) -> None:
    kube = Client(server.config(), validate=False)
    leases = kube.resource("leases")
    started = {"a": threading.Event(), "b": threading.Event()}

    def elector(identity: str) -> LeaderElector:
        # generous lease timings: a slow renewal on a loaded machine must not hand over
        return LeaderElector(leases, "ctrl", NS, identity, lease_duration=15.0,
                             renew_deadline=10.0, retry_period=0.1,
                             on_started_leading=lambda over: started[identity].set())

    a, b = elector("a"), elector("b")
    a.start()
    assert started["a"].wait(60)
    b.start()
    assert wait_until(lambda: b.leader == "a")
    assert not b.is_leader and not started["b"].is_set()
    a.stop()  # releases: b takes over without waiting out the lease
    assert started["b"].wait(60)
    record = LeaseRecord.from_lease(leases.get("ctrl", NS))
    assert record.holder_identity == "b" and record.lease_transitions == 1
    b.stop()
    assert LeaseRecord.from_lease(leases.get("ctrl", NS)).holder_identity == ""
