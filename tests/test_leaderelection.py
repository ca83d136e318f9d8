"""Leader election: acquire, renew, expiry by the observer's clock, conflicts, release."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from dynakube.controller.leaderelection import LeaderElector, LeaseRecord
from dynakube.errors import AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError


class FakeLeases:
    """An in-memory Lease store with the server's optimistic concurrency (resourceVersion)."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.rv = 1
        self.lock = threading.Lock()
        self.writes = 0

    def get(self, name: str, namespace: Any = None, /) -> dict[str, Any]:
        with self.lock:
            lease = self.leases.get((namespace, name))
            if lease is None:
                raise NotFoundError(404, {"reason": "NotFound", "message": "not found"})
            return copy.deepcopy(lease)

    def create(self, body: dict[str, Any], /) -> dict[str, Any]:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        with self.lock:
            if key in self.leases:
                raise AlreadyExistsError(409, {"reason": "AlreadyExists", "message": "exists"})
            return self._store(key, body)

    def replace(self, body: dict[str, Any], /) -> dict[str, Any]:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        with self.lock:
            current = self.leases[key]
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                raise ConflictError(409, {"reason": "Conflict", "message": "modified"})
            return self._store(key, body)

    def _store(self, key: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        self.writes += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self.rv)
        self.leases[key] = stored
        return copy.deepcopy(stored)

    def record(self, name: str = "lock") -> LeaseRecord:
        return LeaseRecord.from_lease(self.leases[("ns", name)])


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def elector(leases: FakeLeases, identity: str, clock: Clock, **kw: Any) -> LeaderElector:
    return LeaderElector(leases, "lock", "ns", identity, lease_duration=15, renew_deadline=10,
                         retry_period=2, clock=clock, **kw)


def test_first_candidate_creates_the_lease() -> None:
    leases, clock = FakeLeases(), Clock()
    a = elector(leases, "a", clock)
    assert a.try_acquire_or_renew()
    record = leases.record()
    assert record.holder_identity == "a" and record.lease_duration_seconds == 15
    assert record.acquire_time == record.renew_time == clock.now
    assert record.lease_transitions == 0
    spec = leases.leases[("ns", "lock")]["spec"]
    assert spec["renewTime"].endswith("Z") and "." in spec["renewTime"]  # MicroTime


def test_renewal_keeps_acquire_time_and_moves_renew_time() -> None:
    leases, clock = FakeLeases(), Clock()
    a = elector(leases, "a", clock)
    assert a.try_acquire_or_renew()
    acquired = leases.record().acquire_time
    clock.now += 2
    assert a.try_acquire_or_renew()
    record = leases.record()
    assert record.acquire_time == acquired and record.renew_time == clock.now
    assert record.lease_transitions == 0


def test_others_wait_for_expiry_measured_on_their_own_clock() -> None:
    leases, clock = FakeLeases(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    assert a.try_acquire_or_renew()
    new_leaders: list[str] = []
    b.on_new_leader = new_leaders.append
    assert not b.try_acquire_or_renew() and b.leader == "a" and new_leaders == ["a"]
    # b's clock is far ahead of a's: the renewTime in the record must not matter
    clock.now += 14
    assert not b.try_acquire_or_renew()
    clock.now += 2  # 16s since b first saw this record: expired
    assert b.try_acquire_or_renew()
    record = leases.record()
    assert record.holder_identity == "b" and record.lease_transitions == 1
    assert record.acquire_time == clock.now
    assert not a.try_acquire_or_renew()  # a sees b holding a fresh lease


def test_a_renewed_record_restarts_the_observers_expiry() -> None:
    leases, clock = FakeLeases(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.now += 10
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # changed record seen: the 15s start again
    clock.now += 10
    assert not b.try_acquire_or_renew()


def test_concurrent_takeover_has_one_winner() -> None:
    leases, clock = FakeLeases(), Clock()
    assert elector(leases, "old", clock).try_acquire_or_renew()
    b, c = elector(leases, "b", clock), elector(leases, "c", clock)
    assert not b.try_acquire_or_renew() and not c.try_acquire_or_renew()
    clock.now += 20
    original_get = leases.get
    seen: dict[str, dict[str, Any]] = {}

    def stale_get(name: str, namespace: Any = None, /) -> dict[str, Any]:
        # both candidates read the lease before either writes
        return copy.deepcopy(seen.setdefault(name, original_get(name, namespace)))

    leases.get = stale_get  # type: ignore[method-assign]
    results = [b.try_acquire_or_renew(), c.try_acquire_or_renew()]
    assert results == [True, False]
    assert leases.record().holder_identity == "b"


def test_release_clears_the_holder() -> None:
    leases, clock = FakeLeases(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    assert not a.release()  # holds nothing yet
    assert a.try_acquire_or_renew()
    assert a.release()
    record = leases.record()
    assert record.holder_identity == "" and record.lease_duration_seconds == 1
    assert b.try_acquire_or_renew()  # no need to wait for expiry
    assert leases.record().lease_transitions == 1


def test_run_leads_calls_back_and_releases_on_stop() -> None:
    leases = FakeLeases()
    started, stopped, work_ended = threading.Event(), threading.Event(), threading.Event()

    def lead(over: threading.Event) -> None:
        started.set()
        over.wait()
        work_ended.set()

    a = LeaderElector(leases, "lock", "ns", "a", lease_duration=1.0, renew_deadline=0.5,
                      retry_period=0.05, on_started_leading=lead,
                      on_stopped_leading=stopped.set)
    a.start()
    assert started.wait(30)
    assert a.is_leader
    a.stop()
    assert stopped.is_set() and work_ended.wait(30)
    assert not a.is_leader
    assert leases.record().holder_identity == ""


def test_leader_steps_down_when_it_cannot_renew() -> None:
    leases = FakeLeases()
    stopped = threading.Event()
    a = LeaderElector(leases, "lock", "ns", "a", lease_duration=1.0, renew_deadline=0.5,
                      retry_period=0.05, on_stopped_leading=stopped.set)
    a.start()
    assert wait_for(lambda: a.is_leader)
    # someone rewrites the lease to another holder (e.g. after a long pause of ours)
    lease = leases.get("lock", "ns")
    lease["spec"]["holderIdentity"] = "intruder"
    leases.replace(lease)
    assert stopped.wait(30)
    assert not a.is_leader
    a.stop()
    assert leases.record().holder_identity == "intruder"  # not ours: not released


def wait_for(condition: Any, timeout: float = 30.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return bool(condition())


def test_bad_timings_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        LeaderElector(FakeLeases(), "l", "ns", "a", lease_duration=5, renew_deadline=10)
    with pytest.raises(InvalidArgumentError):
        LeaderElector(FakeLeases(), "l", "ns", "", lease_duration=15)
