"""The request log of the embedded server: what it answered, for tests to count.

Kept in the HTTP layer because the handler writes it; :class:`~..server.ApiServer` exposes it
as ``server.requests`` (and re-exports both names).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    status: int
    user_agent: str


class RequestLog:
    """Thread-safe log of the requests the server answered (faulted ones included).

    It keeps the newest ``limit`` entries, so that a long-running server (``python -m
    dynakube.testing serve``) does not grow without end.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[LoggedRequest] = collections.deque(maxlen=max(1, limit))

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._items.append(entry)

    def __iter__(self) -> Iterator[LoggedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def count(self, method: str | None = None, path: str | None = None,
              prefix: str | None = None) -> int:
        """Requests matching all given filters (``path`` exact, ``prefix`` a path prefix)."""
        with self._lock:
            return sum(1 for r in self._items
                       if (method is None or r.method == method.upper())
                       and (path is None or r.path == path)
                       and (prefix is None or r.path.startswith(prefix)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
