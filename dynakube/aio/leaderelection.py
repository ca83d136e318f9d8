"""Leader election on the event loop: campaign for a Lease from a task, lead in another.

:class:`AsyncLeaderElector` is the sync :class:`~dynakube.controller.leaderelection.LeaderElector`
(its timings and their checks, the observed record and its clock, the ``LeaseRecord`` it
writes, the new-leader callback) with the lease calls awaited: the Lease resource is an
:class:`~dynakube.aio.resource.AsyncResource`, and the callbacks may be coroutine functions.
Its methods that talk to the server are coroutines of the same names.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from ..controller.leaderelection import LeaderElector, LeaseRecord
from ..errors import ConflictError, DynakubeError, NotFoundError

__all__ = ["AsyncLeaderElector"]

log = logging.getLogger("dynakube.controller.leaderelection")
_JITTER = 1.2  # as the sync elector (client-go's JitterFactor)


class AsyncLeaderElector:
    """Campaign for a Lease and call back when leadership starts and stops.

    ``on_started_leading(stop_event)`` runs as its own task once the lease is acquired (an
    :class:`asyncio.Event` set when leadership ends); ``on_stopped_leading()`` and
    ``on_new_leader(identity)`` as the sync elector's. ``start()`` runs :meth:`run` as a
    task; ``await stop()`` ends it and releases the lease (``release_on_stop``).

    It holds a sync :class:`~dynakube.controller.leaderelection.LeaderElector` for what is
    pure (the timings and their checks, the observed record, its clock and callbacks) and
    never calls its blocking methods; so none is overridden by a coroutine.
    """

    def __init__(self, leases: Any, name: str, namespace: str, identity: str,
                 **options: Any):
        self._callbacks: set[asyncio.Task[None]] = set()
        heard = options.get("on_new_leader")
        if heard is not None:  # the core calls it from _observe: run it as a task
            options["on_new_leader"] = lambda holder: self._spawn(_call(heard, holder))
        self._core = LeaderElector(leases, name, namespace, identity, **options)
        self.leases = leases
        self.name, self.namespace, self.identity = name, namespace, identity
        self._astop = asyncio.Event()
        self._over = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._work: asyncio.Task[Any] | None = None

    def __repr__(self) -> str:
        return f"<AsyncLeaderElector {self.namespace}/{self.name} {self.identity}>"

    # -- what the core holds ------------------------------------------------------------
    @property
    def lease_duration(self) -> float:
        return self._core.lease_duration

    @property
    def renew_deadline(self) -> float:
        return self._core.renew_deadline

    @property
    def retry_period(self) -> float:
        return self._core.retry_period

    @property
    def release_on_stop(self) -> bool:
        return self._core.release_on_stop

    @property
    def on_started_leading(self) -> Callable[..., Any] | None:
        return self._core.on_started_leading

    @property
    def on_stopped_leading(self) -> Callable[..., Any] | None:
        return self._core.on_stopped_leading

    @property
    def is_leader(self) -> bool:
        return self._core.is_leader

    @property
    def leader(self) -> str | None:
        """The holder identity last observed ("" or None when nobody holds the lease)."""
        return self._core.leader

    @property
    def _observed(self) -> LeaseRecord | None:
        return self._core._observed

    def _clock(self) -> float:
        return self._core._clock()

    def _observe(self, lease: dict[str, Any], now: float) -> None:
        self._core._observe(lease, now)

    def _duration_seconds(self) -> int:
        return self._core._duration_seconds()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; True when we hold it afterwards."""
        now = self._clock()
        try:
            lease = await self.leases.get(self.name, self.namespace)
        except NotFoundError:
            record = LeaseRecord(self.identity, self._duration_seconds(), now, now, 0)
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": record.to_spec()}
            try:
                created = await self.leases.create(body)
            except ConflictError:
                return False
            self._observe(created, now)
            return True
        self._observe(lease, now)
        current = self._observed
        assert current is not None
        if (current.holder_identity and current.holder_identity != self.identity
                and self._core._observed_at + self.lease_duration > now):
            return False
        mine = current.holder_identity == self.identity
        record = LeaseRecord(self.identity, self._duration_seconds(),
                             (current.acquire_time or now) if mine else now, now,
                             current.lease_transitions + (0 if mine else 1))
        try:
            result = await self.leases.replace(
                {**lease, "spec": {**(lease.get("spec") or {}), **record.to_spec()}})
        except ConflictError:
            return False
        self._observe(result, now)
        return True

    async def release(self) -> bool:
        """Give the lease up if we hold it (holder cleared, duration 1s); True on success."""
        raw, observed = self._core._observed_raw, self._observed
        if raw is None or observed is None or observed.holder_identity != self.identity:
            return False
        now = self._clock()
        record = LeaseRecord("", 1, now, now, observed.lease_transitions)
        try:
            result = await self.leases.replace(
                {**raw, "spec": {**(raw.get("spec") or {}), **record.to_spec()}})
        except DynakubeError as e:
            log.warning("releasing lease %s/%s failed: %s", self.namespace, self.name, e)
            return False
        self._observe(result, now)
        return True

    async def run(self) -> None:
        """Acquire, lead until the lease cannot be renewed or :meth:`stop`, then return."""
        if not await self._acquire_async():
            return
        self._core._leading.set()
        self._over.clear()
        log.info("%s became leader of lease %s/%s", self.identity, self.namespace, self.name)
        if self.on_started_leading is not None:
            self._work = asyncio.create_task(
                _call(self.on_started_leading, self._over), name=f"leader-{self.name}")
        try:
            await self._renew_async()
        finally:
            self._core._leading.clear()
            self._over.set()
            if self._astop.is_set() and self.release_on_stop:
                await self.release()
            if self.on_stopped_leading is not None:
                await _call(self.on_stopped_leading)

    async def _attempt_async(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except DynakubeError as e:
            log.warning("lease %s/%s: %s", self.namespace, self.name, e)
            return False

    async def _wait_stop(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._astop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _acquire_async(self) -> bool:
        while not self._astop.is_set():
            if await self._attempt_async():
                return True
            await self._wait_stop(self.retry_period * (1 + random.random() * (_JITTER - 1)))
        return False

    async def _renew_async(self) -> None:
        last_renew = self._clock()
        while not await self._wait_stop(self.retry_period):
            if await self._attempt_async():
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

    def start(self) -> AsyncLeaderElector:
        """Run :meth:`run` as a task on the running loop; returns self."""
        self._astop.clear()
        self._task = asyncio.create_task(self.run(), name=f"elector-{self.name}")
        return self

    async def stop(self, timeout: float | None = 10.0) -> None:
        """Stop campaigning or leading; releases the lease if held (``release_on_stop``)."""
        self._astop.set()
        if self._task is not None:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)

    async def __aenter__(self) -> AsyncLeaderElector:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _call(func: Callable[..., Any], *args: Any) -> None:
    """A callback, plain or a coroutine function; a failure is logged, never raised."""
    try:
        result = func(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("leader election callback %r failed", func)
