"""Task 4: watch decoding speed, and informer sync time and memory.

Watch: one stream of ``n`` events, produced by the server as the initial ADDED events of a
``resourceVersion=0`` watch on a namespace of ``n`` ConfigMaps (the same on a real cluster's
watch cache); the time runs from opening the watch to the ``n``-th decoded event. The
embedded server is in another process, so the worker's CPU time per event is the client's
own decoding cost even where the server's encoding bounds the wall time.

Informer: start, wait for sync, over ``n`` objects; wall time, ``tracemalloc`` peak, and the
memory the synced cache keeps per object. The floor is a bare paginated list (pages of 500)
into a dict keyed ``namespace/name``; beside it, the same dicts in a plain list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness import Conn, WorkerError, best_of, best_worker, kr8s_api, lightkube_client, traced
from report import DYNAKUBE, FLOOR, Row

__all__ = ["events", "informer", "run"]


def _watch_floor(conn: Conn, ns: str, n: int) -> Callable[[], int]:
    s = conn.session()
    url = f"{conn.url}/api/v1/namespaces/{ns}/configmaps"

    def go() -> int:
        count = 0
        with s.get(url, params={"watch": "true", "resourceVersion": "0",
                                "timeoutSeconds": "300"}, stream=True) as r:
            for line in r.iter_lines(chunk_size=65536):
                if line:
                    json.loads(line)
                    count += 1
                    if count == n:
                        break
        return count

    return go


def _watch_dynakube(conn: Conn, ns: str, n: int) -> Callable[[], int]:
    res = conn.dynakube().resource("configmaps")
    res.list(ns, limit=1)

    def go() -> int:
        count = 0
        with res.watch(ns, resource_version="0") as w:
            for _ in w:
                count += 1
                if count == n:
                    break
        return count

    return go


def _watch_kubernetes(conn: Conn, ns: str, n: int) -> Callable[[], int]:
    from kubernetes import client, config, watch

    v1 = client.CoreV1Api(config.new_client_from_config(conn.kubeconfig, conn.context))

    def go() -> int:
        count = 0
        w = watch.Watch()
        for _ in w.stream(v1.list_namespaced_config_map, ns, resource_version="0",
                          timeout_seconds=300):
            count += 1
            if count == n:
                w.stop()
                break
        return count

    return go


def _watch_kr8s(conn: Conn, ns: str, n: int) -> Callable[[], int]:
    import kr8s

    api = kr8s_api(conn)

    def go() -> int:
        count = 0
        for _ in kr8s.watch("configmaps", namespace=ns, since="0", api=api):
            count += 1
            if count == n:
                break
        return count

    return go


def _watch_lightkube(conn: Conn, ns: str, n: int) -> Callable[[], int]:
    from lightkube.resources.core_v1 import ConfigMap

    lk = lightkube_client(conn)

    def go() -> int:
        count = 0
        for _ in lk.watch(ConfigMap, namespace=ns, resource_version="0"):
            count += 1
            if count == n:
                break
        return count

    return go


def events(client: str, conn: dict[str, Any], ns: str, n: int, repeat: int) -> dict[str, Any]:
    """Events decoded per second from one stream, and CPU µs per event."""
    factory = {FLOOR: _watch_floor, DYNAKUBE: _watch_dynakube, "kubernetes": _watch_kubernetes,
               "kr8s": _watch_kr8s, "lightkube": _watch_lightkube}[client]
    go = factory(Conn.from_json(conn), ns, n)
    got = go()  # warm-up, and a check that the stream really holds n events
    if got != n:
        raise RuntimeError(f"{client} saw {got} events, expected {n}")
    return best_of(go, repeat)


def informer(client: str, conn: dict[str, Any], ns: str, n: int, repeat: int) -> dict[str, Any]:
    """Sync time, peak and kept memory of an informer (or the floor's dict cache)."""
    c = Conn.from_json(conn)
    if client in (DYNAKUBE, "dynakube-list"):
        from dynakube.controller.informer import Informer

        kube = c.dynakube()
        res = kube.resource("configmaps")
        res.list(ns, limit=1)
        watch_list = client == DYNAKUBE

        def sync() -> Any:
            inf = Informer(res, namespace=ns, watch_list=watch_list)
            inf.start()
            if not inf.wait_for_sync(600):
                raise RuntimeError(f"informer did not sync: {inf.last_error}")
            inf.stop()
            if len(inf.store) < n:  # n benchmark ConfigMaps, plus the namespace's own
                raise RuntimeError(f"informer holds {len(inf.store)} objects, expected {n}")
            return inf
    elif client == FLOOR:
        s = c.session()
        url = f"{c.url}/api/v1/namespaces/{ns}/configmaps"
        s.get(url, params={"limit": 1})

        def sync() -> Any:
            cache, token = {}, None
            while True:
                params: dict[str, Any] = {"limit": 500}
                if token:
                    params["continue"] = token
                page = s.get(url, params=params).json()
                for item in page["items"]:
                    meta = item["metadata"]
                    cache[f"{meta['namespace']}/{meta['name']}"] = item
                token = page["metadata"].get("continue")
                if not token:
                    return cache
    else:
        raise ValueError(f"{client} has no informer")
    timing = best_of(sync, repeat)
    memory = traced(sync)
    out = {**timing, **memory}
    if client == FLOOR:  # the same dicts in a plain list, for the per-object comparison
        out["plain_list"] = traced(lambda: s.get(url).json()["items"])["retained"]
    return out


def run(ctx: Any) -> list[Row]:
    rows: list[Row] = []
    conn = ctx.cluster.conn.to_json()
    n = ctx.sizes.watch
    ns = ctx.cluster.configmaps(n)
    rate = Row("watch", f"watch {n:,} events: decoded/s", "/s", higher_better=True,
               target_ratio=1.15)
    cpu = Row("watch", f"watch {n:,} events: client CPU per event", "µs", target_ratio=1.15)
    for client in [FLOOR, DYNAKUBE, *ctx.peers]:
        try:
            r = best_worker(2 if client in (FLOOR, DYNAKUBE) and not ctx.smoke else 1,
                            "task_watch", "events", client=client, conn=conn, ns=ns, n=n,
                            repeat=1 if ctx.smoke else 3, timeout=ctx.timeout(client))
        except WorkerError as e:
            rate.errors[client] = e.short
            ctx.failed(client, e)
            continue
        rate.values[client] = n / r["wall"]
        cpu.values[client] = r["cpu"] / n * 1e6
    rows += [rate, cpu]
    for n in ctx.sizes.informers:
        ns = ctx.cluster.configmaps(n)
        wall = Row("watch", f"informer sync {n:,}: wall", "s", target_ratio=1.15)
        peak = Row("watch", f"informer sync {n:,}: peak memory", "MB", target_ratio=1.15)
        kept = Row("watch", f"informer {n:,}: memory kept per object", "B/obj",
                   target_ratio=1.15)
        by_list = [Row("watch", f"informer sync {n:,}, watch_list=False: {what}", unit,
                       target_ratio=1.15)  # the same targets hold without watch-list
                   for what, unit in (("wall", "s"), ("peak memory", "MB"),
                                      ("kept per object", "B/obj"))]
        for client in (FLOOR, DYNAKUBE, "dynakube-list"):
            try:
                r = best_worker(1 if ctx.smoke else 2, "task_watch", "informer", client=client,
                                conn=conn, ns=ns, n=n, timeout=1800,
                                repeat=1 if ctx.smoke or n > 10_000 else 3)
            except WorkerError as e:
                wall.errors[client] = e.short
                ctx.failed(DYNAKUBE if client == "dynakube-list" else client, e)
                continue
            if client == "dynakube-list":
                for row, value in zip(by_list, (r["wall"], r["peak"] / 1e6, r["retained"] / n),
                                      strict=True):
                    row.values[DYNAKUBE] = value
                    row.values[FLOOR] = {"s": wall, "MB": peak, "B/obj": kept}[
                        row.unit].values.get(FLOOR)
                continue
            wall.values[client] = r["wall"]
            peak.values[client] = r["peak"] / 1e6
            kept.values[client] = r["retained"] / n
            if "plain_list" in r:
                kept.note = (f"the same dicts in a plain list: {r['plain_list'] / n:,.0f} B/obj;"
                             " floor = dict keyed namespace/name")
        rows += [wall, peak, kept, *by_list]
    return rows
