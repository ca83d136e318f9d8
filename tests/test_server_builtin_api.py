"""Every built-in resource of kube-apiserver 1.36, served from the generated data file.

Discovery (aggregated and legacy) and the OpenAPI v3 documents are compared with the real
server's recordings (minus descriptions); the committed data file must be exactly what the
generator makes from them. Then every resource with ``create`` is created, read, listed,
watched and deleted over HTTP, with the minimal object the real server was given.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rawhttp import RawKube, session

from dynakube.apiserver.kinds.data import load
from dynakube.apiserver.kinds.generate import DATA_FILE, build, strip_prose
from dynakube.apiserver.kinds.specs import BUILTIN_KINDS, KindSpec
from dynakube.testing import ApiServer

_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_CUSTOM = "example.dynakube.io"


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer() as running:
        yield running


@pytest.fixture(scope="module")
def raw(server: ApiServer) -> RawKube:
    return RawKube(server)


def _recorded(shared: Path, relative: str) -> dict[str, Any]:
    return dict(json.loads((shared / "v1.36" / relative).read_text()))


def test_committed_data_file_is_what_the_generator_makes(shared_api: Path) -> None:
    committed = json.loads(gzip.decompress(DATA_FILE.read_bytes()))
    assert committed == build(shared_api / "v1.36")


def test_data_file_carries_no_descriptions() -> None:
    def walk(value: Any, in_properties: bool = False) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "description" and not in_properties:
                    yield key
                yield from walk(item, key == "properties" and not in_properties)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    assert list(walk(load())) == []


def _without_custom(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    body["items"] = [g for g in body["items"] if g["metadata"].get("name") != _CUSTOM]
    return body


@pytest.mark.parametrize("root", ["api", "apis"])
def test_aggregated_discovery_matches_the_recording(shared_api: Path, raw: RawKube,
                                                    root: str) -> None:
    real = _recorded(shared_api, f"discovery/aggregated/{root}.json")
    got = raw.s.get(f"{raw.url}/{root}", headers={"Accept": _AGGREGATED})
    assert got.status_code == 200
    assert got.headers["Content-Type"] == real["headers"]["Content-Type"]
    assert got.json() == strip_prose(_without_custom(real["body"]))


def _legacy_paths(shared: Path) -> list[str]:
    root = shared / "v1.36" / "discovery" / "legacy"
    return sorted(str(p.relative_to(root))[:-len(".json")] for p in root.glob("**/*.json")
                  if _CUSTOM not in str(p))


@pytest.mark.parametrize("path", _legacy_paths(Path(__file__).resolve().parents[1].parent
                                               / "shared" / "k8s-api") or ["api"])
def test_legacy_discovery_matches_the_recording(shared_api: Path, raw: RawKube,
                                                path: str) -> None:
    real = _recorded(shared_api, f"discovery/legacy/{path}.json")["body"]
    got = raw.s.get(f"{raw.url}/{path}", headers={"Accept": "application/json"})
    assert got.status_code == 200
    body = got.json()
    if path == "apis":
        real = {**real, "groups": [g for g in real["groups"] if g["name"] != _CUSTOM]}
    if path == "api":
        real = {**real, "serverAddressByClientCIDRs": body["serverAddressByClientCIDRs"]}
    assert body == real


def _openapi_paths(shared: Path) -> list[str]:
    index = shared / "v1.36" / "openapi" / "v3" / "index.json"
    if not index.is_file():
        return ["api/v1"]
    return sorted(p for p in json.loads(index.read_text())["body"]["paths"] if _CUSTOM not in p)


@pytest.mark.parametrize("path", _openapi_paths(Path(__file__).resolve().parents[1].parent
                                                / "shared" / "k8s-api"))
def test_openapi_v3_documents_match_the_recordings(shared_api: Path, raw: RawKube,
                                                   path: str) -> None:
    real = _recorded(shared_api, f"openapi/v3/{path}.json")["body"]
    index = raw.s.get(f"{raw.url}/openapi/v3").json()["paths"]
    got = raw.s.get(raw.url + index[path]["serverRelativeURL"])
    assert got.status_code == 200
    assert got.json() == strip_prose(real)


def test_openapi_v3_index_lists_every_recorded_document(shared_api: Path, raw: RawKube) -> None:
    real = _recorded(shared_api, "openapi/v3/index.json")["body"]["paths"]
    index = raw.s.get(f"{raw.url}/openapi/v3").json()["paths"]
    assert set(index) == {path for path in real if _CUSTOM not in path}


def test_kubectl_finds_field_validation_in_openapi_v3(raw: RawKube) -> None:
    index = raw.s.get(f"{raw.url}/openapi/v3").json()["paths"]
    doc = raw.s.get(raw.url + index["apis/apps/v1"]["serverRelativeURL"]).json()
    post = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    names = {p["name"] for p in post["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager"} <= names


# ---------------------------------------------------------------- CRUD on every resource

_REVIEWS = {"tokenreviews", "selfsubjectreviews", "selfsubjectaccessreviews",
            "subjectaccessreviews", "localsubjectaccessreviews", "selfsubjectrulesreviews"}


def _minimal_objects() -> list[tuple[KindSpec, dict[str, Any]]]:
    path = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api" / "v1.36"
    if not (path / "kinds.json").is_file():
        return []
    recorded = json.loads((path / "kinds.json").read_text())
    found = []
    for spec in BUILTIN_KINDS:
        if "create" not in spec.verbs or spec.plural in _REVIEWS or spec.plural == "bindings":
            continue
        entry = recorded.get(f"defaults/{spec.group or 'core'}/{spec.version}/{spec.plural}")
        if entry is not None:
            found.append((spec, entry["request"]["body"]))
    return found


def test_every_creatable_resource_has_a_recorded_minimal_object(shared_api: Path) -> None:
    creatable = {s.plural for s in BUILTIN_KINDS if "create" in s.verbs} - _REVIEWS
    covered = {spec.plural for spec, _ in _minimal_objects()}
    assert creatable - covered <= {"bindings"}


def _base(spec: KindSpec, namespace: str) -> str:
    prefix = f"/apis/{spec.group}/{spec.version}" if spec.group else f"/api/{spec.version}"
    return f"{prefix}/namespaces/{namespace}/{spec.plural}" if spec.namespaced \
        else f"{prefix}/{spec.plural}"


@pytest.mark.parametrize(("spec", "body"), _minimal_objects(),
                         ids=lambda value: getattr(value, "plural", ""))
def test_crud_list_and_watch_on_every_resource(server: ApiServer, spec: KindSpec,
                                               body: dict[str, Any]) -> None:
    s = session(server)
    namespace = "kinds"  # the recorded bodies name it (an Event's involvedObject, ...)
    s.post(f"{server.url}/api/v1/namespaces",
           json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    base = server.url + _base(spec, namespace)
    body = json.loads(json.dumps(body))
    created = s.post(base, json=body)
    assert created.status_code == 201, created.text
    name = created.json()["metadata"]["name"]
    got = s.get(f"{base}/{name}")
    assert got.status_code == 200 and got.json()["kind"] == spec.kind
    listed = s.get(base)
    assert listed.status_code == 200 and listed.json()["kind"] == f"{spec.kind}List"
    assert name in [item["metadata"]["name"] for item in listed.json()["items"]]
    version = listed.json()["metadata"]["resourceVersion"]
    table = s.get(base, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert table.status_code == 200
    assert [len(r["cells"]) for r in table.json()["rows"]] == \
        [len(table.json()["columnDefinitions"])] * len(table.json()["rows"])
    deleted = s.delete(f"{base}/{name}", params={"gracePeriodSeconds": "0"})
    assert deleted.status_code in (200, 202), deleted.text
    watched = s.get(base, params={"watch": "true", "resourceVersion": version,
                                  "timeoutSeconds": "10"}, stream=True, timeout=30)
    seen = []
    for line in watched.iter_lines():
        event = json.loads(line)
        seen.append(event["type"])
        if event["type"] == "DELETED" and event["object"]["metadata"]["name"] == name:
            break
    watched.close()
    assert seen[-1:] == ["DELETED"]


@pytest.mark.parametrize("plural", sorted(_REVIEWS))
def test_review_apis_answer_a_create(server: ApiServer, plural: str) -> None:
    spec = next(s for s in BUILTIN_KINDS if s.plural == plural)
    body: dict[str, Any] = {"apiVersion": spec.api_version, "kind": spec.kind, "spec": {}}
    got = session(server).post(server.url + _base(spec, "default"), json=body)
    assert got.status_code < 500 or got.status_code == 501, got.text
    assert got.headers["Content-Type"].startswith("application/json")


# ---------------------------------------------------------------- /openapi/v2 and tables


def test_openapi_v2_is_swagger_built_from_the_same_data(raw: RawKube) -> None:
    got = raw.s.get(f"{raw.url}/openapi/v2", headers={"Accept": "application/json"})
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/json"
    doc = got.json()
    assert doc["swagger"] == "2.0"
    deployment = doc["definitions"]["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["properties"]["metadata"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    post = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    body = post["parameters"][0]
    assert body["in"] == "body" and body["schema"]["$ref"].startswith("#/definitions/")
    assert "fieldValidation" in {p["name"] for p in post["parameters"]}
    gvks = doc["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"][
        "x-kubernetes-group-version-kind"]
    assert {"group": "apps", "kind": "DeleteOptions", "version": "v1"} in gvks
    refs = set(re.findall(r'"#/definitions/([^"]+)"', got.text))
    assert refs <= set(doc["definitions"])
    again = raw.s.get(f"{raw.url}/openapi/v2", headers={"If-None-Match": got.headers["Etag"]})
    assert again.status_code == 304


def _protobuf_fields(data: bytes) -> dict[int, list[Any]]:
    """A protobuf message's fields by number (length-delimited ones as bytes)."""
    from dynakube.apiserver.http.protobuf import _fields

    out: dict[int, list[Any]] = {}
    for number, _, value in _fields(data):
        out.setdefault(number, []).append(value)
    return out


