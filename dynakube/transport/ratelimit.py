"""Client-side rate limiting: a token bucket, as client-go's ``flowcontrol`` does.

The default is generous (an interactive user is never throttled) but stops a runaway loop
from hammering the API server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import InvalidArgumentError

__all__ = ["TokenBucket"]


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; ``acquire`` blocks until one is free."""

    def __init__(self, qps: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if (not isinstance(qps, int | float) or not isinstance(burst, int)
                or isinstance(qps, bool) or qps <= 0 or burst < 1):
            raise InvalidArgumentError(
                f"qps must be a number > 0 and burst an integer >= 1 (qps=None turns "
                f"client-side rate limiting off), got qps={qps!r}, burst={burst!r}")
        self.qps = float(qps)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token now (possibly going into debt); return how long to wait for it.

        For callers that schedule instead of sleeping (the controller's work queue).
        """
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def acquire(self) -> float:
        """Wait for a token; return the seconds waited (0.0 when none was needed)."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay
