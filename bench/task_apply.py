"""Task 6: server-side apply of one multi-document YAML file.

The file holds ``n`` documents: ConfigMaps, and one Widget in ten (a custom resource, so
discovery is part of the work). Each client applies it once into a namespace of its own (a
second apply would be a different, cheaper job for the server). dynakube runs
``kube.apply(path)`` with its defaults, then without the client-side rate limit, then also
without client-side validation; the floor parses the file with ``yaml.safe_load_all`` and
sends one bare ``PATCH`` (``application/apply-patch+yaml``) per document to a known path.
A second row times the parsing alone, since a YAML parser can cost more than the requests.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from harness import Conn, WorkerError, lightkube_client, run_worker
from report import DYNAKUBE, FLOOR, Row

__all__ = ["write_manifest", "apply_file", "parse_file", "run"]

MANAGER = "dynakube-bench"
#: dynakube's runs: Client keywords and ``validate``. The default client-side rate limit
#: (qps=100, burst=300, as kubectl's 50/300 order of magnitude) bounds 1,000 requests to
#: about 7 s, so the client's own cost is measured with it off too.
VARIANTS: dict[str, tuple[dict[str, Any], bool]] = {
    DYNAKUBE: ({}, True),
    "dynakube qps=None": ({"qps": None}, True),
    "dynakube qps=None validate=False": ({"qps": None}, False),
}
PATHS = {"ConfigMap": ("api/v1", "configmaps"),
         "Widget": ("apis/example.dynakube.io/v1", "widgets")}


def write_manifest(path: str, namespace: str, n: int) -> None:
    import yaml
    from serverproc import configmap

    from dynakube.apiserver.seed import widget

    docs = []
    for i in range(n):
        if i % 10 == 9:
            docs.append(widget(f"w-{i:05d}", "medium", namespace, replicas=i % 8,
                               tags=["bench"]))
        else:
            docs.append(configmap(namespace, i, "applied"))
    with open(path, "w") as fh:
        yaml.safe_dump_all(docs, fh, sort_keys=False)


def _floor(conn: Conn, path: str) -> int:
    import yaml

    s = conn.session()
    with open(path) as fh:
        docs = list(yaml.safe_load_all(fh))
    for doc in docs:
        prefix, plural = PATHS[doc["kind"]]
        meta = doc["metadata"]
        url = f"{conn.url}/{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
        r = s.patch(url, data=json.dumps(doc),
                    headers={"Content-Type": "application/apply-patch+yaml"},
                    params={"fieldManager": MANAGER})
        r.raise_for_status()
        r.json()
    return len(docs)


def _kubernetes(conn: Conn, path: str) -> int:
    import yaml
    from kubernetes import config, dynamic

    dyn = dynamic.DynamicClient(config.new_client_from_config(conn.kubeconfig, conn.context))
    with open(path) as fh:
        docs = list(yaml.safe_load_all(fh))
    for doc in docs:
        res = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        dyn.server_side_apply(res, body=doc, namespace=doc["metadata"]["namespace"],
                              field_manager=MANAGER)
    return len(docs)


def _lightkube(conn: Conn, path: str) -> int:
    from lightkube import codecs
    from lightkube.generic_resource import create_namespaced_resource

    create_namespaced_resource("example.dynakube.io", "v1", "Widget", "widgets")
    lk = lightkube_client(conn, field_manager=MANAGER)
    with open(path) as fh:
        objs = codecs.load_all_yaml(fh)
    for obj in objs:
        lk.apply(obj)
    return len(objs)


def apply_file(client: str, conn: dict[str, Any], path: str, n: int) -> dict[str, Any]:
    c = Conn.from_json(conn)
    if client in VARIANTS:
        import yaml  # noqa: F401

        import dynakube.apply  # noqa: F401  (imports are not the measurement)

        kw, validate = VARIANTS[client]
        kube = c.dynakube(**kw)
        kube.resource("configmaps").list(limit=1)

        def go() -> int:
            return len(kube.apply(path, field_manager=MANAGER, validate=validate))
    else:
        import requests  # noqa: F401
        import yaml  # noqa: F401

        fn = {FLOOR: _floor, "kubernetes": _kubernetes, "lightkube": _lightkube}[client]

        def go() -> int:
            return fn(c, path)
    c0, t0 = time.process_time(), time.perf_counter()
    done = go()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if done != n:
        raise RuntimeError(f"{client} applied {done} of {n} documents")
    return {"wall": wall, "cpu": cpu}


def parse_file(client: str, path: str) -> dict[str, Any]:
    import yaml

    from dynakube.apply import load_documents

    t0 = time.perf_counter()
    if client == DYNAKUBE:
        docs, failures = load_documents(path)
        assert not failures
    elif client == "libyaml":
        with open(path) as fh:
            docs = list(yaml.load_all(fh, Loader=yaml.CSafeLoader))
    else:
        with open(path) as fh:
            docs = list(yaml.safe_load_all(fh))
    return {"wall": time.perf_counter() - t0, "docs": len(docs)}


def run(ctx: Any) -> list[Row]:
    ctx.cluster.widget()  # the CRD
    n = ctx.sizes.apply
    conn = ctx.cluster.conn.to_json()
    wall = Row("apply", f"apply {n:,} documents (1 file): wall", "s")
    cpu = Row("apply", f"apply {n:,} documents: client CPU", "s")
    variants = {name: Row("apply", f"apply {n:,} documents, {name[9:]}: wall", "s")
                for name in VARIANTS if name != DYNAKUBE}
    parse = Row("apply", f"parse the {n:,}-document file", "s")
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        for client in [FLOOR, *VARIANTS, *ctx.peers]:
            if client == "kr8s":
                continue  # no server-side apply of arbitrary documents
            ns = ctx.cluster.namespace(f"bench-apply-{len(ctx.cluster.applied)}")
            ctx.cluster.applied.append(ns)
            path = os.path.join(tmp, f"{ns}.yaml")
            write_manifest(path, ns, n)
            row = variants.get(client, wall)
            column = DYNAKUBE if client in VARIANTS else client
            try:
                r = run_worker("task_apply", "apply_file", client=client, conn=conn, path=path,
                               n=n, timeout=ctx.timeout(column))
            except WorkerError as e:
                row.errors[column] = e.short
                ctx.failed(column, e)
                continue
            row.values[column] = r["wall"]
            if row is wall:
                cpu.values[column] = r["cpu"]
            else:
                row.values[FLOOR] = wall.values.get(FLOOR)
        path = os.path.join(tmp, "parse.yaml")
        write_manifest(path, "parse", n)
        for client in (FLOOR, DYNAKUBE, "libyaml"):
            try:
                r = run_worker("task_apply", "parse_file", client=client, path=path)
            except WorkerError as e:
                parse.errors[client] = e.short
                ctx.failed(client, e)
                continue
            if client == "libyaml":
                parse.note = (f"floor = yaml.safe_load_all; with libyaml (yaml.CSafeLoader): "
                              f"{r['wall']:.3f} s")
            else:
                parse.values[client] = r["wall"]
    return [wall, cpu, *variants.values(), parse]
