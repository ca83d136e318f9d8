"""The work queue: de-duplication, processing-set semantics, delays, backoff, shutdown."""

from __future__ import annotations

import threading
from collections.abc import Hashable

import pytest

from dynakube.controller.workqueue import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    ShutDownError,
    WorkQueue,
    default_rate_limiter,
)
from dynakube.errors import InvalidArgumentError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fifo_and_deduplication() -> None:
    q = WorkQueue()
    for item in ("a", "b", "a", "c", "b"):
        q.add(item)
    assert len(q) == 3
    assert [q.get(timeout=0), q.get(timeout=0), q.get(timeout=0)] == ["a", "b", "c"]
    with pytest.raises(TimeoutError):
        q.get(timeout=0)


def test_item_added_while_processing_comes_back_after_done() -> None:
    q = WorkQueue()
    q.add("a")
    assert q.get(timeout=0) == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0 and q.processing == 1  # never handed to a second worker
    q.done("a")
    assert len(q) == 1 and q.get(timeout=0) == "a"
    q.done("a")
    assert len(q) == 0 and q.processing == 0


def test_add_after_with_fake_clock_keeps_earliest_time() -> None:
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    q.add_after("x", 10)
    q.add_after("x", 5)
    q.add_after("x", 20)
    q.add_after("now", 0)
    assert q.get(timeout=0) == "now"
    assert q.waiting == 1
    with pytest.raises(TimeoutError):
        q.get(timeout=0)
    clock.now += 5
    assert len(q) == 1 and q.get(timeout=0) == "x"
    assert q.waiting == 0


def test_get_wakes_when_a_delay_passes() -> None:
    q = WorkQueue()
    q.add_after("later", 0.05)
    assert q.get(timeout=30) == "later"


def test_rate_limited_retries_back_off_per_item() -> None:
    limiter = ItemExponentialRateLimiter(0.01, 0.05)
    assert [limiter.when("a") for _ in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert limiter.when("b") == 0.01 and limiter.num_requeues("a") == 5
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0 and limiter.when("a") == 0.01
    clock = FakeClock()
    q = WorkQueue(ItemExponentialRateLimiter(1.0, 100.0), clock=clock)
    q.add_rate_limited("k")
    q.add_rate_limited("k")  # second failure: 2s, but the earlier ready time (1s) is kept
    assert q.num_requeues("k") == 2
    clock.now += 1
    assert q.get(timeout=0) == "k"
    q.forget("k")
    assert q.num_requeues("k") == 0
    with pytest.raises(InvalidArgumentError):
        ItemExponentialRateLimiter(0)


def test_bucket_and_max_of() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=2, burst=2, clock=clock)
    assert [bucket.when(i) for i in range(4)] == [0.0, 0.0, 0.5, 1.0]
    clock.now += 10
    assert bucket.when("x") == 0.0
    both = MaxOfRateLimiter(ItemExponentialRateLimiter(0.5, 10), BucketRateLimiter(100, 1, clock))
    assert both.when("a") == 0.5 and both.num_requeues("a") == 1
    both.forget("a")
    assert both.num_requeues("a") == 0
    assert default_rate_limiter().when("first") == 0.005


def test_shutdown_hands_out_queued_items_then_signals() -> None:
    q = WorkQueue()
    q.add("a")
    q.add_after("delayed", 100)
    q.shutdown()
    q.add("ignored")
    assert q.shutting_down and q.get(timeout=0) == "a"
    with pytest.raises(ShutDownError):
        q.get(timeout=0)


def test_shutdown_wakes_blocked_workers_and_drains() -> None:
    q = WorkQueue()
    results: list[Hashable] = []
    ended = threading.Event()

    def worker() -> None:
        for item in q:
            results.append(item)
            q.done(item)
        ended.set()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(50):
        q.add(i % 10)
    assert q.shutdown(drain=True, timeout=30)
    for t in threads:
        t.join(30)
    assert ended.is_set()
    assert set(results) == set(range(10))


def test_drain_waits_for_items_in_processing() -> None:
    q = WorkQueue()
    q.add("slow")
    assert q.get(timeout=0) == "slow"
    assert q.shutdown(drain=True, timeout=0.05) is False
    q.done("slow")
    assert q.shutdown(drain=True, timeout=5) is True


def test_concurrent_workers_never_share_an_item() -> None:
    q = WorkQueue()
    active: set[Hashable] = set()
    lock = threading.Lock()
    clashes: list[Hashable] = []
    counts: dict[Hashable, int] = {}

    def worker() -> None:
        for item in q:
            with lock:
                if item in active:
                    clashes.append(item)
                active.add(item)
                counts[item] = counts.get(item, 0) + 1
            threading.Event().wait(0.0005)
            with lock:
                active.discard(item)
            q.done(item)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(400):
        q.add(i % 5)
    q.shutdown(drain=True, timeout=60)
    for t in threads:
        t.join(60)
    assert clashes == []
    assert set(counts) == set(range(5))
