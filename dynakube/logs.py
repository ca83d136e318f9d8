"""Pod logs: read at once as text, or followed as a stream of lines in bounded memory.

``kube.resource("pods").logs("web-0")`` is ``GET pods/web-0/log``; on a workload
(``kube.resource("deployments").logs("web")``) it first picks one of the workload's Pods
the way ``kubectl logs deploy/web`` does (``polymorphichelpers.LogsForObject``: the Pods
matching the selector, sorted by ``podutils.ByLogging``, the first one). Options are checked
before anything is sent; the server's refusals (a wrong container, a Pod still starting)
come back as :class:`~dynakube.errors.BadRequestError` in the server's words.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .discovery.registry import ResourceInfo
from .errors import (
    BadRequestError,
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    TransportError,
)
from .request import ApiRequest, Sender, check_name, query_pairs, resource_path

if TYPE_CHECKING:
    from .transport.steps import Steps

__all__ = ["LogStream", "read_logs", "log_pod", "log_pod_steps", "container_note", "PodChoice",
           "MAX_LINE", "log_query", "choose_pod", "selector_of"]

#: A longer line is handed out in pieces of this many bytes, so memory stays bounded.
MAX_LINE = 1024 * 1024
_ACCEPT = (("Accept", "text/plain, */*"),)
# The kinds ``kubectl logs TYPE/NAME`` finds Pods for (``SelectorsForObject``).
_SELECTOR_KINDS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                   ("apps", "DaemonSet"), ("batch", "Job"), ("", "ReplicationController"),
                   ("", "Service"), ("extensions", "Deployment"),
                   ("extensions", "ReplicaSet"), ("extensions", "DaemonSet")}


def _count(value: Any, what: str, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def _seconds(value: Any) -> int | None:
    """``since_seconds``: an int, a float (rounded up, as kubectl does ``--since``) or a
    ``timedelta``; at least one second."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or math.isinf(value):
        raise InvalidArgumentError(f"since_seconds must be a positive number of seconds (or a "
                                   f"timedelta), got {value!r}")
    return max(1, math.ceil(value))


