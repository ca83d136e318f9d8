"""Golden files: the exact request each verb sends (method, path, query, headers, body).

The requests are recorded at the transport seam and still go over the wire to the embedded
server. Regenerate with ``DYNAKUBE_UPDATE_GOLDEN=1 pytest tests/test_client_golden.py``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.client import ALL, Client
from dynakube.request import ApiRequest
from dynakube.transport.http import Transport

GOLDEN = Path(__file__).resolve().parent / "golden" / "client_requests.json"
KEPT_HEADERS = ("Accept", "Content-Type")


class Recorder:
    """A ``Sender`` that notes each request and passes it on to the real transport."""

    def __init__(self, inner: Transport):
        self.inner = inner
        self.sent: list[ApiRequest] = []
        self.recording = False

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        if self.recording:
            self.sent.append(request)
        return self.inner.send(request, stream=stream, read_timeout=read_timeout)


def _wire(request: ApiRequest) -> dict[str, Any]:
    body = json.loads(request.body) if request.body else None
    if isinstance(body, dict) and "resourceVersion" in body.get("metadata", {}):
        body["metadata"]["resourceVersion"] = "<rv>"
    return {"method": request.method, "target": request.target,
            "headers": {k: v for k, v in request.headers if k in KEPT_HEADERS},
            "body": body}


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": dict(data)}


def _verbs(kube: Client) -> dict[str, Callable[[], Any]]:
    cms = kube.resource("configmaps")
    widgets = kube.resource("widgets")
    deploy = kube.resource("deployments")

    def replace() -> Any:
        current = cms.get("golden")
        return cms.replace({**_cm("golden", a="2"),
                            "metadata": {"name": "golden", "resourceVersion":
                                         current["metadata"]["resourceVersion"]}},
                           field_manager="golden-test")

    return {
        "create": lambda: cms.create(_cm("golden", a="1"), field_validation="Strict"),
        "create_dry_run": lambda: cms.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g-"}},
            dry_run=True),
        "get": lambda: cms.get("golden"),
        "replace": replace,
        "list": lambda: cms.list(label_selector={"app": "web", "tier": None},
                                 field_selector={"metadata.name": "golden"}, limit=10),
        "list_all_namespaces_metadata": lambda: cms.list(ALL, metadata_only=True),
        "table": lambda: kube.table("configmaps", label_selector="app=web"),
        "patch_json": lambda: cms.patch("golden", [{"op": "add", "path": "/data/b",
                                                    "value": "3"}], patch_type="json"),
        "patch_merge": lambda: cms.patch("golden", {"data": {"c": "4"}}),
        "patch_strategic": lambda: cms.patch("golden", {"data": {"d": "5"}},
                                             patch_type="strategic"),
        "apply": lambda: cms.apply({**_cm("golden", a="2"), "metadata": {
            "name": "golden", "resourceVersion": "1", "managedFields": [{}]}},
            field_manager="golden-test", force=True),
        "widget_create": lambda: widgets.create(widget("gw", "small")),
        "widget_scale_patch": lambda: widgets.scale.patch("gw", {"spec": {"replicas": 2}}),
        "widget_status_get": lambda: widgets.status.get("gw"),
        "deployment_list_other_namespace": lambda: deploy.list("kube-system"),
        "delete": lambda: cms.delete("golden", propagation_policy="Background",
                                     grace_period_seconds=0),
        "delete_collection": lambda: cms.delete_collection(label_selector="app=web",
                                                           dry_run=True),
    }


def test_each_verb_sends_the_golden_request(kube_server: Any) -> None:
    config = kube_server.config()
    recorder = Recorder(Transport(config))
    kube = Client(config, transport=recorder)  # the one seam: no send is patched
    kube.apply(copy.deepcopy(WIDGET_CRD))
    kube.resource("widgets")  # discovery is warm before recording
    kube.schemas  # noqa: B018 - not part of what is compared
    recorded: dict[str, list[dict[str, Any]]] = {}
    recorder.recording = True
    try:
        for verb, call in _verbs(kube).items():
            recorder.sent.clear()
            call()
            recorded[verb] = [_wire(r) for r in recorder.sent
                              if not r.path.startswith(("/openapi", "/api?", "/apis?"))]
    finally:
        recorder.inner.close()
    if os.environ.get("DYNAKUBE_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    if not GOLDEN.exists():
        pytest.fail(f"{GOLDEN} is missing: run with DYNAKUBE_UPDATE_GOLDEN=1 once")
    expected = json.loads(GOLDEN.read_text())
    assert sorted(recorded) == sorted(expected)
    for verb in expected:
        assert recorded[verb] == expected[verb], verb
