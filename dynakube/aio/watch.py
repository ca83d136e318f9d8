"""Watches on the event loop: the sync :class:`~dynakube.watch.Watch`'s guarantees as an
async iterator, with no thread per watch.

:class:`AsyncWatch` is the sync watch's step machine (its arguments, query, resume point,
bookmarks, the de-duplicated restarts of a watch-list, ``include_existing``'s list, the
checks for a server that went backwards) driven on the loop: the steps that wait (send, the
next line, sleep) are awaited instead. So it resumes from the last resourceVersion it saw,
backs off the same way, and raises :class:`~dynakube.errors.GoneError` (410) and
:class:`~dynakube.errors.ResourceVersionTooLargeError` for the caller (an informer) to relist.
Cancelling the task that iterates it, :meth:`AsyncWatch.stop` or ``async with`` close its
connection at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

from ..transport.steps import AsyncSender
from ..watch import NEXT_LINE, SEND, Watch
from ..watchevent import WatchEvent

__all__ = ["AsyncWatch"]

class AsyncWatch(Watch):
    """``async for event in watch``: the :class:`~dynakube.watch.Watch` contract on a loop.

    Arguments as :class:`~dynakube.watch.Watch` (``include_existing`` too), with an asyncio
    transport. Every decision is the sync watch's step machine (``Watch._machine``); this
    class only performs its steps (send, next line, sleep) with awaits.
    """

    transport: Any

    def __init__(self, transport: AsyncSender, path: str, **options: Any):
        super().__init__(transport, path, **options)
        self._wake = asyncio.Event()
        self._agen: AsyncGenerator[WatchEvent, None] | None = None
        self._deadline_handle: asyncio.TimerHandle | None = None

    def __aiter__(self) -> AsyncWatch:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._agen is None:
            self._agen = self._arun()
            if self._deadline is not None:  # end a waiting read right at the deadline
                loop = asyncio.get_running_loop()
                left = max(0.0, self._deadline - time.monotonic())
                self._deadline_handle = loop.call_later(left, self._close_live)
        return await self._agen.__anext__()

    def __iter__(self) -> Any:
        raise TypeError("an AsyncWatch is iterated with 'async for'")

    def stop(self) -> None:
        """End the watch promptly (on the loop's thread): the iteration finishes cleanly."""
        self._stopped.set()
        self._wake.set()
        if self._deadline_handle is not None:
            self._deadline_handle.cancel()
        self._close_live()

    async def __aenter__(self) -> AsyncWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
        if self._agen is not None:
            await self._agen.aclose()

    # -- the driver: the sync watch's machine, its steps awaited ---------------------------
    async def _asleep(self, seconds: float) -> bool:
        """Wait (stoppable, deadline-bounded); False when the watch should end instead."""
        remaining = self._remaining()
        if remaining is not None:
            seconds = min(seconds, max(remaining, 0.0))
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        return not self._stopped.is_set() and not self._expired()

    async def _aperform(self, step: tuple[Any, ...]) -> Any:
        kind = step[0]
        if kind is NEXT_LINE:
            line = await anext(step[1], None)
            # the loop's timer may close the stream a little late: a line that comes after
            # the deadline ends the watch, as the sync watch's timer thread would have
            return None if self._expired() else line
        if kind is SEND:
            if step[2]:
                return await self.transport.send(step[1], stream=True, read_timeout=step[3])
            return await self.transport.send(step[1])
        return await self._asleep(step[1])

    async def _arun(self) -> AsyncGenerator[WatchEvent, None]:
        machine = self._machine()
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    item = machine.throw(error) if error is not None else machine.send(value)
                except StopIteration:
                    return
                value = error = None
                if type(item) is not tuple:
                    yield item
                    continue
                try:
                    value = await self._aperform(item)
                except Exception as e:  # the machine decides what a failure means
                    error = e
        finally:
            machine.close()
            if self._deadline_handle is not None:
                self._deadline_handle.cancel()
            self._close_live()
