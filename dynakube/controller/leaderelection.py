"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection``.

Several replicas of a controller run; one holds the Lease and does the work. The holder
renews ``spec.renewTime`` every ``retry_period``; the others watch the record and take over
only when it has not changed for ``lease_duration`` — measured on *their own* clock from when
they last saw it change, so clock skew between machines does not matter. Writes use the
Lease's resourceVersion (optimistic concurrency): of two candidates racing for an expired
lease, exactly one wins. A leader that cannot renew within ``renew_deadline`` steps down;
on a clean stop it releases the lease so a successor need not wait.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import ConflictError, DynakubeError, InvalidArgumentError, NotFoundError

__all__ = ["LeaderElector", "LeaseRecord", "LeaseResource"]

log = logging.getLogger(__name__)

_JITTER = 1.2  # client-go's JitterFactor for the acquire/renew period


class LeaseResource(Protocol):
    """What the elector needs: ``client.resource("leases")`` (get, create, replace)."""

    def get(self, name: str, namespace: Any = None, /) -> dict[str, Any]: ...
    def create(self, body: dict[str, Any], /) -> dict[str, Any]: ...
    def replace(self, body: dict[str, Any], /) -> dict[str, Any]: ...


def _format_time(when: float) -> str:
    """A ``MicroTime``: RFC 3339 with microseconds, UTC."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class LeaseRecord:
    """The leader-election fields of a Lease's ``spec``."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: float | None = None
    renew_time: float | None = None
    lease_transitions: int = 0

    @classmethod
    def from_lease(cls, lease: dict[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(str(spec.get("holderIdentity") or ""),
                   int(spec.get("leaseDurationSeconds") or 0),
                   _parse_time(spec.get("acquireTime")), _parse_time(spec.get("renewTime")),
                   int(spec.get("leaseTransitions") or 0))

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.lease_transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = _format_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = _format_time(self.renew_time)
        return spec


class LeaderElector:
    """Campaign for a Lease and call back when leadership starts and stops.

    ``on_started_leading(stop_event)`` runs on its own thread once the lease is acquired;
    ``stop_event`` is set when leadership ends, so long-running work can return.
    ``on_stopped_leading()`` is called when leadership ends (lost, or :meth:`stop`).
    ``on_new_leader(identity)`` is called whenever another holder is observed.
    :meth:`run` blocks until leadership is lost or :meth:`stop` is called.
    """

    def __init__(self, leases: LeaseResource, name: str, namespace: str, identity: str, *,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry_period: float = 2.0,
                 on_started_leading: Callable[[threading.Event], None] | None = None,
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 release_on_stop: bool = True,
                 clock: Callable[[], float] = time.time):
        if not identity:
            raise InvalidArgumentError("leader election needs a non-empty identity")
        if not lease_duration > renew_deadline > retry_period * _JITTER > 0:
            raise InvalidArgumentError(
                "need lease_duration > renew_deadline > retry_period * 1.2 > 0 "
                f"(got {lease_duration}, {renew_deadline}, {retry_period})")
        self.leases, self.name, self.namespace, self.identity = leases, name, namespace, identity
        self.lease_duration, self.renew_deadline = lease_duration, renew_deadline
        self.retry_period = retry_period
        self.on_started_leading, self.on_stopped_leading = on_started_leading, on_stopped_leading
        self.on_new_leader = on_new_leader
        self.release_on_stop = release_on_stop
        self._clock = clock
        self._observed: LeaseRecord | None = None
        self._observed_raw: dict[str, Any] | None = None
        self._observed_at = 0.0  # local clock time the record last changed
        self._reported_leader: str | None = None
        self._stop = threading.Event()
        self._leading = threading.Event()
        self._leadership_over = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()

    # -- state ----------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    @property
    def leader(self) -> str | None:
        """The holder identity last observed ("" or None when nobody holds the lease)."""
        return self._observed.holder_identity if self._observed else None

    # -- one attempt (pure given the lease API and the clock) ------------------------------
    def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; True when we hold it afterwards."""
        now = self._clock()
        try:
            lease = self.leases.get(self.name, self.namespace)
        except NotFoundError:
            record = LeaseRecord(self.identity, self._duration_seconds(), now, now, 0)
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": record.to_spec()}
            try:
                created = self.leases.create(body)
            except ConflictError:  # someone else created it first
                return False
            self._observe(created, now)
            return True
        self._observe(lease, now)
        assert self._observed is not None
        current = self._observed
        if (current.holder_identity and current.holder_identity != self.identity
                and self._observed_at + self.lease_duration > now):
            return False  # held by someone else and not expired (by our clock)
        if current.holder_identity == self.identity:
            record = LeaseRecord(self.identity, self._duration_seconds(),
                                 current.acquire_time or now, now, current.lease_transitions)
        else:
            record = LeaseRecord(self.identity, self._duration_seconds(), now, now,
                                 current.lease_transitions + 1)
        updated = dict(lease)
        updated["spec"] = {**(lease.get("spec") or {}), **record.to_spec()}
        try:
            result = self.leases.replace(updated)  # carries metadata.resourceVersion
        except ConflictError:
            return False
        self._observe(result, now)
        return True

    def release(self) -> bool:
        """Give the lease up if we hold it (holder cleared, duration 1s); True on success."""
        if self._observed_raw is None or self._observed is None:
            return False
        if self._observed.holder_identity != self.identity:
            return False
        now = self._clock()
        record = LeaseRecord("", 1, now, now, self._observed.lease_transitions)
        updated = dict(self._observed_raw)
        updated["spec"] = {**(self._observed_raw.get("spec") or {}), **record.to_spec()}
        try:
            result = self.leases.replace(updated)
        except DynakubeError as e:
            log.warning("releasing lease %s/%s failed: %s", self.namespace, self.name, e)
            return False
        self._observe(result, now)
        return True

    def _duration_seconds(self) -> int:
        return max(1, int(round(self.lease_duration)))

    def _observe(self, lease: dict[str, Any], now: float) -> None:
        record = LeaseRecord.from_lease(lease)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        self._observed_raw = lease
        holder = record.holder_identity
        if holder and holder != self.identity and holder != self._reported_leader:
            self._reported_leader = holder
            if self.on_new_leader is not None:
                self._safe(self.on_new_leader, holder)
        elif holder == self.identity:
            self._reported_leader = holder

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        """Acquire, lead until the lease cannot be renewed or :meth:`stop`, then return."""
        with self._run_lock:
            if not self._acquire():
                return
            self._leading.set()
            self._leadership_over.clear()
            log.info("%s became leader of lease %s/%s", self.identity, self.namespace,
                     self.name)
            if self.on_started_leading is not None:
                threading.Thread(target=self._safe,
                                 args=(self.on_started_leading, self._leadership_over),
                                 name=f"leader-{self.name}", daemon=True).start()
            try:
                self._renew_loop()
            finally:
                self._leading.clear()
                self._leadership_over.set()
                if self._stop.is_set() and self.release_on_stop:
                    self.release()
                if self.on_stopped_leading is not None:
                    self._safe(self.on_stopped_leading)

    def _attempt(self) -> bool:
        try:
            return self.try_acquire_or_renew()
        except DynakubeError as e:
            log.warning("lease %s/%s: %s", self.namespace, self.name, e)
            return False

    def _acquire(self) -> bool:
        while not self._stop.is_set():
            if self._attempt():
                return True
            self._stop.wait(self.retry_period * (1 + random.random() * (_JITTER - 1)))
        return False

    def _renew_loop(self) -> None:
        last_renew = self._clock()
        while not self._stop.wait(self.retry_period):
            if self._attempt():
                last_renew = self._clock()
                continue
            if self._clock() - last_renew >= self.renew_deadline:
                log.warning("%s lost lease %s/%s: not renewed within %ss", self.identity,
                            self.namespace, self.name, self.renew_deadline)
                return
            if self._observed and self._observed.holder_identity not in ("", self.identity):
                log.warning("%s lost lease %s/%s to %s", self.identity, self.namespace,
                            self.name, self._observed.holder_identity)
                return

    def start(self) -> LeaderElector:
        """Run in a background thread; returns self."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"elector-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop campaigning or leading; releases the lease if held (``release_on_stop``)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> LeaderElector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _safe(func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("leader election callback %r failed", func)
