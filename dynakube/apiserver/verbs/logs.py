"""``GET pods/{name}/log``: kube-apiserver's checks, then the kubelet's reading of the log.

kube-apiserver validates the ``PodLogOptions`` (``422``), finds the Pod (``404``) and the
container (``400 container x is not valid for pod y``, or ``a container name must be
specified`` when the Pod has several), answers ``204`` with nothing for a Pod on no node, and
then streams what the kubelet sends as ``text/plain``. The kubelet's own refusals come back
as ``400`` with its words: ``container "c" in pod "p" is waiting to start: ContainerCreating``,
``previous terminated container "c" in pod "p" not found``. ``follow`` streams new lines as
they are written and ends when the Pod is deleted (or replaced by another of that name).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ..call import Call
from ..objects import Obj
from ..rules.podlogs import ContainerLogs, LogKey, container_names, format_timestamp
from ..status import bad_request, cause, invalid
from ..storage.store import storage_key

__all__ = ["PodLogStream", "open_log"]

CHUNK_BYTES = 64 * 1024
"""How much one chunk of the answer carries at most (memory stays bounded for any log)."""
_POLL = 0.25  # how often a follower checks that its Pod and its client are still there
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _bool(call: Call, key: str) -> bool:
    """A boolean query parameter as Go's ``strconv.ParseBool`` reads it."""
    text = call.query.get(key)
    if text is None or text == "":
        return False
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise bad_request(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _since_time(text: str | None) -> int | None:
    """``sinceTime`` in nanoseconds, cut to whole seconds as kube-apiserver passes it on."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
        if parsed.tzinfo is None or "T" not in text.upper():
            raise ValueError(text)
    except ValueError:
        raise bad_request(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot '
                          f'parse "{text}" as "2006"') from None
    return int(parsed.timestamp()) * 1_000_000_000


class _Options:
    """The ``PodLogOptions`` of one request, validated as ``ValidatePodLogOptions`` does."""

    def __init__(self, call: Call):
        self.container = call.query.get("container") or ""
        self.follow = _bool(call, "follow")
        self.previous = _bool(call, "previous")
        self.timestamps = _bool(call, "timestamps")
        self.tail_lines = call.int_param("tailLines")
        self.limit_bytes = call.int_param("limitBytes")
        since_seconds = call.int_param("sinceSeconds")
        since_time = _since_time(call.query.get("sinceTime"))
        problems = []
        if self.tail_lines is not None and self.tail_lines < 0:
            problems.append(cause("tailLines", "FieldValueInvalid",
                                  f"Invalid value: {self.tail_lines}: must be greater than or "
                                  "equal to 0"))
        if self.limit_bytes is not None and self.limit_bytes < 1:
            problems.append(cause("limitBytes", "FieldValueInvalid",
                                  f"Invalid value: {self.limit_bytes}: must be greater than 0"))
        if since_seconds is not None and since_time is not None:
            problems.append(cause("", "FieldValueForbidden", "Forbidden: at most one of "
                                  "`sinceTime` or `sinceSeconds` may be specified"))
        elif since_seconds is not None and since_seconds < 1:
            problems.append(cause("sinceSeconds", "FieldValueInvalid",
                                  f"Invalid value: {since_seconds}: must be greater than 0"))
        if problems:
            raise invalid("PodLogOptions", call.name or "", problems)
        self.since: int | None = since_time
        if since_seconds is not None:
            self.since = time.time_ns() - since_seconds * 1_000_000_000


def _container(pod: Obj, wanted: str) -> str:
    """``validateContainer`` of the Pod strategy."""
    name = pod["metadata"].get("name")
    containers = [c for c in (pod.get("spec") or {}).get("containers") or []
                  if isinstance(c, dict)]
    if wanted:
        if wanted not in container_names(pod):
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    if len(containers) == 1:
        return str(containers[0].get("name"))
    if not containers:
        raise bad_request(f"a container name must be specified for pod {name}")
    raise bad_request(f"a container name must be specified for pod {name}, choose one of: "
                      f"[{' '.join(container_names(pod))}]")


def _status_of(pod: Obj, container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for field in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(field) or []:
            if isinstance(entry, dict) and entry.get("name") == container:
                return entry
    return None


def _check_started(pod: Obj, container: str, previous: bool,
                   lines: list[tuple[int, bytes]] | None) -> None:
    """The kubelet's ``validateContainerLogStatus``: a container's reported state, else
    whether it ever wrote (the embedded server's stand-in for having started)."""
    name = pod["metadata"].get("name")
    entry = _status_of(pod, container) or {}
    state, last = entry.get("state") or {}, entry.get("lastState") or {}
    if previous:
        if lines is None and not last.get("terminated"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" '
                              "not found")
        return
    if lines is not None or state.get("running") or state.get("terminated") or \
            last.get("terminated"):
        return
    reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    if reason == "ErrImagePull":
        reason = "image can't be pulled"
    elif reason == "ImagePullBackOff":
        reason = "trying and failing to pull image"
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


class PodLogStream:
    """The answer to one log request: iterate it for chunks of ``text/plain``.

    ``client_gone`` is set by the HTTP handler, so a follower whose client left stops.
    """

    def __init__(self, logs: ContainerLogs, key: LogKey, options: _Options):
        self._logs = logs
        self._key = key
        self._options = options
        self._closed = False
        self.client_gone: Callable[[], bool] = lambda: False

    def close(self) -> None:
        self._closed = True

    def _still_there(self) -> bool:
        namespace, _, name = self._key[0].partition("/")
        return not self._closed and not self.client_gone() and \
            self._logs.current_uid(namespace, name) == self._key[1]

    def __iter__(self) -> Iterator[bytes]:
        opts = self._options
        lines = self._logs.lines(self._key) or []
        position = len(lines)
        if opts.tail_lines is None:
            position = 0
        else:
            position = max(0, position - opts.tail_lines)
        budget = opts.limit_bytes
        while True:
            chunk, position = self._take(lines, position)
            if chunk:
                if budget is not None:
                    chunk = chunk[:budget]
                    budget -= len(chunk)
                yield chunk
                if budget == 0:
                    return
                continue
            if not opts.follow or opts.previous or not self._still_there():
                return
            self._logs.wait(self._key, position, _POLL)
            lines = self._logs.lines(self._key) or lines

    def _take(self, lines: list[tuple[int, bytes]], position: int) -> tuple[bytes, int]:
        """Up to :data:`CHUNK_BYTES` of formatted lines from ``position`` on."""
        opts = self._options
        parts: list[bytes] = []
        size = 0
        end = len(lines)
        while position < end and size < CHUNK_BYTES:
            stamp, line = lines[position]
            position += 1
            if opts.since is not None and stamp < opts.since:
                continue
            if opts.timestamps:
                line = format_timestamp(stamp).encode() + b" " + line
            parts.append(line)
            size += len(line)
        return b"".join(parts), position


def open_log(logs: ContainerLogs, call: Call,
             current: Callable[[Call], Obj]) -> PodLogStream | None:
    """The stream answering ``call``; None for a Pod on no node (kube-apiserver's ``204``).

    ``current`` finds the stored Pod (a ``404`` when there is none), after the options are
    checked, as kube-apiserver does. Every refusal is a ``StatusError``.
    """
    options = _Options(call)
    pod = current(call)
    container = _container(pod, options.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return None
    key: LogKey = (storage_key(call.namespace, call.name or ""),
                   str(pod["metadata"].get("uid")), container, options.previous)
    _check_started(pod, container, options.previous, logs.lines(key))
    return PodLogStream(logs, key, options)
