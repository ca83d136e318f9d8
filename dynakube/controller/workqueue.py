"""A rate-limited work queue for controllers, with client-go's ``workqueue`` semantics.

Informer handlers should only enqueue keys; workers take keys from the queue and reconcile.
The queue makes that safe: a key waiting is never queued twice (bursts of events collapse),
a key being processed is never handed to a second worker (if it is added meanwhile it comes
back after :meth:`WorkQueue.done`), failures are retried with per-item exponential backoff
(:meth:`WorkQueue.add_rate_limited`), and :meth:`WorkQueue.shutdown` ends the workers.

Typical worker::

    for key in queue:              # ends when the queue is shut down
        try:
            reconcile(key)
            queue.forget(key)      # success: reset its backoff
        except Exception:
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Protocol

from ..errors import DynakubeError, InvalidArgumentError
from ..transport.ratelimit import TokenBucket

__all__ = [
    "BucketRateLimiter",
    "ItemExponentialRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "ShutDownError",
    "WorkQueue",
    "default_rate_limiter",
]


class ShutDownError(DynakubeError):
    """The queue was shut down and holds nothing more to process."""


class RateLimiter(Protocol):
    """How long an item must wait before it is retried (client-go's ``RateLimiter``)."""

    def when(self, item: Hashable) -> float: ...
    def forget(self, item: Hashable) -> None: ...
    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialRateLimiter:
    """``base * 2**failures`` per item, capped at ``maximum``; :meth:`forget` resets it."""

    def __init__(self, base: float = 0.005, maximum: float = 1000.0):
        if base <= 0 or maximum < base:
            raise InvalidArgumentError("need 0 < base <= maximum for the backoff")
        self.base, self.maximum = base, maximum
        self._failures: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def when(self, item: Hashable) -> float:
        with self._lock:
            failures = self._failures.get(item, 0)
            self._failures[item] = failures + 1
        if failures >= 64:  # 2**64 overflows any sensible cap
            return self.maximum
        return min(self.base * 2 ** failures, self.maximum)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)


class BucketRateLimiter:
    """An overall token bucket (``qps``, ``burst``): limits retries of all items together.

    The bucket is the transport's own (:class:`~dynakube.transport.ratelimit.TokenBucket`):
    a retry reserves a token and waits in the queue, not in a sleep.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100,
                 clock: Callable[[], float] = time.monotonic):
        if qps <= 0 or burst < 1:
            raise InvalidArgumentError("need qps > 0 and burst >= 1")
        self.qps, self.burst = qps, burst
        self._bucket = TokenBucket(qps, burst, clock=clock)

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait of several limiters (client-go's default combines two)."""

    def __init__(self, *limiters: RateLimiter):
        if not limiters:
            raise InvalidArgumentError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_rate_limiter() -> RateLimiter:
    """client-go's default: 5ms doubling to 1000s per item, and 10 qps / 100 burst overall."""
    return MaxOfRateLimiter(ItemExponentialRateLimiter(0.005, 1000.0), BucketRateLimiter(10, 100))


class WorkQueue:
    """De-duplicating FIFO with processing-set semantics, delays and rate-limited retries."""

    def __init__(self, rate_limiter: RateLimiter | None = None, *,
                 clock: Callable[[], float] = time.monotonic):
        self.rate_limiter = rate_limiter or default_rate_limiter()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiting: dict[Hashable, float] = {}  # item -> when it is ready
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._shutting_down = False

    # -- adding ---------------------------------------------------------------------------
    def add(self, item: Hashable) -> None:
        """Queue ``item`` unless it is already waiting; if it is being processed, it is
        queued again when :meth:`done` is called for it. Ignored after shutdown."""
        with self._cond:
            self._add(item)

    def _add(self, item: Hashable) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._cond.notify()

    def add_after(self, item: Hashable, delay: float) -> None:
        """Queue ``item`` after ``delay`` seconds (at once when ``delay <= 0``); an item
        already waiting keeps the earlier of its two ready times."""
        with self._cond:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add(item)
                return
            ready = self._clock() + delay
            current = self._waiting.get(item)
            if current is not None and current <= ready:
                return
            self._waiting[item] = ready
            heapq.heappush(self._heap, (ready, next(self._seq), item))
            self._cond.notify()

    def add_rate_limited(self, item: Hashable) -> None:
        """Queue ``item`` after the rate limiter's delay (per-item exponential backoff)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: Hashable) -> None:
        """The item succeeded: reset its backoff (it stays queued if it is)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        """How many rate-limited retries ``item`` had since it was last forgotten."""
        return self.rate_limiter.num_requeues(item)

    # -- taking ---------------------------------------------------------------------------
    def _promote(self) -> float | None:
        """Move ready delayed items to the queue; seconds until the next one, or None."""
        now = self._clock()
        while self._heap:
            ready, _, item = self._heap[0]
            if self._waiting.get(item) != ready:  # superseded by an earlier add_after
                heapq.heappop(self._heap)
                continue
            if ready > now:
                return ready - now
            heapq.heappop(self._heap)
            del self._waiting[item]
            self._add(item)
        return None

    def get(self, timeout: float | None = None) -> Hashable:
        """The next item, marked as being processed (call :meth:`done` when finished).

        Blocks until one is ready; raises :class:`ShutDownError` once the queue is shut down
        and empty, ``TimeoutError`` after ``timeout`` seconds without an item.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                next_ready = None if self._shutting_down else self._promote()
                if self._queue:
                    item = self._queue.popleft()
                    self._processing.add(item)
                    self._dirty.discard(item)
                    return item
                if self._shutting_down:
                    raise ShutDownError("the work queue is shut down")
                wait = next_ready
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no work item within {timeout} seconds")
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def __iter__(self) -> Iterator[Hashable]:
        """Items until shutdown; remember to call :meth:`done` for each."""
        while True:
            try:
                yield self.get()
            except ShutDownError:
                return

    def done(self, item: Hashable) -> None:
        """Processing of ``item`` finished; if it was added meanwhile, it is queued again."""
        with self._cond:
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
            self._cond.notify_all()

    # -- state and shutdown ----------------------------------------------------------------
    def __len__(self) -> int:
        """Items ready to be taken (not those waiting for a delay, nor being processed)."""
        with self._cond:
            if not self._shutting_down:
                self._promote()
            return len(self._queue)

    @property
    def processing(self) -> int:
        """Items handed out by :meth:`get` whose :meth:`done` has not been called yet."""
        with self._cond:
            return len(self._processing)

    @property
    def waiting(self) -> int:
        """Items waiting for their delay to pass."""
        with self._cond:
            return len(self._waiting)

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def shutdown(self, *, drain: bool = False, timeout: float | None = None) -> bool:
        """Stop accepting items and wake every :meth:`get`; delayed items are dropped.

        Items already queued are still handed out. With ``drain``, wait (up to ``timeout``)
        until every item being processed is done; returns False if that timed out.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._shutting_down = True
            self._waiting.clear()
            self._heap.clear()
            self._cond.notify_all()
            if not drain:
                return True
            while self._processing or self._queue:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True
