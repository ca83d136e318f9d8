"""The asyncio informer against the embedded server while it drops watches, compacts its
history and fails requests, and behind a fault proxy: its store ends equal to a fresh list."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from faultproxy import FaultProxy
from test_informer import versions
from test_watch_server import NS, PATH, Saboteur, churn, watch_requests

from dynakube.aio import AsyncClient, AsyncInformer, AsyncResource
from dynakube.aio.watch import AsyncWatch
from dynakube.client import Client
from dynakube.controller.informer import DeletedFinalStateUnknown
from dynakube.request import ApiRequest
from dynakube.testing import ApiServer
from dynakube.watch import Backoff

pytestmark = pytest.mark.asyncio


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


def fresh(kube: Client) -> dict[str, tuple[str, str]]:
    items = kube.resource("configmaps").list(all_namespaces=True)["items"]
    return versions(o for o in items if o["metadata"]["namespace"] == NS)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS}}


class Recorder:
    """Async handlers keeping the last state per key as the handlers saw it."""

    def __init__(self) -> None:
        self.state: dict[str, dict[str, Any]] = {}
        self.deleted: list[Any] = []

    @staticmethod
    def key(obj: dict[str, Any]) -> str:
        return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"

    async def on_add(self, obj: dict[str, Any]) -> None:
        self.state[self.key(obj)] = obj

    async def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.state[self.key(new)] = new

    def on_delete(self, obj: Any) -> None:  # a plain function works too
        final = obj.object if isinstance(obj, DeletedFinalStateUnknown) else obj
        self.deleted.append(obj)
        self.state.pop(self.key(final), None)


class GatedWatches:
    """An AsyncResource whose watch requests wait while ``gate`` is clear, so that the
    informer resumes only after writes were compacted away (and meets 410 Gone)."""

    def __init__(self, resource: AsyncResource):
        self.resource = resource
        self.info = resource.info
        self.gate = threading.Event()
        self.gate.set()

    async def list(self, namespace: Any = None, **kw: Any) -> dict[str, Any]:
        return await self.resource.list(namespace, **kw)

    def watch(self, namespace: Any = None, **kw: Any) -> AsyncWatch:
        watch = self.resource.watch(namespace, **kw)
        watch.transport = self
        return watch

    async def send(self, request: ApiRequest, *, stream: bool = False,
                   read_timeout: float | None = None) -> Any:
        if stream:
            await asyncio.to_thread(self.gate.wait, 30)
        return await self.resource.client.transport.send(request, stream=stream,
                                                         read_timeout=read_timeout)


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list-watch"])
async def test_converges_through_closes_compaction_and_injected_errors(watch_list: bool) -> None:
    with ApiServer() as server, Client(server.config(), validate=False) as kube:
        cms = kube.resource("configmaps")
        for i in range(10):
            cms.create(cm(f"pre{i}"))
        async with AsyncClient(server.config(), validate=False) as aio:
            gated = GatedWatches(await aio.resource("configmaps"))
            informer = AsyncInformer(gated, namespace=NS, watch_list=watch_list,  # type: ignore[arg-type]
                                     page_size=7, backoff=Backoff(0.01, 0.2))
            rec = Recorder()
            informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
            async with informer:
                assert await informer.wait_for_sync(60)
                assert versions(informer.store.list()) == fresh(kube)
                with Saboteur(server, compact=True, gate=gated.gate) as saboteur:
                    await asyncio.to_thread(churn, cms, 500, 2)
                assert await until(lambda: versions(informer.store.list()) == fresh(kube))
                await asyncio.wait_for(informer.flush(), 60)
                relists = informer.relists
        expected = fresh(kube)
        assert versions(informer.store.list()) == expected
        assert versions(rec.state.values()) == expected  # handlers saw each final state
        live = {uid for uid, _ in expected.values()}
        for gone in rec.deleted:
            final = gone.object if isinstance(gone, DeletedFinalStateUnknown) else gone
            assert final["metadata"]["uid"] not in live
        assert saboteur.compactions >= 2
        assert 2 <= relists - 1 <= saboteur.compactions  # the 410s forced relists
        faults = saboteur.closes + saboteur.failures + saboteur.compactions
        assert watch_requests(server) <= faults + 5  # no tight loops
        assert informer.watch_list is watch_list


async def test_refused_watch_list_falls_back_on_an_older_server() -> None:
    with ApiServer(watch_list=False) as server:
        async with AsyncClient(server.config(), validate=False) as aio:
            cms = await aio.resource("configmaps")
            await cms.create(cm("a"))
            async with await aio.informer(cms, NS) as informer:
                assert await informer.wait_for_sync(60)
                await cms.create(cm("b"))
                assert await until(lambda: f"{NS}/b" in informer.store)
            assert informer.watch_list is False
        refused = [r for r in server.requests if "sendInitialEvents=true" in r.query]
        assert [r.status for r in refused] == [422]


async def test_cut_watches_and_a_restarted_empty_server_behind_a_proxy() -> None:
    server = ApiServer(bookmark_interval=0.5).start()
    proxy = FaultProxy(server.url).start()
    fresh_server: ApiServer | None = None
    try:
        config = dataclasses.replace(server.config(), server=proxy.url)
        async with AsyncClient(config, validate=False) as aio:
            informer = AsyncInformer(await aio.resource("configmaps"), namespace=NS,
                                     backoff=Backoff(0.05, 0.3))
            rec = Recorder()
            informer.add_handler(rec.on_add, rec.on_update, rec.on_delete)
            with Client(server.config(), validate=False) as direct:
                writes = direct.resource("configmaps")
                for i in range(5):
                    writes.create(cm(f"old{i}"))
                async with informer:
                    assert await informer.wait_for_sync(60)
                    proxy.cut_watches(chunks=2)  # every stream: headers, one event, cut
                    for i in range(20):
                        writes.create(cm(f"cut{i}"))
                        await asyncio.sleep(0.02)
                    assert await until(lambda: versions(informer.store.list()) == fresh(direct))
                    proxy.heal()
                    relists = informer.relists
                    fresh_server = ApiServer(token=server.token, bookmark_interval=0.5).start()
                    proxy.switch_upstream(fresh_server.url)
                    with Client(fresh_server.config(), validate=False) as new:
                        new.resource("configmaps").create(cm("new0"))
                        assert await until(
                            lambda: versions(informer.store.list()) == fresh(new))
                    await asyncio.wait_for(informer.flush(), 30)
        keys = set(informer.store.keys())
        assert f"{NS}/new0" in keys and not any("/old" in k or "/cut" in k for k in keys)
        assert informer.relists > relists
        gone = {d.key for d in rec.deleted if isinstance(d, DeletedFinalStateUnknown)}
        assert {f"{NS}/old{i}" for i in range(5)} <= gone
        assert proxy.count(watch=True, path=PATH) >= 3
    finally:
        proxy.stop()
        server.stop()
        if fresh_server is not None:
            fresh_server.stop()


async def test_handlers_indexes_resync_and_stop(async_kube: AsyncClient) -> None:
    cms = await async_kube.resource("configmaps")
    informer = await async_kube.informer("configmaps", NS, resync_period=0.2, indexers={
        "app": lambda o: [v for k, v in (o["metadata"].get("labels") or {}).items()
                          if k == "app"]})
    resyncs: list[str] = []

    async def on_update(old: dict[str, Any], new: dict[str, Any]) -> None:
        if old is new:
            resyncs.append(new["metadata"]["name"])

    informer.add_handler(on_update=on_update)
    async with informer:
        assert await informer.wait_for_sync(60)
        await cms.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "web", "labels": {"app": "shop"}}})
        assert await until(lambda: bool(informer.store.by_index("app", "shop")))
        assert await until(lambda: "web" in resyncs)
        late = Recorder()
        informer.add_handler(on_add=late.on_add)  # added late: gets the contents first
        await asyncio.wait_for(informer.flush(), 30)
        assert f"{NS}/web" in late.state
    assert all(task.done() for task in informer._tasks)
