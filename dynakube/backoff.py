"""Exponential backoff with jitter, as client-go's reflector and watches back off.

Pure (a clock and a random source are injected), so the watch, the reflector and a future
async client share it and tests can drive it without sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from .errors import InvalidArgumentError

__all__ = ["Backoff"]


class Backoff:
    """Exponential backoff with jitter, reset after a quiet period (client-go's defaults)."""

    def __init__(self, initial: float = 0.8, maximum: float = 30.0, *, factor: float = 2.0,
                 jitter: float = 1.0, reset_after: float = 120.0,
                 clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random):
        if initial <= 0 or maximum < initial or factor < 1:
            raise InvalidArgumentError("backoff needs 0 < initial <= maximum and factor >= 1")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.jitter, self.reset_after = jitter, reset_after
        self._clock, self._rng = clock, rng
        self._current = initial
        self._last: float | None = None

    def next(self) -> float:
        """The next delay in seconds: base * (1 + jitter * U[0,1)), base doubling to maximum."""
        now = self._clock()
        if self._last is not None and now - self._last > self.reset_after:
            self._current = self.initial
        self._last = now
        base = self._current
        self._current = min(self._current * self.factor, self.maximum)
        return min(base * (1.0 + self.jitter * self._rng()), self.maximum * (1.0 + self.jitter))

    def reset(self) -> None:
        """Back to the initial delay (after a healthy period)."""
        self._current = self.initial
        self._last = None
