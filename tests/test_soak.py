"""Soak: an informer through cuts, corruption, compaction and a server restarted empty.

Bounded to ``DYNAKUBE_SOAK_SECONDS`` (30 by default; CI keeps it under a minute) and by the
number of writes. Writes go on all along; at the end the informer's store must equal a fresh
list (0 missing, 0 extra, 0 stale) and the requests it made must stay within a bound that
grows with the faults injected, not with the time spent.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from test_faults import NS, PATH, Rig, cm, fresh, make_rig, versions
from watchfakes import wait_until

from dynakube.client import Client
from dynakube.controller.informer import DeletedFinalStateUnknown, Informer
from dynakube.errors import ApiError, TransportError
from dynakube.testing import ApiServer
from dynakube.watch import Backoff

SECONDS = float(os.environ.get("DYNAKUBE_SOAK_SECONDS", "30"))
MAX_WRITES = 20_000


class Writer:
    """Creates, updates and deletes ConfigMaps straight on whichever server is current."""

    def __init__(self, rig: Rig, seed: int):
        self.rig = rig
        self.rng = random.Random(seed)
        self.lock = threading.Lock()  # held while the server is swapped
        self.writes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _step(self, direct: Client) -> None:
        cms = direct.resource("configmaps")
        name = f"w{self.rng.randrange(40)}"
        try:
            if self.rng.random() < 0.5:
                cms.create(cm(name, step=str(self.writes)))
            elif self.rng.random() < 0.6:
                cms.patch(name, {"data": {"step": str(self.writes)}}, NS)
            else:
                cms.delete(name, NS)
        except ApiError:
            pass  # exists already / not there: the churn is random
        self.writes += 1

    def _run(self) -> None:
        while not self._stop.is_set() and self.writes < MAX_WRITES:
            with self.lock:
                try:
                    self._step(self.rig.direct)
                except TransportError:
                    pass  # the old server went away under the write
            time.sleep(0.005)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def soak(rig: Rig, writer: Writer, faults: dict[str, int], rng: random.Random) -> None:
    """Inject a fault every 0.5-1.5 s for SECONDS, each kind in turn; the server restarts
    empty once, at three quarters, and is not compacted after that: only noticing the reset
    (not a 410 from a later compaction) can clear what the old server had."""
    deadline = time.monotonic() + SECONDS
    restart_at = time.monotonic() + SECONDS * 3 / 4
    kinds = ["cut", "corrupt", "stall", "compact"]
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 1.5))
        if faults["restart"] == 0 and time.monotonic() >= restart_at:
            with writer.lock:
                rig.restart_empty()
            faults["restart"] += 1
            kinds.remove("compact")
            continue
        kind = kinds[sum(faults.values()) % len(kinds)]
        if kind == "cut":
            rig.proxy.cut_all()
        elif kind == "corrupt":
            rig.proxy.corrupt_watches(every=rng.randrange(500, 5000))
            time.sleep(0.5)
            rig.proxy.corrupt_watches(None)
        elif kind == "stall":
            rig.proxy.stall()
        else:
            with writer.lock:
                rig.server.faults.close_watches()
                rig.server.faults.compact()
        faults[kind] += 1
    rig.proxy.heal()


def test_informer_soak_through_cuts_restart_and_compaction() -> None:
    server = ApiServer(bookmark_interval=0.5).start()
    proxy, kube, direct = make_rig(server)
    rig = Rig(server, proxy, kube, direct)
    informer = Informer(rig.cms, namespace=NS, backoff=Backoff(0.1, 2.0), read_timeout=3.0)
    faults: dict[str, int] = {"cut": 0, "corrupt": 0, "stall": 0, "compact": 0, "restart": 0}
    deleted: list[Any] = []
    informer.add_handler(on_delete=deleted.append)
    try:
        for i in range(10):  # objects no write touches again: only a relist can drop them
            rig.direct.resource("configmaps").create(cm(f"pre{i}"))
        with informer:
            assert informer.wait_for_sync(60)
            with Writer(rig, seed=7) as writer:
                soak(rig, writer, faults, random.Random(13))
            # writes stopped: the informer must converge to exactly the server's state
            assert wait_until(lambda: versions(informer.store.list()) == fresh(rig.direct), 90)
            assert informer.flush(30)
            assert wait_until(lambda: informer.last_error is None and informer.healthy(), 30)
        expected = fresh(rig.direct)
        have = versions(informer.store.list())
        missing = expected.keys() - have.keys()
        extra = have.keys() - expected.keys()
        stale = {k for k in expected.keys() & have.keys() if expected[k] != have[k]}
        assert (missing, extra, stale) == (set(), set(), set())
        assert faults["restart"] == 1 and writer.writes > 50
        injected = sum(faults.values())
        watches = rig.proxy.count(watch=True, path=PATH)
        lists = rig.proxy.count(watch=False, path=PATH)
        # a few requests per fault (reconnects, a relist, backoff retries), never a loop
        assert watches <= 10 + 4 * injected, (watches, faults)
        assert lists <= 5 + 4 * injected, (lists, faults)
        assert informer.reflector.relists >= 2  # at least the restart forced one
        # what the restart took away was reported, marked as never seen deleted
        assert any(isinstance(d, DeletedFinalStateUnknown) for d in deleted)
    finally:
        rig.kube.close()
        rig.direct.close()
        rig.proxy.stop()
        rig.server.stop()
