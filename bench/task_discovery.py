"""Task 2: discovery, cold (empty cache), warm (a new process) and after the TTL.

The work: fetch one Widget (a custom resource) knowing only its apiVersion and kind. Each run
is a fresh process; the time runs from making the client (configuration already loaded) to
the object in hand, and the requests are counted by the embedded server (or, on a real
cluster, by wrapping urllib3 in the worker, which sees the floor, dynakube and kubernetes).
The floor is bare ``requests``: aggregated ``/api`` and ``/apis``, a scan for the kind, then
the GET; warm, a floor that remembered the path needs only the GET.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import Conn, WorkerError, count_requests, kr8s_api, lightkube_config, run_worker
from report import DYNAKUBE, FLOOR, Row

__all__ = ["fetch", "run"]

API_VERSION, KIND, GROUP = "example.dynakube.io/v1", "Widget", "example.dynakube.io"
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json")
TTL = 6 * 3600


def _floor(conn: Conn, ns: str, name: str, warm: bool) -> Any:
    s = conn.session()
    if warm:
        return s.get(f"{conn.url}/apis/{API_VERSION}/namespaces/{ns}/widgets/{name}").json()
    docs = [s.get(conn.url + p, headers={"Accept": AGGREGATED}).json() for p in ("/api", "/apis")]
    for doc in docs:
        for group in doc.get("items") or ():
            for version in group.get("versions") or ():
                gv = f"{group['metadata'].get('name')}/{version['version']}".lstrip("/")
                if gv != API_VERSION:
                    continue
                for res in version.get("resources") or ():
                    if (res.get("responseKind") or {}).get("kind") == KIND:
                        url = f"{conn.url}/apis/{gv}/namespaces/{ns}/{res['resource']}/{name}"
                        return s.get(url).json()
    raise RuntimeError("the floor did not find the Widget kind in /apis")


def _floor_conn(kubeconfig: str, context: str | None, files: str) -> Conn:
    """The floor's kubeconfig read: ``yaml`` and a few lookups (token, CA, client cert)."""
    import base64

    import yaml

    with open(kubeconfig) as fh:
        doc = yaml.safe_load(fh)

    def named(section: str, name: str) -> dict[str, Any]:
        return next(e[section.rstrip("s")] for e in doc[section] if e["name"] == name)

    ctx = named("contexts", context or doc["current-context"])
    cluster, user = named("clusters", ctx["cluster"]), named("users", ctx["user"])

    def data_file(key: str, path_key: str, fname: str) -> str | None:
        entry = cluster if key.startswith("certificate-authority") else user
        if entry.get(key):
            path = os.path.join(files, fname)
            with open(path, "wb") as out:
                out.write(base64.b64decode(entry[key]))
            return path
        return entry.get(path_key)

    headers = {"Authorization": f"Bearer {user['token']}"} if user.get("token") else {}
    ca = data_file("certificate-authority-data", "certificate-authority", "ca.crt")
    crt = data_file("client-certificate-data", "client-certificate", "client.crt")
    key = data_file("client-key-data", "client-key", "client.key")
    return Conn(url=cluster["server"], headers=headers, verify=ca or True,
                cert=[crt, key] if crt and key else None)


def fetch(client: str, conn: dict[str, Any], cache_dir: str, ns: str, name: str,
          warm: bool = False, config_read: bool = False) -> dict[str, Any]:
    """Make a client and fetch the Widget by kind; the wall time and requests seen here.

    ``config_read`` (floor and dynakube only) starts the time before the kubeconfig is read.
    """
    c = Conn.from_json(conn)
    counted = count_requests()
    obj: Any
    if client == FLOOR:
        import requests  # noqa: F401  (imports are not the measurement)
        import yaml  # noqa: F401

        t0 = time.perf_counter()
        if config_read:
            assert c.kubeconfig is not None
            c = _floor_conn(c.kubeconfig, c.context, cache_dir)
        obj = _floor(c, ns, name, warm)
    elif client == DYNAKUBE:
        import yaml  # noqa: F401  (the floor's imports are not measured either)

        import dynakube.client
        import dynakube.discovery  # noqa: F401
        from dynakube.config import load_config

        t0 = time.perf_counter()
        config = load_config(c.kubeconfig, c.context)
        if not config_read:
            t0 = time.perf_counter()
        kube = dynakube.client.Client(config, cache_dir=cache_dir)
        obj = kube.get({"apiVersion": API_VERSION, "kind": KIND,
                        "metadata": {"name": name, "namespace": ns}})
    elif client == "kubernetes":
        from kubernetes import config as kconfig
        from kubernetes import dynamic

        api_client = kconfig.new_client_from_config(config_file=c.kubeconfig, context=c.context)
        t0 = time.perf_counter()
        dyn = dynamic.DynamicClient(api_client, cache_file=os.path.join(cache_dir, "k8s.json"))
        obj = dyn.resources.get(api_version=API_VERSION, kind=KIND).get(name=name, namespace=ns)
    elif client == "kr8s":
        import kr8s

        t0 = time.perf_counter()
        api = kr8s_api(c)
        obj = list(kr8s.get(KIND, name, namespace=ns, api=api))  # a lazy generator
    elif client == "lightkube":
        from lightkube import Client
        from lightkube.generic_resource import create_namespaced_resource

        config = lightkube_config(c)
        t0 = time.perf_counter()
        widget = create_namespaced_resource(GROUP, "v1", KIND, "widgets")
        obj = Client(config).get(widget, name, namespace=ns)
    else:
        raise ValueError(client)
    wall = time.perf_counter() - t0
    if not obj:
        raise RuntimeError(f"{client} fetched nothing")
    return {"wall": wall, "client_requests": counted()}


