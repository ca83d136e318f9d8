"""Watches on the event loop: the sync :class:`~dynakube.watch.Watch`'s guarantees as an
async iterator, with no thread per watch.

:class:`AsyncWatch` is the sync watch's state machine (its arguments, query, resume point,
bookmarks, the de-duplicated restarts of a watch-list, the checks for a server that went
backwards) with the four steps that wait (open, read, sleep, the small list that reads the
current resourceVersion) awaited instead. So it resumes from the last resourceVersion it saw,
backs off the same way, and raises :class:`~dynakube.errors.GoneError` (410) and
:class:`~dynakube.errors.ResourceVersionTooLargeError` for the caller (an informer) to relist.
Cancelling the task that iterates it, :meth:`AsyncWatch.stop` or ``async with`` close its
connection at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ApiError, GoneError, TransportError
from ..request import ApiRequest, query_pairs
from ..transport.steps import AsyncSender
from ..watch import _RETRYABLE, Watch, _key, _number
from ..watchevent import ADDED_PREFIXES, BATCH_SIZE, WatchEvent, decode_added_batch, decode_event

__all__ = ["AsyncWatch"]

log = logging.getLogger("dynakube.watch")


class AsyncWatch(Watch):
    """``async for event in watch``: the :class:`~dynakube.watch.Watch` contract on a loop.

    Arguments as :class:`~dynakube.watch.Watch`, with an asyncio transport.
    """

    transport: Any

    def __init__(self, transport: AsyncSender, path: str, **options: Any):
        super().__init__(transport, path, **options)
        self._wake = asyncio.Event()
        self._agen: AsyncIterator[WatchEvent] | None = None
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
            await self._agen.aclose()  # type: ignore[attr-defined]

    # -- the waiting steps, awaited ----------------------------------------------------
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

    async def _acurrent_resource_version(self) -> str:
        request = ApiRequest("GET", self.path, query_pairs([("limit", 1)]))
        body = (await self.transport.send(request)).json()
        meta = body.get("metadata") if isinstance(body, dict) else None
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if not rv:
            raise TransportError(f"the list of {self.path} has no metadata.resourceVersion")
        return str(rv)

    async def _aopen(self) -> Any:
        """Start one watch request; None when stopped or out of time (see ``Watch._open``)."""
        while not self._stopped.is_set() and not self._expired():
            try:
                if self.resource_version is None and not self._initial_pending:
                    self.resource_version = self._start_rv = \
                        await self._acurrent_resource_version()
                elif self._verify and not self._initial_pending:
                    current = _number(await self._acurrent_resource_version())
                    ours = _number(self.resource_version)
                    self._verify = False
                    if current is not None and ours is not None and current < ours:
                        raise self._went_backwards(f"the server is at {current}")
                low, high = self.server_timeout
                seconds = random.uniform(low, high)
                remaining = self._remaining()
                if remaining is not None:
                    seconds = min(seconds, remaining)
                self._asked = max(1, int(seconds + 0.999))
                request = ApiRequest("GET", self.path, self._query(self._asked))
                read_timeout = self.read_timeout
                if remaining is not None:
                    read_timeout = min(read_timeout, remaining + 1.0)
                self._floor = None if self._initial_pending else _number(self.resource_version)
                self.requests += 1
                response = await self.transport.send(request, stream=True,
                                                     read_timeout=read_timeout)
                self.alive_at = time.monotonic()
                return response
            except _RETRYABLE as e:
                self.last_error = e
                self._verify = self._verify or isinstance(e, TransportError)
                delay = self.backoff.next()
                log.info("watch %s: %s; retrying in %.2fs", self.path, e, delay)
                if not await self._asleep(delay):
                    return None
        return None

    async def _arun(self) -> AsyncIterator[WatchEvent]:
        try:
            async for event in self._aevents():
                yield event
        finally:
            if self._deadline_handle is not None:
                self._deadline_handle.cancel()
            self._close_live()

    async def _aevents(self) -> AsyncIterator[WatchEvent]:
        """``Watch._events`` with awaited I/O: the same resume, backoff and initial-events
        rules, line for line."""
        yielded: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()
        restarted = False
        broken_initial = 0
        quick = True
        while not self._stopped.is_set() and not self._expired():
            response = await self._aopen()
            if response is None:
                return
            self._response = response
            started, failure = time.monotonic(), None
            received = False
            try:
                async for group in self._agroups(response):
                    decoded = decode_added_batch(group) if self._initial_pending else \
                        map(decode_event, group)
                    for event in decoded:
                        error = event.as_error()
                        if error is not None:
                            raise error
                        if not received:
                            received, self.last_error = True, None
                        if self._initial_pending:
                            if event.type == "ADDED":
                                key = _key(event.object)
                                if key not in yielded:
                                    if restarted:
                                        seen.add(key)
                                    yielded[key] = event.object
                                    yield event
                                    continue
                            for out in self._initial_event(event, yielded, seen, restarted):
                                yield out
                            if not self._initial_pending:
                                yielded, seen, restarted = {}, set(), False
                                self._floor = _number(self.resource_version)
                        else:
                            self._advance(event)
                            if event.type != "BOOKMARK" or self.bookmarks:
                                yield event
                    if self._stopped.is_set() or self._expired():
                        return
            except GoneError as e:
                self.last_error = e
                raise
            except _RETRYABLE as e:
                if self._stopped.is_set() or self._expired():
                    return
                if isinstance(e, ApiError) and self._initial_pending:
                    raise
                self.last_error = failure = e
                self._verify = self._verify or isinstance(e, TransportError)
            finally:
                self._response = None
                response.close()
            if self._initial_pending:
                restarted, seen = True, set()
                broken_initial += 1
                if self.initial_attempts is not None and broken_initial >= self.initial_attempts:
                    raise TransportError(
                        f"the initial events of {self.path} broke off {broken_initial} times "
                        f"before their end bookmark (last: "
                        f"{failure or 'the server ended the stream'})") from failure
            lived = time.monotonic() - started
            if lived >= min(self.healthy_after, self._asked):
                self.backoff.reset()
                quick = True
            if quick:
                quick = False
                log.info("watch %s at rv %s ended after %.1fs (%s); resuming", self.path,
                         self.resource_version, lived, failure or "closed by the server")
                continue
            delay = self.backoff.next()
            log.info("watch %s at rv %s ended after %.1fs (%s); resuming in %.2fs", self.path,
                     self.resource_version, lived, failure or "closed by the server", delay)
            if not await self._asleep(delay):
                return

    async def _agroups(self, response: Any) -> AsyncIterator[list[bytes]]:
        """``Watch._groups`` on an async stream: initial ADDED lines batched, others single;
        lines that arrived whole before a break are delivered before the failure."""
        batch: list[bytes] = []
        try:
            async for line in response.iter_lines():
                self.alive_at = time.monotonic()
                if self._initial_pending and line.startswith(ADDED_PREFIXES):
                    batch.append(line)
                    if len(batch) >= BATCH_SIZE:
                        yield batch
                        batch = []
                    continue
                if batch:
                    yield batch
                    batch = []
                if line.strip():
                    yield [line]
        except Exception:
            if batch:
                yield batch
            raise
        if batch:
            yield batch
