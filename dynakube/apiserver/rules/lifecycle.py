"""Graceful deletion of Pods, and the kubelet stand-in that confirms it.

On a real cluster a Pod bound to a node is not removed by its delete: the API server marks
it (``deletionTimestamp`` = now + the grace period, ``deletionGracePeriodSeconds``) and the
kubelet stops its containers, then deletes it for good with a grace period of 0. The
embedded server has no kubelet, so :class:`Kubelet` does that last step: promptly (its
containers stop at once on SIGTERM), or at the end of the grace period for a Pod a test said
ignores SIGTERM (:meth:`Kubelet.ignore_sigterm`). An unbound Pod has nothing to stop and
goes at once, as does any delete with ``gracePeriodSeconds=0``.
"""

from __future__ import annotations

import calendar
import heapq
import threading
import time
from datetime import datetime
from typing import Any

from ..call import ApiState
from ..kinds.specs import KindSpec
from ..objects import Obj, canonical, deep_copy, now_rfc3339
from ..storage.store import storage_key
from .podlogs import ContainerLogs
from .podstreams import ExecHandler, PodStreams, PortTarget

__all__ = ["DEFAULT_GRACE_SECONDS", "Kubelet", "grace_period", "mark_graceful", "shorten",
           "release_protection", "released_by"]

DEFAULT_GRACE_SECONDS = 30


def _is_pod(spec: KindSpec) -> bool:
    return (spec.group, spec.kind) == ("", "Pod")


def grace_period(obj: Obj, spec: KindSpec, requested: int | None) -> int | None:
    """The grace period of a delete (the Pod strategy's ``CheckGracefulDelete``): the
    request's, else ``spec.terminationGracePeriodSeconds``, 0 for a Pod on no node or one
    that has finished, 1 for a negative one. None for kinds that are not deleted gracefully."""
    if not _is_pod(spec):
        return None
    raw_spec, raw_status = obj.get("spec"), obj.get("status")
    pod_spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    default = pod_spec.get("terminationGracePeriodSeconds")
    period = requested if requested is not None else (
        default if isinstance(default, int) else DEFAULT_GRACE_SECONDS)
    if not pod_spec.get("nodeName"):
        period = 0
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    if status.get("phase") in ("Failed", "Succeeded"):
        period = 0
    return 1 if period < 0 else period


def mark_graceful(obj: Obj, period: int) -> None:
    """Start a graceful delete of ``obj`` (a copy the caller stores)."""
    meta = obj["metadata"]
    meta["deletionTimestamp"] = now_rfc3339(time.time() + period)
    meta["deletionGracePeriodSeconds"] = period
    if meta.get("generation"):
        meta["generation"] = int(meta["generation"]) + 1


def _epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


def shorten(obj: Obj, requested: int | None) -> bool | None:
    """A delete of an object already terminating gracefully: True when it shortens the grace
    period (``obj`` changed), False when the delete changes nothing, None when the object
    has no grace period left (deleted at once)."""
    meta = obj["metadata"]
    current = meta.get("deletionGracePeriodSeconds")
    if not isinstance(current, int) or current == 0:
        return None
    if requested is None or requested >= current:
        return False
    requested = max(requested, 0)
    start = _epoch(str(meta["deletionTimestamp"])) - current
    meta["deletionTimestamp"] = now_rfc3339(start + requested)
    meta["deletionGracePeriodSeconds"] = requested
    return True


# -- storage protection --------------------------------------------------------------------

_PROTECTION = {("", "PersistentVolumeClaim"): "kubernetes.io/pvc-protection",
               ("", "PersistentVolume"): "kubernetes.io/pv-protection",
               ("storage.k8s.io", "VolumeAttributesClass"): "kubernetes.io/vac-protection"}


