"""Optimistic concurrency made easy: re-run a read-modify-write when the server says 409.

The equivalent of client-go's ``retry.RetryOnConflict(retry.DefaultRetry, fn)``: ``fn`` must
re-read the object each time, so every try works on the latest version.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ..errors import AlreadyExistsError, ConflictError, InvalidArgumentError

__all__ = ["retry_on_conflict"]

T = TypeVar("T")


def _run(fn: Callable[[], T], attempts: int, delay: float, jitter: float) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except AlreadyExistsError:
            raise  # a taken name does not go away by retrying
        except ConflictError:
            if attempt == attempts:
                raise
            time.sleep(delay * (1 + jitter * random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


@overload
def retry_on_conflict(fn: Callable[[], T], *, attempts: int = ..., delay: float = ...,
                      jitter: float = ...) -> T: ...


@overload
def retry_on_conflict(fn: None = None, *, attempts: int = ..., delay: float = ...,
                      jitter: float = ...) -> Callable[[Callable[..., T]], Callable[..., T]]: ...


def retry_on_conflict(fn: Callable[[], T] | None = None, *, attempts: int = 5,
                      delay: float = 0.01, jitter: float = 0.1) -> Any:
    """Call ``fn()`` until it does not raise ``ConflictError`` (at most ``attempts`` times).

    ``retry_on_conflict(lambda: bump(kube))`` runs it now and returns its result;
    ``@retry_on_conflict(attempts=10)`` decorates a function instead. The defaults are
    client-go's ``DefaultRetry`` (5 tries, 10 ms apart, 10 % jitter).
    """
    if attempts < 1:
        raise InvalidArgumentError(f"attempts must be at least 1, got {attempts!r}")
    if fn is not None:
        return _run(fn, attempts, delay, jitter)

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return _run(lambda: func(*args, **kwargs), attempts, delay, jitter)

        return wrapper

    return decorate
