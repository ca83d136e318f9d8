"""Task 3: listing ConfigMaps in one request, and iterating them in pages of 500.

Each client lists the same namespace in a fresh worker process after a one-item warm-up
(connection open, discovery done, modules imported). Time is the best of a few runs, wall
and the worker's CPU; memory is the ``tracemalloc`` peak of one more run. For ``list`` the
result is held until the end (that is what a list is for); for ``iterate`` every item is
dropped at once, so the peak must stay flat however long the list is. The floor is
``session.get(url).json()`` and, for pages, the same loop over ``continue`` tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import Conn, WorkerError, best_of, best_worker, kr8s_api, lightkube_client, traced
from report import DYNAKUBE, FLOOR, Row

__all__ = ["measure", "make", "run"]

PEER_BUDGET = 20.0  # seconds one list may take; slower clients skip the larger sizes
CHUNK = 500  # page size; --smoke uses 50 so that its small lists still have pages


def _floor(conn: Conn, ns: str, mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    s = conn.session()
    url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps"

    def listing() -> Any:
        return s.get(url).json()

    def iterate() -> int:
        n, token = 0, None
        while True:
            params: dict[str, Any] = {"limit": CHUNK}
            if token:
                params["continue"] = token
            page = s.get(url, params=params).json()
            for _ in page["items"]:
                n += 1
            token = page["metadata"].get("continue")
            if not token:
                return n

    return (listing if mode == "list" else iterate), lambda: s.get(url, params={"limit": 1})


def _dynakube(conn: Conn, ns: str, mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    kube = conn.dynakube()
    res = kube.resource("configmaps")

    def iterate() -> int:
        n = 0
        for _ in res.iterate(ns, chunk_size=CHUNK):
            n += 1
        return n

    return ((lambda: res.list(ns)) if mode == "list" else iterate), \
        lambda: res.list(ns, limit=1)


def _kubernetes(conn: Conn, ns: str, mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    from kubernetes import client, config

    v1 = client.CoreV1Api(config.new_client_from_config(conn.kubeconfig, conn.context))

    def iterate() -> int:
        n, token = 0, None
        while True:
            page = v1.list_namespaced_config_map(ns, limit=CHUNK, _continue=token)
            for _ in page.items:
                n += 1
            token = page.metadata._continue
            if not token:
                return n

    return ((lambda: v1.list_namespaced_config_map(ns)) if mode == "list" else iterate), \
        lambda: v1.list_namespaced_config_map(ns, limit=1)


def _kr8s(conn: Conn, ns: str, mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    import kr8s

    api = kr8s_api(conn)
    if mode != "list":
        raise NotImplementedError("kr8s has no paginated list")
    # kr8s.get is a lazy generator: the warm-up lists nothing, but discovers and connects
    return (lambda: list(kr8s.get("configmaps", namespace=ns, api=api))), \
        lambda: list(kr8s.get("configmaps", namespace=ns, api=api,
                              label_selector={"bench.dynakube.io/none": "x"}))


def _lightkube(conn: Conn, ns: str, mode: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    from lightkube.resources.core_v1 import ConfigMap

    lk = lightkube_client(conn)
    chunk = None if mode == "list" else CHUNK

    def go() -> Any:
        if mode == "list":
            return list(lk.list(ConfigMap, namespace=ns))
        return sum(1 for _ in lk.list(ConfigMap, namespace=ns, chunk_size=chunk))

    def warm_up() -> Any:  # one page of one item: lightkube pages lazily, so stop there
        return next(iter(lk.list(ConfigMap, namespace=ns, chunk_size=1)), None)

    return go, warm_up


def make(client: str, conn: Conn, ns: str, mode: str
         ) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """``(work, warm_up)`` for one client."""
    factory = {FLOOR: _floor, DYNAKUBE: _dynakube, "kubernetes": _kubernetes,
               "kr8s": _kr8s, "lightkube": _lightkube}[client]
    return factory(conn, ns, mode)


def measure(client: str, conn: dict[str, Any], ns: str, mode: str,
            repeat: int, chunk: int = CHUNK) -> dict[str, Any]:
    global CHUNK
    CHUNK = chunk
    work, warm = make(client, Conn.from_json(conn), ns, mode)
    warm()
    timing = best_of(work, repeat)
    memory = traced(work)
    return {**timing, **memory}


def run(ctx: Any) -> list[Row]:
    rows: list[Row] = []
    clients = [FLOOR, DYNAKUBE, *ctx.peers]
    chunk = 50 if ctx.smoke else CHUNK
    seconds_per_item: dict[tuple[str, str], float] = {}
    rounds = 1 if ctx.smoke else 2  # worker processes per figure, against bursts of load
    for n in ctx.sizes.lists:
        ns = ctx.cluster.configmaps(n)
        for mode in ("list", "iterate"):
            label = f"list {n:,}" if mode == "list" else f"iterate({chunk}) {n:,}"
            wall = Row("list", f"{label}: wall", "s", target_ratio=1.15)
            cpu = Row("list", f"{label}: client CPU", "s")
            peak = Row("list", f"{label}: peak memory", "MB", target_ratio=1.15)
            repeat = 1 if ctx.smoke else (5 if n <= 5_000 else 3)
            for client in clients:
                if client == "kr8s" and mode == "iterate":
                    continue
                previous = seconds_per_item.get((client, mode))
                if client not in (FLOOR, DYNAKUBE) and previous and previous * n > PEER_BUDGET:
                    wall.errors[client] = f"skipped (~{previous * n:.0f} s a run)"
                    continue
                try:
                    r = best_worker(rounds if client in (FLOOR, DYNAKUBE) else 1,
                                    "task_list", "measure", client=client,
                                    conn=ctx.cluster.conn.to_json(), ns=ns, mode=mode,
                                    chunk=chunk, timeout=ctx.timeout(client),
                                    repeat=repeat if client in (FLOOR, DYNAKUBE) else 1)
                except WorkerError as e:
                    wall.errors[client] = e.short
                    ctx.failed(client, e)
                    continue
                seconds_per_item[(client, mode)] = r["wall"] / n
                wall.values[client] = r["wall"]
                cpu.values[client] = r["cpu"]
                peak.values[client] = r["peak"] / 1e6
            rows += [wall, cpu, peak]
    return rows