def _age(cache_dir: str, seconds: float) -> None:
    past = time.time() - seconds
    for path in Path(cache_dir).rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def _measure(ctx: Any, rows: dict[str, Row], client: str, ns: str, name: str,
             first: bool) -> bool:
    """One cold, warm and stale round for ``client``; False when it crashed."""
    if client in (FLOOR, DYNAKUBE):  # cold again, with the kubeconfig read in the time
        scratch = tempfile.mkdtemp(prefix=f"bench-discovery-{client}-")
        try:
            result = run_worker("task_discovery", "fetch", client=client,
                                conn=ctx.cluster.conn.to_json(), cache_dir=scratch, ns=ns,
                                name=name, config_read=True, timeout=ctx.timeout(client))
        except WorkerError as e:
            rows["config_t"].errors[client] = e.short
            ctx.failed(client, e)
            return False
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        old = rows["config_t"].values.get(client)
        ms = result["wall"] * 1000
        rows["config_t"].values[client] = ms if old is None else min(old, ms)
    cache_dir = tempfile.mkdtemp(prefix=f"bench-discovery-{client}-")
    try:
        for phase in ("cold", "warm", "stale"):
            if phase == "stale":
                if client not in (FLOOR, DYNAKUBE):
                    continue  # no TTL-bound disk cache to age
                _age(cache_dir, TTL + 60)
            ctx.cluster.clear()
            try:
                result = run_worker("task_discovery", "fetch", client=client,
                                    conn=ctx.cluster.conn.to_json(), cache_dir=cache_dir,
                                    ns=ns, name=name, warm=phase != "cold",
                                    timeout=ctx.timeout(client))
            except WorkerError as e:
                rows[f"{phase}_t"].errors[client] = e.short
                ctx.failed(client, e)
                return False
            ms = result["wall"] * 1000
            old = rows[f"{phase}_t"].values.get(client)
            rows[f"{phase}_t"].values[client] = ms if old is None else min(old, ms)
            if not first:
                continue
            log = ctx.cluster.request_log()
            if log is not None:
                discovery = [r for r in log if "/widgets" not in r[1]]  # the fetch: get or list
                if client == DYNAKUBE and phase == "stale":
                    not_modified = sum(1 for r in discovery if r[2] == 304)
                    rows["stale_n"].note = f"{not_modified} of them answered 304"
                ctx.extra.setdefault("discovery_paths", {})[f"{client} {phase}"] = [
                    f"{m} {p} {s}" for m, p, s in discovery]
                n: int | None = len(discovery)
            else:
                n = result["client_requests"] - 1 if client in (FLOOR, DYNAKUBE,
                                                                "kubernetes") else None
            rows[f"{phase}_n"].values[client] = n
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return True


def run(ctx: Any) -> list[Row]:
    ns, name = ctx.cluster.widget()
    clients = [FLOOR, DYNAKUBE, *ctx.peers]
    rows = {
        "cold_t": Row("discovery", "cold: Widget by kind, empty cache", "ms"),
        "config_t": Row("discovery", "cold, kubeconfig read included", "ms",
                        target_ratio=1.15, note="floor: yaml.safe_load + requests"),
        "cold_n": Row("discovery", "cold: discovery requests", "req", target_max=2,
                      note="requests besides the GET of the object"),
        "warm_t": Row("discovery", "warm: new process, cache fresh", "ms"),
        "warm_n": Row("discovery", "warm: discovery requests", "req", target_max=0),
        "stale_t": Row("discovery", "after the TTL: revalidation", "ms"),
        "stale_n": Row("discovery", "after the TTL: discovery requests (304s)", "req",
                       target_max=2),
    }
    rounds = 1 if ctx.smoke else 3  # fresh caches each round; the best time is kept
    for client in clients:
        for attempt in range(rounds):
            if not _measure(ctx, rows, client, ns, name, first=attempt == 0):
                break
    return list(rows.values())
