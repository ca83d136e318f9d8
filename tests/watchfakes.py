"""Scripted stand-ins for the transport and for a ListerWatcher, shared by the watch tests.

A helper module (no tests here).

They sit at dynakube's own seams (``Sender.send`` and the ``ListerWatcher`` protocol), so the
code under test runs unchanged; the embedded-server tests cover the real wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from dynakube.errors import GoneError, TransportError, error_from_response
from dynakube.request import ApiRequest
from dynakube.watch import Backoff, Watch


def line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode()


def cm(name: str, rv: int | str, uid: str | None = None, ns: str = "ns") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv),
                         "uid": uid or f"uid-{name}"}}


def bookmark(rv: int | str, end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def expired(rv: int = 1) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 410,
            "reason": "Expired", "metadata": {},
            "message": f"too old resource version: {rv} (5741)"}


class FakeResponse:
    """A streamed answer: its lines, then an optional error, else the end (or a hang)."""

    def __init__(self, lines: Sequence[bytes] = (), *, error: Exception | None = None,
                 hang: bool = False, body: Any = None):
        self.lines = list(lines)
        self.error = error
        self.hang = hang
        self.body = body
        self.closed = threading.Event()
        self.read_timeout: float | None = None

    def iter_lines(self) -> Any:
        for item in self.lines:
            if self.closed.is_set():
                raise TransportError("closed")
            yield item
        if self.error is not None:
            raise self.error
        if self.hang:
            if not self.closed.wait(self.read_timeout):
                raise TransportError("read timed out")
            raise TransportError("connection closed")

    def json(self) -> Any:
        return self.body

    def close(self) -> None:
        self.closed.set()


class FakeTransport:
    """Answers watches from a script; when the script runs out, streams hang until closed.

    Lists (the ``limit=1`` a watch sends to learn where the server is) are answered with
    ``current_rv``, without using the script.
    """

    def __init__(self, *script: Any, current_rv: str = "1000000"):
        self.current_rv = current_rv
        self.script = deque(script)
        self.requests: list[ApiRequest] = []
        self.read_timeouts: list[float | None] = []
        self.lock = threading.Lock()

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        with self.lock:
            self.requests.append(request)
            self.read_timeouts.append(read_timeout)
            if not stream:
                return FakeResponse(body={"metadata": {"resourceVersion": self.current_rv}})
            item = self.script.popleft() if self.script else FakeResponse(hang=True)
        if isinstance(item, Exception):
            raise item
        item.read_timeout = read_timeout
        return item

    def queries(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(r.target.partition("?")[2])) for r in self.requests]


def quick_backoff() -> Backoff:
    return Backoff(0.001, 0.01, rng=lambda: 0.0)


class FakeCluster:
    """An in-memory collection with a change history, for informer tests (a ListerWatcher).

    ``watch`` answers from the history like a server would: events after the given
    resourceVersion, 410 once that is older than the compaction point; ``send_initial_events``
    sends the current objects and the end bookmark first (unless ``watch_list`` is False).
    """

    def __init__(self, *, watch_list: bool = True, watch_list_error: bool = False):
        self.watch_list_error = watch_list_error  # answer watch-lists with an ERROR event
        self.objects: dict[str, dict[str, Any]] = {}
        self.history: list[tuple[int, str, dict[str, Any]]] = []
        self.rv = 100
        self.compacted = 0
        self.watch_list = watch_list
        self.lists = 0
        self.watches: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.live: list[Watch] = []
        self.list_errors: deque[Exception] = deque()

    # -- writing ------------------------------------------------------------------------
    def _record(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            if kind == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self.history.append((self.rv, kind, obj))
            self.cond.notify_all()
            return obj

    def create(self, name: str, data: str = "", ns: str = "ns") -> dict[str, Any]:
        body = cm(name, 0, uid=f"uid-{name}-{self.rv}", ns=ns)
        body["data"] = {"v": data}
        return self._record("ADDED", body)

    def update(self, name: str, data: str, ns: str = "ns") -> dict[str, Any]:
        obj = json.loads(json.dumps(self.objects[f"{ns}/{name}"]))
        obj["data"] = {"v": data}
        return self._record("MODIFIED", obj)

    def delete(self, name: str, ns: str = "ns") -> dict[str, Any]:
        return self._record("DELETED", self.objects[f"{ns}/{name}"])

    def compact(self) -> None:
        with self.cond:
            self.compacted = self.rv
            self.history = []

    def close_watches(self) -> None:
        with self.cond:
            live, self.live = self.live, []
        for w in live:
            w.transport.close_all()  # type: ignore[attr-defined]

    # -- ListerWatcher ------------------------------------------------------------------
    def list(self, namespace: Any = None, *, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict[str, Any]:
        if self.list_errors:
            raise self.list_errors.popleft()
        with self.cond:
            self.lists += 1
            keys = sorted(self.objects)
            start = int(continue_token or 0)
            end = len(keys) if not limit else start + limit
            items = [{k: v for k, v in self.objects[k].items() if k not in ("kind", "apiVersion")}
                     for k in keys[start:end]]
            meta: dict[str, Any] = {"resourceVersion": str(self.rv)}
            if end < len(keys):
                meta["continue"] = str(end)
            return {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta,
                    "items": items}

    def watch(self, namespace: Any = None, *, resource_version: str | None = None,
              label_selector: str | None = None, field_selector: str | None = None,
              send_initial_events: bool | None = None, bookmarks: bool = False) -> Watch:
        self.watches.append({"resource_version": resource_version,
                             "send_initial_events": send_initial_events})
        w = Watch(_ClusterSender(self), "/api/v1/configmaps", resource_version=resource_version,
                  send_initial_events=send_initial_events, bookmarks=bookmarks,
                  backoff=quick_backoff())
        with self.cond:
            self.live.append(w)
        return w


class _ClusterSender:
    """Serves one Watch's requests from a FakeCluster's history."""

    def __init__(self, cluster: FakeCluster):
        self.cluster = cluster
        self.responses: list[_HistoryResponse] = []

    def close_all(self) -> None:
        for r in list(self.responses):
            r.close()

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        q = dict(parse_qsl(request.target.partition("?")[2]))
        c = self.cluster
        if not stream:  # the limit=1 list a watch sends to learn where the server is
            with c.cond:
                return FakeResponse(body={"metadata": {"resourceVersion": str(c.rv)}})
        if q.get("sendInitialEvents") == "true" and not c.watch_list:
            raise error_from_response(422, {
                "kind": "Status", "code": 422, "reason": "Invalid",
                "message": "sendInitialEvents is forbidden for watch unless the WatchList "
                           "feature gate is enabled"})
        response = _HistoryResponse(c, q)
        self.responses.append(response)
        return response


class _HistoryResponse:
    def __init__(self, cluster: FakeCluster, query: dict[str, str]):
        self.cluster = cluster
        self.query = query
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        with self.cluster.cond:
            self.cluster.cond.notify_all()

    def json(self) -> Any:
        return None

    def iter_lines(self) -> Any:
        c = self.cluster
        with c.cond:
            if self.query.get("sendInitialEvents") == "true" and c.watch_list_error:
                initial = [line("ERROR", {"kind": "Status", "code": 500,
                                          "reason": "InternalError", "message": "no cache"})]
                since = c.rv
            elif self.query.get("sendInitialEvents") == "true":
                initial = [line("ADDED", o) for o in c.objects.values()]
                since = c.rv
                initial.append(line("BOOKMARK", bookmark(since, end=True)))
            else:
                initial = []
                since = int(self.query["resourceVersion"])
                if since < c.compacted:
                    initial = [line("ERROR", expired(since))]
        yield from initial
        while not self.closed.is_set():
            with c.cond:
                if since < c.compacted:
                    yield line("ERROR", expired(since))
                    return
                pending = [(rv, k, o) for rv, k, o in c.history if rv > since]
                if not pending:
                    c.cond.wait(0.5)
                    continue
            for rv, kind, obj in pending:
                if self.closed.is_set():
                    break
                yield line(kind, obj)
                since = rv
        raise TransportError("connection closed")


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``condition``; the timeout only guards against a hang, it is not asserted on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


__all__ = ["FakeCluster", "FakeResponse", "FakeTransport", "GoneError", "bookmark", "cm",
           "expired", "line", "quick_backoff", "wait_until"]
