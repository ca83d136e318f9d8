"""Step machines (``dynakube.transport.steps``) driven by ``run`` and ``run_async``: batches go
out at once, outcomes come back in order, API errors are outcomes and other failures raise.

Pure logic: the sender here is a stand-in for the transport, answering with the request's
path, so no network is involved.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from dynakube.errors import DynakubeError, NotFoundError
from dynakube.request import ApiRequest
from dynakube.transport.steps import Steps, fetch, fetch_all, run, run_async


def _not_found(path: str) -> NotFoundError:
    return NotFoundError(404, {"reason": "NotFound", "message": f"{path} not found"})


class _Sender:
    """Answers each request with its path; ``together`` requests wait until all of them are
    in flight (a broken barrier means they were sent one after another)."""

    def __init__(self, together: int = 0, missing: tuple[str, ...] = (),
                 broken: tuple[str, ...] = ()):
        self.barrier = threading.Barrier(together) if together else None
        self.missing, self.broken = missing, broken
        self.threads: set[int] = set()

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        self.threads.add(threading.get_ident())
        if self.barrier is not None:
            self.barrier.wait(timeout=5)
        if request.path in self.missing:
            raise _not_found(request.path)
        if request.path in self.broken:
            raise RuntimeError(f"a bug while sending {request.path}")
        return request.path


def _gets(*paths: str) -> list[ApiRequest]:
    return [ApiRequest("GET", p) for p in paths]


def _all(*paths: str) -> Steps[list[Any]]:
    return (yield from fetch_all(_gets(*paths)))


def test_a_batch_goes_out_at_once_and_answers_in_order() -> None:
    sender = _Sender(together=3)
    assert run(_all("/a", "/b", "/c"), sender) == ["/a", "/b", "/c"]
    assert len(sender.threads) == 3  # the calling thread and two helpers


def test_workers_bound_the_requests_in_flight() -> None:
    sender = _Sender()
    paths = [f"/p{i}" for i in range(20)]
    assert run(_all(*paths), sender, workers=4) == paths
    assert len(sender.threads) <= 4


def test_an_api_error_is_an_outcome_in_a_batch_and_raised_by_fetch() -> None:
    outcomes = run(_all("/a", "/gone", "/c"), _Sender(missing=("/gone",)))
    assert outcomes[0] == "/a" and outcomes[2] == "/c"
    assert isinstance(outcomes[1], NotFoundError)

    def one() -> Steps[Any]:
        return (yield from fetch(ApiRequest("GET", "/gone")))

    with pytest.raises(NotFoundError):
        run(one(), _Sender(missing=("/gone",)))


def test_a_failure_that_is_not_an_api_error_is_raised() -> None:
    with pytest.raises(RuntimeError, match="/b"):
        run(_all("/a", "/b", "/c"), _Sender(broken=("/b",)))


def test_an_empty_batch_sends_nothing() -> None:
    sender = _Sender()
    assert run(_all(), sender) == []
    assert not sender.threads


class _AsyncSender:
    def __init__(self, together: int):
        self.waiting = 0
        self.together = together
        self.all_in = asyncio.Event()

    async def send(self, request: ApiRequest, *, stream: bool = False,
                   read_timeout: float | None = None) -> Any:
        self.waiting += 1
        if self.waiting == self.together:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), 5)
        if request.path == "/gone":
            raise _not_found(request.path)
        return request.path


def test_run_async_sends_a_batch_concurrently_with_the_same_outcomes() -> None:
    outcomes = asyncio.run(run_async(_all("/a", "/gone", "/c"), _AsyncSender(together=3)))
    assert outcomes[0] == "/a" and outcomes[2] == "/c"
    assert isinstance(outcomes[1], DynakubeError)
