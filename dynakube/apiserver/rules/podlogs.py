"""Container logs: what the kubelet stand-in keeps for each container of each Pod.

The embedded server runs no containers, so tests say what a container printed
(``server.pods.write_log(namespace, pod, container, text)``); each line keeps the time it
was written, as the kubelet's CRI log files do, for ``sinceTime``, ``sinceSeconds`` and
``timestamps``. A container has logs from its first write on (an empty text starts it with
no output); ``previous=True`` writes the log of its last terminated instance instead. Logs
belong to one Pod instance (its ``uid``): a Pod deleted and created again starts empty, and
the logs of Pods that are gone are dropped. Followers wait on :meth:`ContainerLogs.wait`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dynakube.errors import InvalidArgumentError

from ..call import ApiState
from ..objects import Obj
from ..storage.store import storage_key

__all__ = ["ContainerLogs", "LogKey", "container_names", "format_timestamp"]

LogKey = tuple[str, str, str, bool]
"""``(namespace/name, uid, container, previous)``: one container instance's log."""


def container_names(pod: Obj) -> list[str]:
    """The names the log endpoint accepts: containers, init and ephemeral containers, in the
    order kube-apiserver lists them (``podutil.VisitContainers``)."""
    spec = pod.get("spec") or {}
    names: list[str] = []
    for field in ("initContainers", "containers", "ephemeralContainers"):
        names += [str(c.get("name")) for c in spec.get(field) or [] if isinstance(c, dict)]
    return names


def format_timestamp(ns: int) -> str:
    """The kubelet's ``RFC3339NanoFixed`` (always nine digits): ``2026-12-02T05:00:00.1234Z``
    is written ``2026-12-02T05:00:00.123400000Z``."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{fraction:09d}Z"


def _nanoseconds(at: datetime | float | None) -> int:
    if at is None:
        return time.time_ns()
    if isinstance(at, datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        delta = at - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        return int(at * 1_000_000_000)
    raise InvalidArgumentError(f"at must be a datetime or seconds since the epoch, not {at!r}")


class ContainerLogs:
    """Every container's log lines, as ``(unix nanoseconds, line with its newline)``.

    ``autostart``: for the standalone server, what a container that nobody wrote to says
    when its log is first read (None: it has not started, as the kubelet reports it).
    """

    def __init__(self, api: ApiState):
        self._api = api
        self._changed = threading.Condition()
        self._logs: dict[LogKey, list[tuple[int, bytes]]] = {}
        self.autostart: Callable[[str, str, str], str] | None = None

    def _pod(self, namespace: str, name: str) -> Obj | None:
        spec = self._api.table.lookup("", "v1", "pods")
        if spec is None:
            return None
        found: Any = self._api.store.get(self._api.bucket(spec), storage_key(namespace, name))
        return found

    def current_uid(self, namespace: str, name: str) -> str | None:
        """The uid of Pod ``namespace/name`` now (None when it is gone)."""
        pod = self._pod(namespace, name)
        return str(pod["metadata"].get("uid")) if pod is not None else None

    def write(self, namespace: str, pod: str, container: str, text: str | bytes, *,
              previous: bool = False, at: datetime | float | None = None) -> None:
        """Append ``text`` to the log of ``container`` (a line without its newline gets one)."""
        obj = self._pod(namespace, pod)
        if obj is None:
            raise InvalidArgumentError(f"there is no Pod {namespace}/{pod} to write logs for")
        names = container_names(obj)
        if container not in names:
            raise InvalidArgumentError(f"Pod {namespace}/{pod} has no container {container!r} "
                                       f"(it has: {', '.join(names) or 'none'})")
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        stamp = _nanoseconds(at)
        lines = [(stamp, line if line.endswith(b"\n") else line + b"\n")
                 for line in data.splitlines(keepends=True)]
        key = (storage_key(namespace, pod), str(obj["metadata"].get("uid")), container,
               previous)
        with self._changed:
            self._forget_gone()
            self._logs.setdefault(key, []).extend(lines)
            self._changed.notify_all()

    def _forget_gone(self) -> None:
        """Drop the logs of Pod instances that are no longer stored (under the lock)."""
        alive: dict[str, str | None] = {}
        for key in list(self._logs):
            where = key[0]
            if where not in alive:
                namespace, _, name = where.partition("/")
                alive[where] = self.current_uid(namespace, name)
            if alive[where] != key[1]:
                del self._logs[key]

    def lines(self, key: LogKey) -> list[tuple[int, bytes]] | None:
        """The log of ``key`` (appended to in place; never copied), None if never written.

        With :attr:`autostart` set, a current container nobody wrote to starts now.
        """
        with self._changed:
            found = self._logs.get(key)
            if found is None and self.autostart is not None and not key[3]:
                namespace, _, name = key[0].partition("/")
                text = self.autostart(namespace, name, key[2])
                found = self._logs[key] = [
                    (time.time_ns(), line if line.endswith(b"\n") else line + b"\n")
                    for line in text.encode("utf-8").splitlines(keepends=True)]
            return found

    def wait(self, key: LogKey, length: int, timeout: float) -> None:
        """Block until the log of ``key`` grows past ``length`` lines, or ``timeout``."""
        with self._changed:
            found = self._logs.get(key)
            if found is None or len(found) <= length:
                self._changed.wait(timeout)
