"""Logic that talks to the server written once, for the sync and the asyncio clients alike.

Discovery and schema loading are generators (step machines, sans-I/O): they ``yield`` the
requests they need (several at once when they may go in parallel) and are sent back the
outcomes, each a response or the ``dynakube.errors`` exception its request raised. They do
no I/O themselves: :func:`run` drives one with a sync :class:`~dynakube.request.Sender`
(threads for a batch), :func:`run_async` with the asyncio transport (``gather`` for a
batch). Inside a step machine, ``response = yield from fetch(request)`` reads like a call.
"""

from __future__ import annotations

import _thread
from collections.abc import Awaitable, Generator, Sequence
from typing import Any, Protocol, TypeVar

from ..errors import DynakubeError
from ..request import ApiRequest, Sender

__all__ = ["Steps", "AsyncSender", "fetch", "fetch_all", "run", "run_async"]

T = TypeVar("T")

#: A step machine: yields batches of requests, is sent their outcomes, returns a ``T``.
Steps = Generator[Sequence[ApiRequest], list[Any], T]


class AsyncSender(Protocol):
    """What sends an :class:`ApiRequest` on an event loop (the asyncio transport is one)."""

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Awaitable[Any]: ...


def fetch(request: ApiRequest) -> Generator[Sequence[ApiRequest], list[Any], Any]:
    """One request from inside a step machine: its response, or its error raised there."""
    outcome = (yield (request,))[0]
    if isinstance(outcome, DynakubeError):
        raise outcome
    return outcome


def fetch_all(requests: Sequence[ApiRequest]
              ) -> Generator[Sequence[ApiRequest], list[Any], list[Any]]:
    """Several requests at once: their outcomes in order (responses or errors, not raised)."""
    if not requests:
        return []
    return (yield tuple(requests))


def run(steps: Steps[T], sender: Sender, *, workers: int = 8) -> T:
    """Drive ``steps`` to its result with a sync sender; a batch goes out on threads."""
    try:
        batch = next(steps)
        while True:
            batch = steps.send(_send_all(sender, batch, workers))
    except StopIteration as stop:
        result: T = stop.value
        return result


async def run_async(steps: Steps[T], sender: AsyncSender) -> T:
    """Drive ``steps`` to its result on the event loop; a batch goes out concurrently."""
    import asyncio  # here, not at the top: the sync client never pays for importing it

    try:
        batch = next(steps)
        while True:
            outcomes = await asyncio.gather(*(_outcome_async(sender, r) for r in batch))
            batch = steps.send(list(outcomes))
    except StopIteration as stop:
        result: T = stop.value
        return result


def _outcome(sender: Sender, request: ApiRequest) -> Any:
    try:
        return sender.send(request)
    except DynakubeError as e:
        return e


async def _outcome_async(sender: AsyncSender, request: ApiRequest) -> Any:
    try:
        return await sender.send(request)
    except DynakubeError as e:
        return e


def _send_all(sender: Sender, batch: Sequence[ApiRequest], workers: int) -> list[Any]:
    """The outcomes of ``batch``, in order: up to ``workers`` requests in flight, the
    calling thread sending too. The helpers are bare ``_thread`` threads: neither
    ``concurrent.futures`` nor ``threading.Thread.start`` (which waits until the thread
    runs) is worth its cost to a cold start, where the batch is ``/api`` and ``/apis``."""
    if len(batch) == 1:
        return [_outcome(sender, batch[0])]
    outcomes: list[Any] = [None] * len(batch)
    failures: list[BaseException] = []
    todo = iter(range(len(batch)))
    lock = _thread.allocate_lock()

    def work() -> None:
        while not failures:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                outcomes[i] = _outcome(sender, batch[i])
            except BaseException as e:  # not an API error: a bug or an interrupt
                failures.append(e)

    def helper(done: Any) -> None:
        try:
            work()
        finally:
            done.release()

    finished = []
    for _ in range(min(workers, len(batch)) - 1):
        done = _thread.allocate_lock()
        done.acquire()
        _thread.start_new_thread(helper, (done,))
        finished.append(done)
    work()
    for done in finished:
        done.acquire()  # released when that helper is through
    if failures:
        raise failures[0]
    return outcomes
