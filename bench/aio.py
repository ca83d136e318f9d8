"""The asyncio client against the sync one: ``python bench/run.py --only aio [--smoke]``.

Cases (each measured in a fresh worker process, ``REPEAT`` times; medians reported):
list of N ConfigMaps (wall time and ``tracemalloc`` peak), 1,000 concurrent gets (``gather``
on a pool of 10 connections against 10 threads), many idle watches on one event loop (the
thread count and KB per watch), and events per second through one watch.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import tracemalloc
from typing import Any

from harness import Conn, run_worker
from report import DYNAKUBE, Row

__all__ = ["run", "measure"]

REPEAT = 3


def _async_client(conn: Conn, **kw: Any) -> Any:
    from dynakube.aio import AsyncClient

    return AsyncClient(kubeconfig=conn.kubeconfig, context=conn.context, validate=False, **kw)


def _list(conn: Conn, ns: str, flavour: str) -> dict[str, float]:
    if flavour == "sync":
        kube = conn.dynakube(validate=False)
        res = kube.resource("configmaps")
        res.list(ns, limit=1)

        def once() -> Any:
            return res.list(ns)
        started = time.perf_counter()
        once()
        wall = time.perf_counter() - started
        tracemalloc.start()
        once()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"wall": wall, "mb": peak / 1e6}

    async def main() -> dict[str, float]:
        async with _async_client(conn) as kube:
            res = await kube.resource("configmaps")
            await res.list(ns, limit=1)
            started = time.perf_counter()
            await res.list(ns)
            wall = time.perf_counter() - started
            tracemalloc.start()
            await res.list(ns)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return {"wall": wall, "mb": peak / 1e6}

    return asyncio.run(main())


def _gets(conn: Conn, ns: str, flavour: str, n: int) -> dict[str, float]:
    name = "kube-root-ca.crt"
    if flavour == "sync":
        from concurrent.futures import ThreadPoolExecutor

        kube = conn.dynakube(validate=False, qps=None)
        res = kube.resource("configmaps")
        res.get(name, ns)
        with ThreadPoolExecutor(10) as pool:
            started = time.perf_counter()
            list(pool.map(lambda _: res.get(name, ns), range(n)))
            return {"wall": time.perf_counter() - started}

    async def main() -> dict[str, float]:
        async with _async_client(conn, qps=None, max_connections=10) as kube:
            res = await kube.resource("configmaps")
            await res.get(name, ns)
            started = time.perf_counter()
            await asyncio.gather(*(res.get(name, ns) for _ in range(n)))
            return {"wall": time.perf_counter() - started,
                    "connections": float(kube.transport.open_connections)}

    return asyncio.run(main())


def _watches(conn: Conn, ns: str, n: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        async with _async_client(conn) as kube:
            res = await kube.resource("configmaps")
            rv = (await res.list(ns, limit=1))["metadata"]["resourceVersion"]
            threads = threading.active_count()

            async def drain(watch: Any) -> None:
                async for _ in watch:
                    pass

            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            watches = [res.watch(ns, resource_version=rv) for _ in range(n)]
            tasks = [asyncio.create_task(drain(w)) for w in watches]
            while not all(w.alive_at for w in watches):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            used = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            result = {"threads_added": float(threading.active_count() - threads),
                      "kb_per_watch": used / n / 1024}
            for w in watches:
                w.stop()
            await asyncio.gather(*tasks)
            return result

    return asyncio.run(main())


def _events(conn: Conn, ns: str, flavour: str, n: int) -> dict[str, float]:
    if flavour == "sync":
        kube = conn.dynakube(validate=False)
        res = kube.resource("configmaps")
        started = time.perf_counter()
        count = 0
        with res.watch(ns, resource_version="0") as watch:
            for _ in watch:
                count += 1
                if count == n:
                    break
        return {"per_s": n / (time.perf_counter() - started)}

    async def main() -> dict[str, float]:
        async with _async_client(conn) as kube:
            res = await kube.resource("configmaps")
            started = time.perf_counter()
            count = 0
            async with res.watch(ns, resource_version="0") as watch:
                async for _ in watch:
                    count += 1
                    if count == n:
                        break
            return {"per_s": n / (time.perf_counter() - started)}

    return asyncio.run(main())


def measure(case: str, conn: dict[str, Any], ns: str, flavour: str,
            n: int = 0) -> dict[str, float]:
    """One measurement (in a worker process)."""
    c = Conn.from_json(conn)
    if case == "list":
        return _list(c, ns, flavour)
    if case == "gets":
        return _gets(c, ns, flavour, n)
    if case == "watches":
        return _watches(c, ns, n)
    return _events(c, ns, flavour, n)


def _median(case: str, conn: Conn, ns: str, flavour: str, n: int = 0) -> dict[str, float]:
    runs = [run_worker("aio", "measure", case=case, conn=conn.to_json(), ns=ns,
                       flavour=flavour, n=n) for _ in range(REPEAT)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _pair(case: str, unit: str, sync: float, aio: float, *, target: float | None = None,
          higher_better: bool = False, note: str = "") -> list[Row]:
    """Two rows, the sync ``Client``'s figure and the ``AsyncClient``'s, in the dynakube
    column (the table has no column of its own for the async client); the async row's note
    gives the ratio and, when there is one, whether the target is met."""
    ratio = sync / aio if higher_better else aio / sync  # the async client's relative cost
    text = f"async/sync cost {ratio:.2f}x"
    if target is not None:
        text += f" (target {target:g}x: {'met' if ratio <= target else 'MISSED'})"
    return [Row("aio", f"{case}: sync Client", unit, {DYNAKUBE: sync},
                higher_better=higher_better),
            Row("aio", f"{case}: AsyncClient", unit, {DYNAKUBE: aio},
                higher_better=higher_better, note="; ".join(filter(None, (text, note))))]


def run(ctx: Any) -> list[Row]:
    """Rows for ``bench/run.py``: the sync client as the baseline, the async one beside."""
    conn: Conn = ctx.cluster.conn
    rows: list[Row] = []
    sizes = (200, 400) if ctx.smoke else (5_000, 50_000)
    for n in sizes:
        ns = ctx.cluster.configmaps(n)
        sync, aio = _median("list", conn, ns, "sync"), _median("list", conn, ns, "async")
        rows += _pair(f"list {n:,} ConfigMaps", "s", sync["wall"], aio["wall"], target=1.15)
        rows += _pair(f"list {n:,} ConfigMaps, peak memory", "MB", sync["mb"], aio["mb"],
                      target=1.15)
    ns = ctx.cluster.configmaps(sizes[0])
    gets = 100 if ctx.smoke else 1_000
    sync, aio = _median("gets", conn, ns, "sync", gets), _median("gets", conn, ns, "async", gets)
    rows += _pair(f"{gets:,} concurrent gets (10 threads / gather, pool of 10)", "s",
                  sync["wall"], aio["wall"],
                  note=f"the async pool held {aio['connections']:.0f} connections")
    watches = 20 if ctx.smoke else 500
    idle = _median("watches", conn, ns, "async", watches)
    rows.append(Row("aio", f"{watches} idle watches on one loop, memory per watch: "
                    "AsyncClient", "KB", {DYNAKUBE: round(idle["kb_per_watch"], 1)},
                    note=f"threads added for {watches} watches: "
                         f"{idle['threads_added']:.0f}"))
    events = sizes[0]
    sync, aio = (_median("events", conn, ns, "sync", events),
                 _median("events", conn, ns, "async", events))
    rows += _pair(f"events/s through one watch ({events:,} events)", "/s", sync["per_s"],
                  aio["per_s"], higher_better=True)
    for row in rows:
        ctx.log(f"   {row.case}: " + ", ".join(f"{v:.4g} {row.unit}"
                                              for v in row.values.values() if v is not None)
                + (f"  ({row.note})" if row.note else ""))
    return rows