def _rfc3339(value: Any) -> str | None:
    """``since_time`` as kube-apiserver takes it: RFC 3339 in UTC, whole seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgumentError(f"since_time must be an RFC 3339 time such as "
                                       f"2026-01-02T15:04:05Z, got {value!r}") from None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"since_time must be a datetime or an RFC 3339 string, "
                                   f"got {value!r}")
    if value.tzinfo is None:
        raise InvalidArgumentError(f"since_time {value.isoformat()} has no time zone: say "
                                   "which (e.g. tzinfo=datetime.UTC)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_query(*, container: str | None = None, follow: bool = False,
              tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
              since_time: datetime | str | None = None, timestamps: bool = False,
              previous: bool = False,
              limit_bytes: int | None = None) -> tuple[tuple[str, str], ...]:
    """The query of a log request (pure): what kubectl sends, refused here when it is wrong."""
    if container is not None:
        check_name(container, "container")
    for flag, value in (("follow", follow), ("timestamps", timestamps),
                        ("previous", previous)):
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"{flag} must be True or False, got {value!r}")
    seconds, since = _seconds(since_seconds), _rfc3339(since_time)
    if seconds is not None and since is not None:
        raise InvalidArgumentError("give since_seconds or since_time, not both")
    return query_pairs([
        ("container", container), ("follow", follow or None),
        ("previous", previous or None), ("timestamps", timestamps or None),
        ("sinceSeconds", seconds), ("sinceTime", since),
        ("tailLines", _count(tail_lines, "tail_lines", 0)),
        ("limitBytes", _count(limit_bytes, "limit_bytes", 1)),
    ])


class LogStream:
    """A followed log: iterate it for lines (``str``, without their newline).

    It holds one line at a time (at most :data:`MAX_LINE` bytes), whatever the log's size.
    It ends when the server ends the log (the Pod was deleted, ``limit_bytes`` reached);
    :meth:`close`, from any thread, ends it early and without error; a connection that
    breaks raises :class:`~dynakube.errors.TransportError`. Use it as a context manager.
    """

    def __init__(self, response: Any, path: str):
        self._response = response
        self.path = path
        self._closed = threading.Event()
        self._lines = self._read()

    def __iter__(self) -> LogStream:
        return self

    def __next__(self) -> str:
        return next(self._lines)

    def _read(self) -> Iterator[str]:
        pending = b""
        try:
            for chunk in self._response.iter_chunks():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if self._closed.is_set():  # not even the rest of this chunk
                        return
                    yield line.decode("utf-8", "replace")
                while len(pending) >= MAX_LINE:
                    piece, pending = pending[:MAX_LINE], pending[MAX_LINE:]
                    yield piece.decode("utf-8", "replace")
        except TransportError:
            if not self._closed.is_set():
                raise
            return
        finally:
            self._response.close()
        if pending and not self._closed.is_set():
            yield pending.decode("utf-8", "replace")

    def close(self) -> None:
        """Stop following, from any thread: the iterator ends without error."""
        self._closed.set()
        self._response.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LogStream {self.path}{' closed' if self.closed else ''}>"


# -- which Pod a workload's logs come from ----------------------------------------------------

def selector_of(obj: Mapping[str, Any]) -> str:
    """The label selector of a workload or Service, as ``kubectl logs TYPE/NAME`` uses it."""
    from .selector import format_label_selector

    kind = str(obj.get("kind") or "")
    name = (obj.get("metadata") or {}).get("name")
    selector = (obj.get("spec") or {}).get("selector")
    if not selector:
        if kind == "Service":
            raise InvalidArgumentError(f"invalid service '{name}': Service is defined without "
                                       "a selector")
        raise InvalidArgumentError(f"{kind} {name!r} has no selector: it has no Pods to log")
    try:
        return format_label_selector(selector)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"the selector of {kind} {name!r} is invalid: {e}") from e


def _epoch(stamp: Any) -> float | None:
    import calendar  # only when picking a workload's Pod

    try:
        return float(calendar.timegm(datetime.strptime(
            str(stamp)[:19], "%Y-%m-%dT%H:%M:%S").timetuple()))
    except ValueError:
        return None


def _ready_since(pod: Mapping[str, Any]) -> float | None:
    """When the Pod became Ready; None when it is not Ready."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            if condition.get("status") != "True":
                return None
            return _epoch(condition.get("lastTransitionTime")) or 0.0
    return None


def _by_logging(pod: Mapping[str, Any]) -> tuple[Any, ...]:
    """``podutils.ByLogging`` as a sort key: scheduled; Running, Unknown, then Pending (any
    other phase ranks as Running, as Go's map lookup gives 0); Ready, Ready longest; most
    restarts; oldest. A missing time sorts last."""
    status = pod.get("status") or {}
    ready = _ready_since(pod)
    restarts = max([int(s.get("restartCount") or 0) for s in status.get("containerStatuses")
                    or [] if isinstance(s, dict)] or [0])
    created = _epoch((pod.get("metadata") or {}).get("creationTimestamp"))
    return (0 if (pod.get("spec") or {}).get("nodeName") else 1,
            {"Running": 0, "Unknown": 1, "Pending": 2}.get(str(status.get("phase")), 0),
            0 if ready is not None else 1,
            (ready == 0.0, ready or 0.0) if ready is not None else (False, 0.0),
            -restarts,
            (created is None, created or 0.0))


@dataclass(frozen=True)
class PodChoice:
    """The Pod a workload's logs come from, and how many matched (kubectl says so when
    there were several: ``Found 3 pods, using pod/web-1``)."""

    name: str
    namespace: str
    matched: int


