"""Task 5: client-side validation, objects per second after warm-up.

``kube.validate(obj)`` on a Deployment and on a Widget (a custom resource whose schema has
enums, patterns, defaults, int-or-string and list types), valid and with errors, after the
schema was fetched and compiled. The floor is plain ``jsonschema`` (``validator_for`` the
resolved schema ``kube.schema(kind)`` gives, every error collected) — what a user would get by
wiring the schemas up by hand, without the server's null, integer, list-type and format
rules. The other clients do not validate before sending.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from harness import Conn, WorkerError, run_worker
from report import DYNAKUBE, FLOOR, Row

__all__ = ["OBJECTS", "rate", "run"]


def _deployment() -> dict[str, Any]:
    labels = {"app": "web", "tier": "frontend"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels,
                     "annotations": {"team": "shop"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": labels},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [{
                         "name": "web", "image": "nginx:1.27",
                         "ports": [{"containerPort": 80, "name": "http"}],
                         "env": [{"name": "MODE", "value": "production"}],
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                       "limits": {"memory": "256Mi"}},
                     }]}}},
    }


def _widget() -> dict[str, Any]:
    from dynakube.apiserver.seed import widget

    return widget("w1", "medium", "default", replicas=3, port="http", color="#00ff00",
                  tags=["blue", "green"], ports=[{"name": "http", "number": 80}],
                  limits={"cpu": "500m", "memory": 1024})


def _bad_deployment() -> dict[str, Any]:
    obj = _deployment()
    obj["spec"]["replicas"] = "three"
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 7
    return obj


def _bad_widget() -> dict[str, Any]:
    obj = _widget()
    obj["spec"].update(size="huge", color="green", replicas=500)
    return obj


OBJECTS: dict[str, Callable[[], dict[str, Any]]] = {
    "Deployment": _deployment, "Widget": _widget,
    "Deployment, 2 errors": _bad_deployment, "Widget, 3 errors": _bad_widget,
}


def _count(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    n, t0 = 0, time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(20):
            fn()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


def rate(client: str, conn: dict[str, Any], case: str, seconds: float) -> dict[str, Any]:
    kube = Conn.from_json(conn).dynakube()
    obj = OBJECTS[case]()
    expect_valid = "errors" not in case
    problems = [p for p in kube.validate(copy.deepcopy(obj)) if p.severity == "error"]
    if expect_valid and problems:
        raise RuntimeError(f"a valid {case} was refused: {problems}")
    if not expect_valid and not problems:
        raise RuntimeError(f"the broken {case} passed")
    if client == DYNAKUBE:
        def fn() -> Any:
            return kube.validate(obj)
    else:
        from jsonschema.validators import validator_for

        schema = kube.schema(obj["kind"], obj["apiVersion"])
        validator = validator_for(schema)(schema)
        if validator.is_valid(obj) != expect_valid:
            raise RuntimeError(f"plain jsonschema disagrees on {case}")

        def fn() -> Any:
            return list(validator.iter_errors(obj))
    for _ in range(20):
        fn()
    return {"rate": _count(fn, seconds)}


def run(ctx: Any) -> list[Row]:
    ctx.cluster.widget()  # the CRD
    rows = []
    for case in OBJECTS:
        row = Row("validate", f"validate {case}", "/s", higher_better=True)
        for client in (FLOOR, DYNAKUBE):
            try:
                r = run_worker("task_validate", "rate", client=client,
                               conn=ctx.cluster.conn.to_json(), case=case,
                               seconds=ctx.sizes.validate_seconds)
            except WorkerError as e:
                row.errors[client] = e.short
                ctx.failed(client, e)
                continue
            row.values[client] = r["rate"]
        rows.append(row)
    rows[0].note = "floor = plain jsonschema, list(iter_errors(obj)) against kube.schema(kind)"
    return rows