def test_openapi_v2_as_protobuf_is_gnostics_document(raw: RawKube) -> None:
    """kubectl asks for ``/openapi/v2`` only as protobuf (to validate a ``kind: List``)."""
    got = raw.s.get(f"{raw.url}/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/octet-stream"
    document = _protobuf_fields(got.content)
    assert document[1] == [b"2.0"]  # swagger
    definitions = [_protobuf_fields(d) for d in _protobuf_fields(document[9][0])[1]]
    schemas = {named[1][0].decode(): _protobuf_fields(named[2][0]) for named in definitions}
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert _protobuf_fields(deployment[22][0]) == {1: [b"object"]}  # type
    properties = {_protobuf_fields(p)[1][0].decode(): _protobuf_fields(_protobuf_fields(p)[2][0])
                  for p in _protobuf_fields(deployment[25][0])[1]}
    assert properties["metadata"][1] == [b"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1."
                                         b"ObjectMeta"]  # $ref
    extension = _protobuf_fields(deployment[31][0])  # a NamedAny, its value as YAML text
    assert extension[1] == [b"x-kubernetes-group-version-kind"]
    assert json.loads(_protobuf_fields(extension[2][0])[2][0]) == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    json_doc = raw.s.get(f"{raw.url}/openapi/v2", headers={"Accept": "application/json"}).json()
    assert set(schemas) == set(json_doc["definitions"])
    refused = raw.s.get(f"{raw.url}/openapi/v2", headers={"Accept": "application/xml"})
    assert refused.status_code == 406 and refused.json()["reason"] == "NotAcceptable"


_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _table(raw: RawKube, path: str) -> dict[str, Any]:
    got = raw.s.get(raw.url + path, headers={"Accept": _TABLE})
    assert got.status_code == 200, got.text
    return dict(got.json())


def test_deployment_table_has_the_printer_columns(raw: RawKube) -> None:
    raw.s.post(f"{raw.url}/apis/apps/v1/namespaces/default/deployments", json={
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "containers": [{"name": "c", "image": "nginx:1"}]}}}})
    table = _table(raw, "/apis/apps/v1/namespaces/default/deployments")
    names = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [("Name", 0), ("Ready", 0), ("Up-to-date", 0), ("Available", 0),
                     ("Age", 0), ("Containers", 1), ("Images", 1), ("Selector", 1)]
    row = next(r for r in table["rows"] if r["cells"][0] == "web")
    assert row["cells"][1:4] == ["0/3", 0, 0]
    assert row["cells"][5:] == ["c", "nginx:1", "app=web"]


