"""The asyncio watch against the embedded server and the fault proxy: nothing lost, nothing
twice, through closes, injected 429/500s, cut and corrupted streams, compaction and resets."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from faultproxy import FaultProxy
from test_watch_server import NS, PATH, Saboteur, churn, watch_requests

from dynakube.aio import AsyncClient, AsyncResource, AsyncWatch
from dynakube.client import Client
from dynakube.errors import GoneError, ResourceVersionTooLargeError
from dynakube.testing import ApiServer
from dynakube.watch import Backoff, WatchEvent

pytestmark = pytest.mark.asyncio


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer(bookmark_interval=0.5) as api:
        yield api


@pytest_asyncio.fixture
async def aio(server: ApiServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.config(), validate=False) as kube:
        yield kube


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``condition`` on the loop; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
            "data": data}


async def collect(watch: AsyncWatch, into: list[WatchEvent]) -> None:
    async for event in watch:
        into.append(event)


async def test_every_version_once_despite_closes_and_errors(server: ApiServer,
                                                            aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    start = int((await cms.list(NS, limit=1))["metadata"]["resourceVersion"])
    watch = AsyncWatch(aio.transport, PATH, resource_version=str(start),
                       backoff=Backoff(0.01, 0.2))
    events: list[WatchEvent] = []
    consumer = asyncio.create_task(collect(watch, events))
    writer = Client(server.config(), validate=False)
    with Saboteur(server) as saboteur:
        await asyncio.to_thread(churn, writer.resource("configmaps"), 600, 1)
    final = server.store.rv
    assert await until(lambda: bool(events) and int(events[-1].resource_version or 0) >= final)
    watch.stop()
    await asyncio.wait_for(consumer, 30)
    versions = [int(e.resource_version or 0) for e in events]
    assert versions == list(range(start + 1, final + 1))  # never twice, never skipped
    assert saboteur.closes >= 5
    assert watch_requests(server) <= saboteur.closes + saboteur.failures + 5
    state: dict[str, str] = {}
    for e in events:
        name = e.object["metadata"]["name"]
        if e.type == "DELETED":
            state.pop(name)
        else:
            state[name] = e.object["metadata"]["resourceVersion"]
    listed = [o for o in (await cms.list(NS))["items"] if o["metadata"]["name"].startswith("cm")]
    assert state == {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed}
    writer.close()


async def test_compaction_while_away_raises_gone(server: ApiServer, aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    start = (await cms.list(NS, limit=1))["metadata"]["resourceVersion"]
    await cms.create(cm("a"))
    server.faults.compact()
    with pytest.raises(GoneError) as caught:
        await cms.watch(NS, resource_version=start).__anext__()
    assert caught.value.code == 410 and caught.value.reason == "Expired"


async def test_from_now_with_bookmarks_and_a_total_timeout(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    await cms.create(cm("old"))
    watch = cms.watch(NS, bookmarks=True, timeout=3.0)
    seen: list[WatchEvent] = []
    consumer = asyncio.create_task(collect(watch, seen))
    assert await until(lambda: watch.resource_version is not None)
    created = await cms.create(cm("new"))
    await asyncio.wait_for(consumer, 30)  # the total timeout ends it
    assert [e.object["metadata"]["name"] for e in seen if e.type != "BOOKMARK"] == ["new"]
    bookmarks = [e for e in seen if e.type == "BOOKMARK"]
    assert bookmarks and watch.resource_version == bookmarks[-1].resource_version
    assert int(watch.resource_version or 0) >= int(created["metadata"]["resourceVersion"])


async def test_initial_events_end_with_a_bookmark(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    for name in ("a", "b"):
        await cms.create(cm(name))
    seen: list[WatchEvent] = []
    async with cms.watch(NS, send_initial_events=True, bookmarks=True, timeout=30) as watch:
        async for event in watch:
            seen.append(event)
            if event.ends_initial_events:
                break
    names = sorted(e.object["metadata"]["name"] for e in seen if e.type == "ADDED")
    assert names == ["a", "b", "kube-root-ca.crt"]
    assert seen[-1].type == "BOOKMARK"


@dataclasses.dataclass
class Rig:
    proxy: FaultProxy
    kube: AsyncClient  # through the proxy
    direct: Client


@pytest_asyncio.fixture
async def rig(server: ApiServer) -> AsyncIterator[Rig]:
    proxy = FaultProxy(server.url).start()
    config = dataclasses.replace(server.config(), server=proxy.url)
    async with AsyncClient(config, validate=False) as kube:
        yield Rig(proxy, kube, Client(server.config(), validate=False))
    proxy.stop()


@pytest.mark.parametrize("fault", ["truncate", "corrupt", "segment"])
async def test_cut_corrupt_or_split_streams_resume_without_loss(rig: Rig, fault: str) -> None:
    cms: AsyncResource = await rig.kube.resource("configmaps")
    start = (await cms.list(NS))["metadata"]["resourceVersion"]
    writes = rig.direct.resource("configmaps")
    made = [writes.create(cm(f"t{i}", v=str(i))) for i in range(12)]
    if fault == "truncate":
        rig.proxy.cut_watches(nbytes=700)
    elif fault == "corrupt":
        rig.proxy.corrupt_watches(every=900)
    else:
        rig.proxy.segment(1)
    watch = cms.watch(NS, resource_version=start, timeout=120)
    watch.backoff = Backoff(0.01, 0.05)
    got: list[WatchEvent] = []
    async with watch:
        async for event in watch:
            got.append(event)
            if len(got) == 12:
                break
    assert [e.object["metadata"]["resourceVersion"] for e in got] == \
        [o["metadata"]["resourceVersion"] for o in made]
    if fault != "segment":
        assert watch.requests >= 2


async def test_a_server_restarted_empty_is_not_followed_blindly(server: ApiServer,
                                                               rig: Rig) -> None:
    writes = rig.direct.resource("configmaps")
    for i in range(10):
        writes.create(cm(f"old{i}"))
    cms = await rig.kube.resource("configmaps")
    start = (await cms.list(NS))["metadata"]["resourceVersion"]
    watch = cms.watch(NS, resource_version=start, timeout=60)
    watch.backoff = Backoff(0.01, 0.05)
    seen: list[WatchEvent] = []
    consumer = asyncio.create_task(collect(watch, seen))
    assert await until(lambda: watch.requests >= 1)
    fresh = ApiServer(token=server.token, bookmark_interval=0.5).start()
    try:
        rig.proxy.switch_upstream(fresh.url)
        with Client(fresh.config(), validate=False) as new:
            for i in range(3):
                new.resource("configmaps").create(cm(f"new{i}"))
        with pytest.raises(ResourceVersionTooLargeError):
            await asyncio.wait_for(consumer, 60)
    finally:
        fresh.stop()
    assert seen == []


async def test_stop_and_cancel_close_the_stream_at_once(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    watch = cms.watch(NS)
    task = asyncio.create_task(collect(watch, []))
    transport: Any = aio.transport
    assert await until(lambda: watch.requests >= 1 and transport.open_connections >= 1)
    opened = transport.open_connections
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport.open_connections == opened - 1
    second = cms.watch(NS)
    task = asyncio.create_task(collect(second, []))
    assert await until(lambda: second.requests >= 1)
    second.stop()
    await asyncio.wait_for(task, 5)  # ends cleanly, without waiting for the server


def client_threads() -> set[str]:
    """Threads of this process that are not the embedded server's (it serves each
    connection on a thread of its own)."""
    return {t.name for t in threading.enumerate() if "process_request" not in t.name}


async def test_many_watches_share_one_thread(aio: AsyncClient) -> None:
    cms = await aio.resource("configmaps")
    start = (await cms.list(NS, limit=1))["metadata"]["resourceVersion"]
    before = client_threads()
    watches = [cms.watch(NS, resource_version=start) for _ in range(50)]
    tasks = [asyncio.create_task(collect(w, [])) for w in watches]
    # alive_at is set once the server answered (requests counts attempts, before connecting)
    assert await until(lambda: all(w.alive_at is not None for w in watches))
    assert aio.transport.open_connections >= 50  # type: ignore[attr-defined]
    assert client_threads() - before <= {"asyncio_0"}  # at most the loop's resolver thread
    for w in watches:
        w.stop()
    await asyncio.gather(*tasks)