def choose_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Pod kubectl takes the logs of, among ``pods``; None when there is none."""
    return min(pods, key=_by_logging) if pods else None


class _Handle(Protocol):
    """What the log methods need of a resource handle (:class:`~dynakube.resource.Resource`)."""

    @property
    def client(self) -> Any: ...

    @property
    def info(self) -> ResourceInfo: ...

    @property
    def subresource_name(self) -> str | None: ...

    def namespace_of(self, obj: Mapping[str, Any] | None = None,
                     namespace: Any = None) -> str | None: ...


def log_pod_steps(info: ResourceInfo, name: str, namespace: str | None) -> Steps[PodChoice]:
    """The Pod whose logs a handle on ``info`` reads, as a step machine
    (:mod:`dynakube.transport.steps`, so the sync and async clients share it): ``name`` on
    pods, else the one of the workload's Pods ``kubectl logs TYPE/NAME`` picks."""
    from .transport.steps import fetch

    if (info.group, info.kind) == ("", "Pod"):
        return PodChoice(check_name(name), str(namespace), 1)
    if (info.group, info.kind) not in _SELECTOR_KINDS:
        raise InvalidArgumentError(
            f"{info.qualified} have no logs: use pods or a workload (deployments, "
            "statefulsets, daemonsets, replicasets, jobs, replicationcontrollers, services)")
    workload = yield from fetch(ApiRequest("GET", resource_path(
        info.group, info.version, info.plural,
        namespace=namespace if info.namespaced else None, name=check_name(name))))
    selector = selector_of(workload.json())
    listed = (yield from fetch(ApiRequest("GET", resource_path(
        "", "v1", "pods", namespace=namespace), query_pairs({"labelSelector": selector})))
    ).json()
    items = [p for p in listed.get("items") or [] if isinstance(p, dict)]
    pod = choose_pod(items)
    if pod is None:
        message = (f'no pods found for {info.plural} "{name}" in namespace "{namespace}" '
                   f"(selector {selector})")
        raise NotFoundError(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "reason": "NotFound", "code": 404, "message": message})
    return PodChoice(str(pod["metadata"]["name"]), str(namespace), len(items))


def log_pod(handle: _Handle, name: str, namespace: str | None = None) -> PodChoice:
    """``Resource.log_pod``: ``name`` on pods, else the Pod kubectl picks of a workload."""
    from .transport.steps import run

    return run(log_pod_steps(handle.info, name, handle.namespace_of(None, namespace)),
               handle.client.transport)


def container_note(pod: PodChoice, spec: Mapping[str, Any]) -> str:
    """The note on a wrong container's refusal (the server names none): the right ones."""
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    names += [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
    names += [f"{c.get('name')} (ephem)" for c in spec.get("ephemeralContainers") or []]
    return f"pod {pod.name} has the containers: {', '.join(names)}"


def read_logs(handle: _Handle, name: str, namespace: str | None = None, *,
              container: str | None = None, follow: bool = False,
              tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
              since_time: datetime | str | None = None, timestamps: bool = False,
              previous: bool = False, limit_bytes: int | None = None) -> str | LogStream:
    """``Resource.logs``: the text, or with ``follow`` a :class:`LogStream` of lines."""
    if handle.subresource_name:
        raise InvalidArgumentError("logs() is called on the resource, not a subresource")
    query = log_query(container=container, follow=follow, tail_lines=tail_lines,
                      since_seconds=since_seconds, since_time=since_time,
                      timestamps=timestamps, previous=previous, limit_bytes=limit_bytes)
    pod = log_pod(handle, name, namespace)
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name,
                         subresource="log")
    request = ApiRequest("GET", path, query, _ACCEPT)
    transport: Sender = handle.client.transport
    try:
        if not follow:
            return transport.send(request).content.decode("utf-8", "replace")
        # a followed log may stay silent for hours: no read timeout, close() ends it
        return LogStream(transport.send(request, stream=True, read_timeout=math.inf), path)
    except BadRequestError as e:
        if container and e.message.startswith(f"container {container} is not valid"):
            _name_containers(transport, pod, e)
        raise


def _name_containers(transport: Sender, pod: PodChoice, error: BadRequestError) -> None:
    """The server says only that a container is wrong: add a note naming the right ones."""
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name)
    try:
        spec = transport.send(ApiRequest("GET", path)).json().get("spec") or {}
    except DynakubeError:
        return  # the Pod went meanwhile: the server's message stands alone
    error.add_note(container_note(pod, spec))
