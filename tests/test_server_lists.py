"""Lists against the embedded server: selectors, pages, snapshots, tables, metadata-only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rawhttp import CM, RawKube

from dynakube.testing import ApiServer

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
PARTIAL = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    k = RawKube(kube_server)
    # these tests count ConfigMaps: start without the one every namespace gets, and keep
    # the root-ca-cert-publisher from putting it back
    kube_server.restores_defaults = False
    assert k("DELETE", CM + "/kube-root-ca.crt").status_code == 200
    for i in range(6):
        k.create(CM, {"metadata": {"name": f"cm-{i}", "labels": {
            "n": str(i), "parity": "even" if i % 2 == 0 else "odd", **({"x": ""} if i < 2 else {})
        }}})
    return k


def test_list_shape(k: RawKube) -> None:
    body = k.get(CM).json()
    assert (body["apiVersion"], body["kind"]) == ("v1", "ConfigMapList")
    assert set(body["metadata"]) == {"resourceVersion"}
    assert all("apiVersion" not in i and "kind" not in i for i in body["items"])
    assert [i["metadata"]["name"] for i in body["items"]] == [f"cm-{i}" for i in range(6)]


@pytest.mark.parametrize(("selector", "names"), [
    ("parity=even", ["cm-0", "cm-2", "cm-4"]),
    ("parity!=even", ["cm-1", "cm-3", "cm-5"]),
    ("n in (1,5,9)", ["cm-1", "cm-5"]),
    ("n notin (0,1,2,3)", ["cm-4", "cm-5"]),
    ("x", ["cm-0", "cm-1"]),
    ("!x,parity=odd", ["cm-3", "cm-5"]),
])
def test_label_selectors(k: RawKube, selector: str, names: list[str]) -> None:
    assert k.names(CM, labelSelector=selector) == names


def test_malformed_selector_is_400(k: RawKube) -> None:
    answer = k.get(CM, labelSelector="a in (b")
    assert answer.status_code == 400
    assert answer.json()["message"] == "unable to parse requirement: found '', expected: ',' or ')'"
    answer = k.get(CM, fieldSelector="spec.bogus=1")
    assert answer.status_code == 400
    assert answer.json()["message"] == ('"spec.bogus" is not a known field selector: only '
                                        '"metadata.name", "metadata.namespace"')
    answer = k.get("/api/v1/pods", fieldSelector="spec.bogus=1")
    assert answer.json()["message"] == "field label not supported: spec.bogus"


def test_field_selectors(k: RawKube) -> None:
    assert k.names(CM, fieldSelector="metadata.name=cm-3") == ["cm-3"]
    assert len(k.names(CM, fieldSelector="metadata.name!=cm-3")) == 5
    assert k.names("/api/v1/configmaps", fieldSelector="metadata.namespace=default") == \
        [f"cm-{i}" for i in range(6)]
    assert k.names("/api/v1/configmaps", fieldSelector="metadata.namespace=kube-system") == [
        "kube-root-ca.crt"]


def test_any_version_is_served_whole(k: RawKube) -> None:
    """``resourceVersion=0`` is served from the watch cache, which ignores ``limit``."""
    whole = k.get(CM, resourceVersion="0", limit=2).json()
    assert len(whole["items"]) == 6 and set(whole["metadata"]) == {"resourceVersion"}
    paged = k.get(CM, limit=2).json()
    assert len(paged["items"]) == 2 and paged["metadata"]["remainingItemCount"] == 4


def test_pages_read_one_snapshot(k: RawKube) -> None:
    first = k.get(CM, limit=2).json()
    meta = first["metadata"]
    assert meta["remainingItemCount"] == 4
    token = meta["continue"]
    # changes after the first page do not show in the following pages
    k.s.delete(k.url + CM + "/cm-3")
    k.create(CM, {"metadata": {"name": "cm-9"}})
    names = [i["metadata"]["name"] for i in first["items"]]
    while token:
        page = k.get(CM, limit=2, **{"continue": token}).json()
        assert page["metadata"]["resourceVersion"] == meta["resourceVersion"]
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert names == [f"cm-{i}" for i in range(6)]
    assert "cm-9" in k.names(CM)


def test_paging_with_a_selector(k: RawKube) -> None:
    page = k.get(CM, limit=2, labelSelector="parity=odd").json()
    assert [i["metadata"]["name"] for i in page["items"]] == ["cm-1", "cm-3"]
    assert "remainingItemCount" not in page["metadata"]
    rest = k.get(CM, limit=2, labelSelector="parity=odd",
                 **{"continue": page["metadata"]["continue"]}).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm-5"]
    assert "continue" not in rest["metadata"]


def test_expired_continue_token_is_410(k: RawKube, kube_server: ApiServer) -> None:
    token = k.get(CM, limit=2).json()["metadata"]["continue"]
    k.create(CM, {"metadata": {"name": "later"}})
    kube_server.faults.compact()
    answer = k.get(CM, limit=2, **{"continue": token})
    assert answer.status_code == 410
    body = answer.json()
    assert body["reason"] == "Expired"
    assert body["message"].startswith("The provided continue parameter is too old")
    fresh = body["metadata"]["continue"]
    names = [i["metadata"]["name"] for i in k.get(CM, limit=2, **{"continue": fresh}).json()[
        "items"]]
    assert names == ["cm-2", "cm-3"]
    bad = k.get(CM, limit=2, **{"continue": "!!!"})
    assert bad.status_code == 400


def test_resource_version_match(k: RawKube) -> None:
    rv = k.get(CM).json()["metadata"]["resourceVersion"]
    k.s.delete(k.url + CM + "/cm-0")
    old = k.get(CM, resourceVersion=rv, resourceVersionMatch="Exact").json()
    assert old["metadata"]["resourceVersion"] == rv
    assert "cm-0" in [i["metadata"]["name"] for i in old["items"]]
    assert "cm-0" not in k.names(CM, resourceVersion=rv, resourceVersionMatch="NotOlderThan")
    assert "cm-0" not in k.names(CM, resourceVersion="0")
    invalid = k.get(CM, resourceVersionMatch="Exact")
    assert invalid.status_code == 422
    assert invalid.json()["details"]["kind"] == "ListOptions"


def test_too_old_exact_list_is_410(k: RawKube, kube_server: ApiServer) -> None:
    rv = k.get(CM).json()["metadata"]["resourceVersion"]
    k.create(CM, {"metadata": {"name": "newer"}})
    kube_server.faults.compact()
    answer = k.get(CM, resourceVersion=rv, resourceVersionMatch="Exact")
    assert answer.status_code == 410
    assert answer.json()["reason"] == "Expired"


def test_table(k: RawKube) -> None:
    body = k.get(CM, accept=TABLE, limit=2).json()
    assert (body["apiVersion"], body["kind"]) == ("meta.k8s.io/v1", "Table")
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert body["rows"][0]["cells"][:2] == ["cm-0", 0]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert body["metadata"]["continue"]
    one = k.get(CM + "/cm-1", accept=TABLE).json()
    assert one["kind"] == "Table" and len(one["rows"]) == 1
    full = k.get(CM, accept=TABLE, includeObject="Object").json()
    assert full["rows"][0]["object"]["kind"] == "ConfigMap"
    none = k.get(CM, accept=TABLE, includeObject="None").json()
    assert "object" not in none["rows"][0]


def test_partial_object_metadata(k: RawKube) -> None:
    body = k.get(CM, accept=PARTIAL, limit=1).json()
    assert (body["apiVersion"], body["kind"]) == ("meta.k8s.io/v1", "PartialObjectMetadataList")
    assert body["items"][0] == {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                                "metadata": k.get(CM + "/cm-0").json()["metadata"]}
    assert body["metadata"]["remainingItemCount"] == 5
    one = k.get(CM + "/cm-0",
                accept="application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io").json()
    assert one["kind"] == "PartialObjectMetadata"


def test_delete_collection(k: RawKube) -> None:
    answer = k.s.delete(k.url + CM, params={"labelSelector": "parity=even"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["kind"] == "ConfigMapList"
    assert [i["metadata"]["name"] for i in body["items"]] == ["cm-0", "cm-2", "cm-4"]
    assert k.names(CM) == ["cm-1", "cm-3", "cm-5"]


def test_list_across_namespaces(k: RawKube) -> None:
    k.create("/api/v1/namespaces", {"metadata": {"name": "other"}})
    k.create("/api/v1/namespaces/other/configmaps", {"metadata": {"name": "elsewhere"}})
    items = k.get("/api/v1/configmaps").json()["items"]
    mine = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items
            if i["metadata"]["name"] != "kube-root-ca.crt"]  # every namespace has one
    assert mine[-1] == ("other", "elsewhere")
    page = k.get("/api/v1/configmaps", limit=6).json()
    rest = k.get("/api/v1/configmaps", limit=6, **{"continue": page["metadata"]["continue"]})
    assert "elsewhere" in [i["metadata"]["name"] for i in rest.json()["items"]]


def test_many_objects_page_without_copying(kube_server: ApiServer) -> None:
    from dynakube.apiserver.call import Call

    spec = kube_server.table.lookup("", "v1", "configmaps")
    assert spec is not None
    for i in range(3000):
        body = json.dumps({"metadata": {"name": f"m-{i:05d}"}}).encode()
        kube_server.api.create(Call("POST", spec, "default", None, None, {}, {}, body, "t"))
    k = RawKube(kube_server)
    kube_server.restores_defaults = False  # count only these
    assert k("DELETE", CM + "/kube-root-ca.crt").status_code == 200
    seen, token = 0, None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if token:
            params["continue"] = token
        page = k.get(CM, **params).json()
        seen += len(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            break
    assert seen == 3000


def test_future_resource_version_is_too_large(k: RawKube, kube_server: ApiServer) -> None:
    kube_server.options.resource_version_wait = 0.2  # kube-apiserver waits 3 s for it
    answer = k.get(CM, resourceVersion="999999", resourceVersionMatch="NotOlderThan")
    assert answer.status_code == 504
    body = answer.json()
    assert body["reason"] == "Timeout"
    current = int(k.get(CM).json()["metadata"]["resourceVersion"])
    assert body["message"] == f"Timeout: Too large resource version: 999999, current: {current}"
    assert answer.headers["Retry-After"] == "1"
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


@pytest.mark.parametrize(("value", "problem"), [
    ("x", "invalid syntax"), ("1.5", "invalid syntax"), (" 5", "invalid syntax"),
    ("1_0", "invalid syntax"), ("99999999999999999999", "value out of range")])
def test_integer_parameters_parse_like_go(k: RawKube, value: str, problem: str) -> None:
    answer = k.get(CM, limit=value)
    assert answer.status_code == 400
    assert answer.json()["message"] == f'strconv.ParseInt: parsing "{value}": {problem}'
    deleted = k.s.delete(k.url + CM + "/missing", params={"gracePeriodSeconds": value})
    assert deleted.status_code == 400
    assert deleted.json()["message"] == f'strconv.ParseInt: parsing "{value}": {problem}'
