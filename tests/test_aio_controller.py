"""The asyncio work queue, and leader election on a real Lease of the embedded server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable

import pytest

from dynakube.aio import AsyncClient, AsyncLeaderElector, AsyncWorkQueue
from dynakube.controller.leaderelection import LeaseRecord
from dynakube.controller.workqueue import ItemExponentialRateLimiter, ShutDownError
from dynakube.errors import InvalidArgumentError

pytestmark = pytest.mark.asyncio


async def test_queue_collapses_duplicates_and_never_hands_a_key_to_two_workers() -> None:
    queue = AsyncWorkQueue()
    for key in ("a", "b", "a", "a"):
        queue.add(key)
    assert len(queue) == 2
    first = await queue.get()
    queue.add(first)  # added while processing: comes back after done()
    assert await queue.get() == "b"
    with pytest.raises(TimeoutError):
        await queue.get(timeout=0.05)
    queue.done(first)
    assert await queue.get(timeout=1) == first
    assert queue.processing == 2


async def test_a_waiting_worker_wakes_for_a_delayed_and_a_rate_limited_item() -> None:
    queue = AsyncWorkQueue(ItemExponentialRateLimiter(base=0.05, maximum=1.0))
    started = time.monotonic()
    queue.add_after("later", 0.1)
    assert queue.waiting == 1
    assert await queue.get(timeout=5) == "later"
    assert time.monotonic() - started >= 0.09
    queue.done("later")
    queue.add_rate_limited("retry")
    queue.add_rate_limited("retry")
    assert queue.num_requeues("retry") == 2
    assert await queue.get(timeout=5) == "retry"
    queue.forget("retry")
    assert queue.num_requeues("retry") == 0


async def test_workers_drain_then_shutdown_ends_them() -> None:
    queue = AsyncWorkQueue()
    handled: list[Hashable] = []

    async def worker() -> None:
        async for key in queue:
            await asyncio.sleep(0.01)
            handled.append(key)
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    for i in range(20):
        queue.add(i)
    assert await queue.shutdown(drain=True, timeout=10)
    await asyncio.wait_for(asyncio.gather(*workers), 5)
    assert sorted(handled) == list(range(20))  # type: ignore[type-var]
    queue.add("ignored")
    with pytest.raises(ShutDownError):
        await queue.get()


async def test_leader_election_hands_over_a_real_lease(async_kube: AsyncClient) -> None:
    leases = await async_kube.resource("leases")
    started = {"a": asyncio.Event(), "b": asyncio.Event()}
    stopped: list[str] = []

    def elector(identity: str) -> AsyncLeaderElector:
        async def lead(over: asyncio.Event) -> None:
            started[identity].set()
            await over.wait()

        return AsyncLeaderElector(leases, "ctrl", "default", identity, lease_duration=15.0,
                                  renew_deadline=10.0, retry_period=0.1,
                                  on_started_leading=lead,
                                  on_stopped_leading=lambda: stopped.append(identity))

    a, b = elector("a"), elector("b")
    a.start()
    await asyncio.wait_for(started["a"].wait(), 60)
    assert a.is_leader
    b.start()
    deadline = time.monotonic() + 30
    while b.leader != "a" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert b.leader == "a" and not b.is_leader
    await a.stop()  # releases: b takes over without waiting out the lease
    await asyncio.wait_for(started["b"].wait(), 60)
    record = LeaseRecord.from_lease(await leases.get("ctrl"))
    assert record.holder_identity == "b" and record.lease_transitions == 1
    await b.stop()
    assert LeaseRecord.from_lease(await leases.get("ctrl")).holder_identity == ""
    assert stopped == ["a", "b"]


async def test_leader_election_checks_its_timings(async_kube: AsyncClient) -> None:
    leases = await async_kube.resource("leases")
    with pytest.raises(InvalidArgumentError, match="lease_duration"):
        AsyncLeaderElector(leases, "x", "default", "me", lease_duration=1, renew_deadline=2)
