"""The embedded server's /openapi/v3 documents, checked for shape and against the recordings."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rawhttp import recorded, shared_file

from dynakube.apiserver.kinds.openapi import (
    crd_kind_schema,
    crd_list_schema,
    encode_document,
    group_version_document,
    openapi_documents,
    openapi_hash,
    openapi_index,
)
from dynakube.apiserver.kinds.specs import BUILTIN_KINDS, KindSpec, kinds_from_crd
from dynakube.apiserver.seed import WIDGET_CRD


def _crd(path: Path) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(path.read_text()))


def _widget_kinds() -> list[KindSpec]:
    return kinds_from_crd(copy.deepcopy(WIDGET_CRD))


def _documents() -> dict[str, dict[str, Any]]:
    return openapi_documents([*BUILTIN_KINDS, *_widget_kinds()])


def _real(path: str) -> dict[str, Any]:
    return dict(recorded(f"openapi/v3/{path}.json")["body"])


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                found.add(item)
            else:
                found |= _refs(item)
        return found
    if isinstance(value, list):
        return {r for item in value for r in _refs(item)}
    return set()


def test_documents_are_keyed_like_the_real_index() -> None:
    real = recorded("openapi/v3/index.json")["body"]["paths"]
    assert list(_documents()) == sorted(real)


@pytest.mark.parametrize("path", list(openapi_documents([*BUILTIN_KINDS])))
def test_every_reference_resolves_inside_its_document(path: str) -> None:
    document = _documents()[path]
    assert document["openapi"] == "3.0.0" and document["info"]["title"]
    schemas = document.get("components", {}).get("schemas", {})
    refs = _refs(document)
    missing = {r for r in refs if r.removeprefix("#/components/schemas/") not in schemas}
    assert missing == set()


def test_widget_document_references_resolve() -> None:
    for path in ("apis/example.dynakube.io/v1", "apis/example.dynakube.io/v1beta1"):
        document = _documents()[path]
        schemas = document["components"]["schemas"]
        assert {r.removeprefix("#/components/schemas/") for r in _refs(document)} <= set(schemas)
        assert document["info"] == {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}


@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda k: k.kind)
def test_each_builtin_kind_is_published_with_its_paths(kind: KindSpec) -> None:
    path = f"apis/{kind.group}/{kind.version}" if kind.group else f"api/{kind.version}"
    document = _documents()[path]
    schema = document["components"]["schemas"][kind.schema_name]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": kind.group, "kind": kind.kind, "version": kind.version}]
    prefix = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    item = (f"{prefix}/namespaces/{{namespace}}/{kind.plural}/{{name}}" if kind.namespaced
            else f"{prefix}/{kind.plural}/{{name}}")
    if "get" not in kind.verbs:  # create-only reviews and bindings
        item = item.rsplit("/", 1)[0]
        assert document["paths"][item]["post"]["x-kubernetes-group-version-kind"]["kind"] == \
            kind.kind
        return
    operations = document["paths"][item]
    assert operations["get"]["x-kubernetes-group-version-kind"] == {
        "group": kind.group, "kind": kind.kind, "version": kind.version}
    assert operations["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{kind.schema_name}"}
    for sub in kind.subresources:
        if sub.name in ("status", "scale"):
            assert f"{item}/{sub.name}" in document["paths"]


def test_index_urls_carry_the_documents_hash() -> None:
    documents = _documents()
    index = openapi_index(documents)
    assert list(index["paths"]) == sorted(documents)
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    match = re.fullmatch(r"/openapi/v3/apis/apps/v1\?hash=([0-9A-F]{128})", url)
    assert match is not None and match.group(1) == openapi_hash(documents["apis/apps/v1"])
    assert openapi_hash(json.loads(encode_document(documents["api/v1"]))) == openapi_hash(
        documents["api/v1"])
    changed = openapi_documents([*BUILTIN_KINDS, *_widget_kinds()[:1]])
    assert openapi_hash(changed["api/v1"]) == openapi_hash(documents["api/v1"])
    assert "apis/example.dynakube.io/v1beta1" not in changed


def test_real_index_has_the_same_shape() -> None:
    real = _real("index")
    url = real["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert re.fullmatch(r"/openapi/v3/apis/apps/v1\?hash=[0-9A-F]{128}", url)
    ours = openapi_index(_documents())["paths"]
    assert set(ours) <= set(real["paths"])


def test_crd_schema_adds_the_standard_fields() -> None:
    v1 = _widget_kinds()[0]
    schema = crd_kind_schema(v1)
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "example.dynakube.io", "kind": "Widget", "version": "v1"}]
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    spec = schema["properties"]["spec"]["properties"]
    assert spec["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert spec["template"]["required"] == ["kind", "apiVersion"]
    assert set(spec["template"]["properties"]) == {"apiVersion", "kind", "metadata"}
    assert schema["properties"]["spec"]["x-kubernetes-validations"][0]["rule"] == (
        "self.replicas <= 10 || self.size == 'large'")
    listed = crd_list_schema(v1)
    assert listed["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/io.dynakube.example.v1.Widget"}
    assert v1.schema is not None and "anyOf" not in v1.schema["properties"]["spec"][
        "properties"]["port"]


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_widget_documents_match_the_recordings(version: str) -> None:
    shared_crd = shared_file("manifests/widget-crd.yaml")
    real = _real(f"apis/example.dynakube.io/{version}")
    ours = group_version_document("example.dynakube.io", version, kinds_from_crd(_crd(shared_crd)))
    assert ours["info"] == real["info"] and ours["openapi"] == real["openapi"]
    assert set(ours["paths"]) == set(real["paths"])
    assert set(ours["components"]["schemas"]) == set(real["components"]["schemas"])
    name = f"io.dynakube.example.{version}.Widget"
    assert _strip(ours["components"]["schemas"][name]) == _strip(
        real["components"]["schemas"][name])
    for path, item in real["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            mine = ours["paths"][path][method]
            assert mine["operationId"] == operation["operationId"]
            assert mine["tags"] == operation["tags"]
            assert mine.get("x-kubernetes-action") == operation.get("x-kubernetes-action")
            assert _strip(mine["responses"]) == _strip(operation["responses"])
            assert _strip(mine.get("requestBody")) == _strip(operation.get("requestBody"))


@pytest.mark.parametrize("path", ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1",
                                  "apis/apiextensions.k8s.io/v1"])
def test_builtin_documents_are_a_subset_of_the_recordings(path: str) -> None:
    real = _real(path)
    ours = _documents()[path]
    assert set(ours["paths"]) <= set(real["paths"])
    for route, item in ours["paths"].items():
        assert set(item) <= set(real["paths"][route]), route
        for method, operation in item.items():
            if method == "parameters":
                continue
            theirs = real["paths"][route][method]
            assert operation["operationId"] == theirs["operationId"]
            assert operation["tags"] == theirs["tags"]
            assert operation.get("x-kubernetes-action") == theirs.get("x-kubernetes-action")
            assert _strip(operation.get("requestBody")) == _strip(theirs.get("requestBody"))
            assert _strip(operation["responses"]) == _strip(theirs["responses"]), route
    assert set(ours["components"]["schemas"]) <= set(real["components"]["schemas"])