def test_kinds_without_a_printer_get_name_and_created_at(raw: RawKube) -> None:
    raw.s.post(f"{raw.url}/apis/rbac.authorization.k8s.io/v1/clusterroles", json={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader"}, "rules": []})
    table = _table(raw, "/apis/rbac.authorization.k8s.io/v1/clusterroles")
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
        ("Name", "string"), ("Created At", "date")]
    row = next(r for r in table["rows"] if r["cells"][0] == "reader")
    assert row["cells"][1].endswith("Z")


def test_job_and_service_tables(raw: RawKube) -> None:
    raw.s.post(f"{raw.url}/apis/batch/v1/namespaces/default/jobs", json={
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox"}]}}}})
    job = next(r for r in _table(raw, "/apis/batch/v1/namespaces/default/jobs")["rows"]
               if r["cells"][0] == "once")
    assert job["cells"][1:4] == ["Running", "0/1", ""]
    raw.s.post(f"{raw.url}/api/v1/namespaces/default/services", json={
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    table = _table(raw, "/api/v1/namespaces/default/services")
    svc = next(r for r in table["rows"] if r["cells"][0] == "web")
    assert svc["cells"][1] == "ClusterIP" and svc["cells"][3:5] == ["<none>", "80/TCP"]
    assert svc["cells"][6] == "app=web"