def _claims(pod: Obj) -> list[str]:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    return [str(v["persistentVolumeClaim"].get("claimName")) for v in volumes
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


def _in_use(api: ApiState, spec: KindSpec, obj: Obj) -> bool:
    name = obj["metadata"].get("name")
    if spec.kind == "PersistentVolumeClaim":
        namespace = obj["metadata"].get("namespace")
        return any(p["metadata"].get("namespace") == namespace and name in _claims(p) and
                   (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                   for p in api.all_of("pods"))
    if spec.kind == "PersistentVolume":
        return any((c.get("spec") or {}).get("volumeName") == name
                   for c in api.all_of("persistentvolumeclaims"))
    return any((o.get("spec") or {}).get("volumeAttributesClassName") == name
               for plural in ("persistentvolumeclaims", "persistentvolumes")
               for o in api.all_of(plural))


def release_protection(api: ApiState, spec: KindSpec, key: str) -> None:
    """The pvc-, pv- and vac-protection controllers: a terminating claim, volume or volume
    attributes class that nothing uses loses its protection finalizer (under the write
    lock), and goes when that was the last one."""
    finalizer = _PROTECTION.get((spec.group, spec.kind))
    obj = api.store.get(api.bucket(spec), key) if finalizer else None
    if obj is None or not obj["metadata"].get("deletionTimestamp") or \
            finalizer not in (obj["metadata"].get("finalizers") or []) or \
            _in_use(api, spec, obj):
        return
    updated = deep_copy(obj)
    meta = updated["metadata"]
    meta["finalizers"] = [f for f in meta["finalizers"] if f != finalizer]
    meta["resourceVersion"] = str(api.store.next_rv())
    if meta["finalizers"]:
        api.store.put(api.bucket(spec), key, canonical(updated))
        return
    meta.pop("finalizers")
    api.remove(spec, key, updated)


def released_by(api: ApiState, spec: KindSpec, removed: Obj) -> None:
    """An object left storage: what it used may lose its protection now."""
    meta = removed.get("metadata") or {}
    uses: list[tuple[str, str, str | None, str]] = []
    if (spec.group, spec.kind) == ("", "Pod"):
        uses = [("", "persistentvolumeclaims", meta.get("namespace"), c) for c in _claims(removed)]
    elif (spec.group, spec.kind) == ("", "PersistentVolumeClaim"):
        volume = (removed.get("spec") or {}).get("volumeName")
        uses = [("", "persistentvolumes", None, str(volume))] if volume else []
    for group, plural, namespace, name in uses:
        used = next((s for s in api.table.all() if (s.group, s.plural) == (group, plural)), None)
        if used is not None:
            release_protection(api, api.table.storage_spec(used), storage_key(namespace, name))


class Kubelet:
    """Stops the containers of gracefully deleted Pods, then deletes them for good; keeps
    what their containers print (:meth:`write_log`), run (:meth:`on_exec`) and listen on
    (:meth:`on_port`).

    ``stop_seconds``: how long containers that honour SIGTERM take to stop. One daemon
    thread, started on the first graceful delete and ended by :meth:`close`.
    """

    def __init__(self, api: ApiState, stop_seconds: float = 0.2):
        self._api = api
        self.stop_seconds = stop_seconds
        self._lock = threading.Condition()
        self._queue: list[tuple[float, int, str, str]] = []
        self._started: dict[str, tuple[str, float]] = {}
        self._stubborn: set[str] = set()
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.logs = ContainerLogs(api)
        """What the containers printed (``GET pods/{name}/log`` reads it)."""
        self.streams = PodStreams(api)
        """What exec, attach and port-forward reach (see :class:`~.podstreams.PodStreams`)."""

    def on_exec(self, namespace: str, pod: str, container: str, handler: ExecHandler) -> None:
        """Commands run in ``container`` of Pod ``namespace/pod`` (and attaches to it, with
        ``command == []``) call ``handler(command, stdin, stdout, stderr, *, tty, resize)``
        in a thread of their own; it returns the exit code. Forgotten when the Pod goes."""
        self.streams.on_exec(namespace, pod, container, handler)

    def on_port(self, namespace: str, pod: str, port: int, target: PortTarget) -> None:
        """Connections forwarded to ``port`` of Pod ``namespace/pod`` reach ``target``: a
        callable given each connection (``recv``/``sendall``/``shutdown_write``/``close``),
        or a local ``(host, port)`` to connect to. Forgotten when the Pod goes."""
        self.streams.on_port(namespace, pod, port, target)

    def write_log(self, namespace: str, pod: str, container: str, text: str | bytes, *,
                  previous: bool = False, at: datetime | float | None = None) -> None:
        """Container ``container`` of Pod ``namespace/pod`` printed ``text`` (at ``at``, a
        datetime or epoch seconds; now by default); ``previous``: its last terminated
        instance did. See :class:`~.podlogs.ContainerLogs`."""
        self.logs.write(namespace, pod, container, text, previous=previous, at=at)

    def ignore_sigterm(self, namespace: str, name: str) -> None:
        """The containers of Pod ``namespace/name`` ignore SIGTERM: a graceful delete takes
        the whole grace period (which a later delete with a shorter one can cut)."""
        with self._lock:
            self._stubborn.add(storage_key(namespace, name))

    def terminating(self, namespace: str, name: str, uid: str, grace: int) -> None:
        key = storage_key(namespace, name)
        now = time.time()
        with self._lock:
            if self._closed:
                return
            started = self._started.get(key)
            start = started[1] if started and started[0] == uid else now
            self._started[key] = (uid, start)
            due = start + grace
            if key not in self._stubborn:
                due = min(due, now + self.stop_seconds)
            self._seq += 1
            heapq.heappush(self._queue, (due, self._seq, key, uid))
            self._start()
            self._lock.notify()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dynakube-kubelet",
                                            daemon=True)
            self._thread.start()

    def start(self) -> None:
        """Resume after :meth:`close` (the server started again): Pods that were stopping
        finish stopping."""
        with self._lock:
            self._closed = False
            if self._queue:
                self._start()

    def close(self) -> None:
        """Stop the thread (the server stopped); Pods still terminating stay so, and the
        connections forwarded into Pods end."""
        self.streams.close_connections()
        with self._lock:
            self._closed = True
            self._lock.notify()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (not self._queue or
                                            self._queue[0][0] > time.time()):
                    wait = self._queue[0][0] - time.time() if self._queue else None
                    self._lock.wait(wait)
                if self._closed:
                    return
                _, _, key, uid = heapq.heappop(self._queue)
            self._stopped(key, uid)

    def _stopped(self, key: str, uid: str) -> None:
        """The containers of Pod ``key`` stopped: delete it with a grace period of 0 (the
        kubelet's last word), unless it is gone or is another Pod by now."""
        spec = self._api.table.lookup("", "v1", "pods")
        if spec is None:
            return
        with self._api.write_lock:
            obj: Any = self._api.store.get(self._api.bucket(spec), key)
            if obj is None or obj["metadata"].get("uid") != uid or \
                    not obj["metadata"].get("deletionTimestamp"):
                return
            self._api.delete_stored(spec, key, grace=0)
        with self._lock:
            if self._started.get(key, ("",))[0] == uid and not any(
                    entry[2] == key for entry in self._queue):
                self._started.pop(key, None)
