"""The controller work queue on the event loop: :class:`~dynakube.controller.workqueue.WorkQueue`
semantics (de-duplication, one worker per key, delays, per-item backoff) with ``await get()``.

The bookkeeping is the sync queue's own, used through its non-blocking calls; only waiting
differs: a waiter sleeps on an :class:`asyncio.Event` that every change (and every delayed
item's ready time) sets, instead of on a thread condition.

Typical worker::

    async for key in queue:
        try:
            await reconcile(key)
            queue.forget(key)
        except Exception:
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Hashable

from ..controller.workqueue import RateLimiter, ShutDownError, WorkQueue

__all__ = ["AsyncWorkQueue", "ShutDownError"]


class AsyncWorkQueue:
    """A rate-limited, de-duplicating work queue for asyncio workers."""

    def __init__(self, rate_limiter: RateLimiter | None = None):
        self._queue = WorkQueue(rate_limiter)
        self.rate_limiter = self._queue.rate_limiter
        self._changed = asyncio.Event()

    def _wake(self) -> None:
        self._changed.set()

    # -- adding ---------------------------------------------------------------------------
    def add(self, item: Hashable) -> None:
        """Queue ``item`` unless it is already waiting (see :meth:`WorkQueue.add`)."""
        self._queue.add(item)
        self._wake()

    def add_after(self, item: Hashable, delay: float) -> None:
        """Queue ``item`` after ``delay`` seconds (call on the loop's thread)."""
        self._queue.add_after(item, delay)
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._wake)
        self._wake()

    def add_rate_limited(self, item: Hashable) -> None:
        """Queue ``item`` after the rate limiter's delay (per-item exponential backoff)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: Hashable) -> None:
        self._queue.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return self._queue.num_requeues(item)

    # -- taking ---------------------------------------------------------------------------
    async def get(self, timeout: float | None = None) -> Hashable:
        """The next item, marked as being processed (call :meth:`done` when finished);
        :class:`ShutDownError` once shut down and empty, ``TimeoutError`` after
        ``timeout`` seconds without an item."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._changed.clear()
            try:
                return self._queue.get(timeout=0)
            except TimeoutError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"no work item within {timeout} seconds")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                continue

    async def __aiter__(self) -> AsyncIterator[Hashable]:
        """Items until shutdown; remember to call :meth:`done` for each."""
        while True:
            try:
                yield await self.get()
            except ShutDownError:
                return

    def done(self, item: Hashable) -> None:
        """Processing of ``item`` finished; if it was added meanwhile, it is queued again."""
        self._queue.done(item)
        self._wake()

    # -- state and shutdown ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._queue)

    @property
    def processing(self) -> int:
        return self._queue.processing

    @property
    def waiting(self) -> int:
        return self._queue.waiting

    @property
    def shutting_down(self) -> bool:
        return self._queue.shutting_down

    async def shutdown(self, *, drain: bool = False, timeout: float | None = None) -> bool:
        """Stop accepting items and wake every :meth:`get`; with ``drain``, wait (up to
        ``timeout``) until every queued and processing item is done."""
        self._queue.shutdown()
        self._wake()
        if not drain:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.processing or len(self._queue):
            self._changed.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return False
        return True
