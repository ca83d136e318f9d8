"""Strict and Warn decoding of built-in objects at every depth, and repeated JSON keys.

With complete schemas the server knows every real field, so an unknown one anywhere (inside
list items too) is a 400 under ``fieldValidation=Strict`` and a ``Warning`` under ``Warn``,
and a real field is never reported. A repeated key is a 400 under Strict and a Warning
otherwise, merged the way Go merges it. Recorded entries of ``kinds.json`` are replayed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rawhttp import RawKube

from dynakube.testing import ApiServer

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture(scope="module")
def raw() -> Iterator[RawKube]:
    with ApiServer() as server:
        yield RawKube(server)


def _pod(**container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", **container}]}}


def _post(raw: RawKube, path: str, body: bytes, **query: str) -> Any:
    return raw.s.post(raw.url + path, data=body, params={"dryRun": "All", **query},
                      headers={"Content-Type": "application/json"})


def test_unknown_field_in_a_list_item_is_a_400_under_strict(raw: RawKube) -> None:
    got = _post(raw, PODS, json.dumps(_pod(bogus=1)).encode(), fieldValidation="Strict")
    assert got.status_code == 400
    assert got.json()["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.containers[0].bogus"')


def test_unknown_field_in_a_list_item_warns_under_warn(raw: RawKube) -> None:
    got = _post(raw, PODS, json.dumps(_pod(bogus=1)).encode(), fieldValidation="Warn")
    assert got.status_code == 201
    assert got.headers["Warning"] == '299 - "unknown field \\"spec.containers[0].bogus\\""'
    assert "bogus" not in got.json()["spec"]["containers"][0]


def test_a_realistic_deployment_has_no_unknown_fields(raw: RawKube) -> None:
    container = {
        "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
        "livenessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 10},
        "readinessProbe": {"tcpSocket": {"port": 80}},
        "securityContext": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    spec = {
        "containers": [container], "hostNetwork": False, "volumes": [
            {"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
    }
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}}
    got = _post(raw, DEPLOYMENTS, json.dumps(deployment).encode(), fieldValidation="Strict")
    assert got.status_code == 201, got.text
    assert "Warning" not in got.headers


def test_several_problems_are_reported_in_document_order(raw: RawKube) -> None:
    body = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1,'
            b'"containers":[{"name":"c","image":"a","image":"b","y":2}]}}')
    got = _post(raw, PODS, body, fieldValidation="Strict")
    assert got.status_code == 400
    assert got.json()["message"].endswith(
        'strict decoding error: unknown field "spec.x", '
        'duplicate field "spec.containers[0].image", unknown field "spec.containers[0].y"')


def test_repeated_objects_merge_like_go(raw: RawKube) -> None:
    body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","labels":{"a":"1"}},'
            b'"metadata":{"labels":{"b":"2"}},"data":{"k":"1"},"data":{"k":"2"}}')
    got = _post(raw, "/api/v1/namespaces/default/configmaps", body)
    assert got.status_code == 201
    assert got.json()["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert got.json()["data"] == {"k": "2"}
    assert got.headers["Warning"] == ('299 - "duplicate field \\"metadata\\"", '
                                      '299 - "duplicate field \\"data\\""')


def test_a_repeated_unknown_field_is_reported_once(raw: RawKube) -> None:
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m"},"x":1,"x":2}'
    got = _post(raw, "/api/v1/namespaces/default/configmaps", body, fieldValidation="Strict")
    assert got.json()["message"].endswith('strict decoding error: unknown field "x"')


def _kinds(shared: Path) -> dict[str, Any]:
    return dict(json.loads((shared / "v1.36" / "kinds.json").read_text()))


@pytest.mark.parametrize("case", ["fieldValidation-Strict-duplicate-field",
                                  "fieldValidation-default-duplicate-field-warns",
                                  "fieldValidation-Ignore-unknown-field"])
def test_recorded_decoding_answers(shared_api: Path, raw: RawKube, case: str) -> None:
    entry = _kinds(shared_api)[f"options/{case}"]
    request = entry["request"]
    body = request["body"]
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    path = request["path"].replace("/namespaces/kinds/", "/namespaces/default/")
    got = raw.s.post(raw.url + path, data=data, params=request["query"],
                     headers={"Content-Type": request["contentType"]})
    assert got.status_code == entry["status"]
    assert got.headers.get("Warning") == entry["headers"].get("Warning")
    if entry["status"] >= 400:
        assert got.json() == entry["body"]
    else:
        assert got.json()["metadata"]["name"] == entry["body"]["metadata"]["name"]
        assert {k: v for k, v in got.json().items() if k != "metadata"} == \
            {k: v for k, v in entry["body"].items() if k != "metadata"}
