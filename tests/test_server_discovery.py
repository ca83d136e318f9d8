"""Discovery and OpenAPI of the embedded server, and the switches that mimic older servers."""

from __future__ import annotations

from typing import Any

from rawhttp import recorded, session, shared_file

from dynakube.testing import ApiServer

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
V2BETA1 = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
           "application/json")
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.test.dynakube.io"},
    "spec": {
        "group": "test.dynakube.io",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                  "shortNames": ["gd"], "categories": ["all", "toys"]},
        "versions": [
            {"name": "v1alpha1", "served": True, "storage": False, "deprecated": True,
             "schema": {"openAPIV3Schema": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}},
            {"name": "v1", "served": True, "storage": True,
             "subresources": {"status": {}},
             "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                 "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                 "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
             }}}},
        ],
    },
}


def test_aggregated_v2_has_the_recorded_shape(kube_server: ApiServer) -> None:
    s = session(kube_server)
    want = recorded("discovery/aggregated/apis.json")
    answer = s.get(kube_server.url + "/apis", headers={"Accept": V2})
    assert answer.status_code == 200
    for header in ("Content-Type", "Cache-Control", "Vary"):
        assert answer.headers[header] == want["headers"][header]
    assert answer.headers["Etag"].startswith('"') and len(answer.headers["Etag"]) == 130
    body = answer.json()
    assert (body["kind"], body["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    ours = {g["metadata"]["name"]: g for g in body["items"]}
    real = {g["metadata"]["name"]: g for g in want["body"]["items"]}
    assert next(r for r in ours["apps"]["versions"][0]["resources"]
                if r["resource"] == "deployments") == next(
        r for r in real["apps"]["versions"][0]["resources"] if r["resource"] == "deployments")
    assert ours["coordination.k8s.io"] == real["coordination.k8s.io"]
    core = s.get(kube_server.url + "/api", headers={"Accept": V2}).json()
    real_core = {r["resource"]: r for r in recorded("discovery/aggregated/api.json")[
        "body"]["items"][0]["versions"][0]["resources"]}
    assert core["items"][0]["metadata"] == {}
    for resource in core["items"][0]["versions"][0]["resources"]:
        assert resource == real_core[resource["resource"]]


def test_etag_and_304(kube_server: ApiServer) -> None:
    s = session(kube_server)
    first = s.get(kube_server.url + "/apis", headers={"Accept": V2})
    again = s.get(kube_server.url + "/apis",
                  headers={"Accept": V2, "If-None-Match": first.headers["Etag"]})
    assert again.status_code == 304
    assert again.content == b""
    s.post(kube_server.url + CRDS, json=GADGET_CRD)
    changed = s.get(kube_server.url + "/apis",
                    headers={"Accept": V2, "If-None-Match": first.headers["Etag"]})
    assert changed.status_code == 200
    assert changed.headers["Etag"] != first.headers["Etag"]


def test_legacy_documents_have_the_recorded_shape(kube_server: ApiServer) -> None:
    s = session(kube_server)
    api = s.get(kube_server.url + "/api").json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    apis = s.get(kube_server.url + "/apis").json()
    real_apis = recorded("discovery/legacy/apis.json")["body"]
    assert set(apis) == set(real_apis)
    real_groups = {g["name"]: g for g in real_apis["groups"]}
    for group in apis["groups"]:
        assert group == real_groups[group["name"]]
    for path in ("/api/v1", "/apis/apps/v1", "/apis/coordination.k8s.io/v1",
                 "/apis/apiextensions.k8s.io/v1"):
        ours = s.get(kube_server.url + path).json()
        real = recorded("discovery/legacy" + path + ".json")["body"]
        assert set(ours) == set(real)
        real_by_name = {r["name"]: r for r in real["resources"]}
        for resource in ours["resources"]:
            theirs = dict(real_by_name[resource["name"]])
            mine = dict(resource)
            assert mine.pop("storageVersionHash", None) is not None or \
                "storageVersionHash" not in theirs
            theirs.pop("storageVersionHash", None)
            assert mine == theirs, path
    group = s.get(kube_server.url + "/apis/apps").json()
    assert group["kind"] == "APIGroup" and group["preferredVersion"]["version"] == "v1"
    assert s.get(kube_server.url + "/apis/nope.example.com/v1").status_code == 404


def test_widget_crd_appears_in_discovery_like_the_recording(kube_server: ApiServer) -> None:
    import yaml

    s = session(kube_server)
    crd = yaml.safe_load(shared_file("manifests/widget-crd.yaml").read_text())
    assert s.post(kube_server.url + CRDS, json=crd).status_code == 201
    real_agg = {g["metadata"]["name"]: g
                for g in recorded("discovery/aggregated/apis.json")["body"]["items"]}
    ours = {g["metadata"]["name"]: g for g in s.get(
        kube_server.url + "/apis", headers={"Accept": V2}).json()["items"]}
    assert ours["example.dynakube.io"] == real_agg["example.dynakube.io"]
    for version in ("v1", "v1beta1"):
        path = f"/apis/example.dynakube.io/{version}"
        mine = s.get(kube_server.url + path).json()
        real = recorded(f"discovery/legacy{path}.json")["body"]
        for resource in mine["resources"] + real["resources"]:
            resource.pop("storageVersionHash", None)
        assert mine == real
    apis = s.get(kube_server.url + "/apis").json()
    real_group = next(g for g in recorded("discovery/legacy/apis.json")["body"][
        "groups"] if g["name"] == "example.dynakube.io")
    assert next(g for g in apis["groups"] if g["name"] == "example.dynakube.io") == real_group


def test_crd_lifecycle_in_discovery_and_openapi(kube_server: ApiServer) -> None:
    s = session(kube_server)
    created = s.post(kube_server.url + CRDS, json=GADGET_CRD)
    assert created.status_code == 201
    # answered with the strategy's empty status; the controllers establish it right after
    assert created.json()["status"] == {"acceptedNames": {"kind": "", "plural": ""},
                                        "conditions": None, "storedVersions": ["v1"]}
    stored = s.get(kube_server.url + CRDS + "/" + GADGET_CRD["metadata"]["name"]).json()
    conditions = {c["type"]: c["status"] for c in stored["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert stored["status"]["storedVersions"] == ["v1"]
    assert stored["status"]["acceptedNames"]["plural"] == GADGET_CRD["spec"]["names"]["plural"]
    assert int(stored["metadata"]["resourceVersion"]) > int(
        created.json()["metadata"]["resourceVersion"])
    agg = s.get(kube_server.url + "/apis", headers={"Accept": V2}).json()
    group = next(g for g in agg["items"] if g["metadata"]["name"] == "test.dynakube.io")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1alpha1"]
    resource = group["versions"][0]["resources"][0]
    assert resource["shortNames"] == ["gd"] and resource["categories"] == ["all", "toys"]
    assert [sr["subresource"] for sr in resource["subresources"]] == ["status"]
    index = s.get(kube_server.url + "/openapi/v3").json()["paths"]
    assert "apis/test.dynakube.io/v1" in index
    doc = s.get(kube_server.url + index["apis/test.dynakube.io/v1"]["serverRelativeURL"]).json()
    gvks = [s2.get("x-kubernetes-group-version-kind") for s2 in
            doc["components"]["schemas"].values()]
    assert [{"group": "test.dynakube.io", "kind": "Gadget", "version": "v1"}] in gvks

    obj = {"apiVersion": "test.dynakube.io/v1", "kind": "Gadget", "metadata": {"name": "g"},
           "spec": {"size": 1}}
    gadgets = "/apis/test.dynakube.io/v1/namespaces/default/gadgets"
    assert s.post(kube_server.url + gadgets, json=obj).status_code == 201
    deleted = s.delete(kube_server.url + CRDS + "/gadgets.test.dynakube.io")
    assert deleted.status_code == 200
    assert s.get(kube_server.url + CRDS + "/gadgets.test.dynakube.io").status_code == 404
    gone = s.get(kube_server.url + gadgets)
    assert (gone.status_code, gone.text) == (404, "404 page not found\n")
    agg = s.get(kube_server.url + "/apis", headers={"Accept": V2}).json()
    assert "test.dynakube.io" not in [g["metadata"]["name"] for g in agg["items"]]
    assert "apis/test.dynakube.io/v1" not in s.get(kube_server.url + "/openapi/v3").json()["paths"]
    # recreated: the old objects are gone for good
    assert s.post(kube_server.url + CRDS, json=GADGET_CRD).status_code == 201
    assert s.get(kube_server.url + gadgets).json()["items"] == []


def test_deprecated_version_warns(kube_server: ApiServer) -> None:
    s = session(kube_server)
    s.post(kube_server.url + CRDS, json=GADGET_CRD)
    answer = s.get(kube_server.url + "/apis/test.dynakube.io/v1alpha1/namespaces/default/gadgets")
    assert answer.status_code == 200
    assert answer.headers["Warning"] == '299 - "test.dynakube.io/v1alpha1 Gadget is deprecated"'
    answer = s.get(kube_server.url + "/apis/test.dynakube.io/v1/namespaces/default/gadgets")
    assert "Warning" not in answer.headers


def test_v2beta1_mode() -> None:
    with ApiServer(aggregated_discovery="v2beta1") as server:
        s = session(server)
        answer = s.get(server.url + "/apis", headers={"Accept": V2BETA1})
        assert answer.headers["Content-Type"] == (
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
        assert answer.json()["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
        legacy = s.get(server.url + "/apis", headers={"Accept": V2})
        assert legacy.headers["Content-Type"] == "application/json"
        assert legacy.json()["kind"] == "APIGroupList"


def test_no_aggregated_discovery_mode() -> None:
    with ApiServer(aggregated_discovery=None) as server:
        answer = session(server).get(server.url + "/api", headers={"Accept": V2})
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["kind"] == "APIVersions"
        assert "Etag" not in answer.headers


def test_openapi_index_hash_redirect_and_cache_headers(kube_server: ApiServer) -> None:
    s = session(kube_server)
    index = s.get(kube_server.url + "/openapi/v3").json()["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"} <= set(index)
    url = index["apis/apps/v1"]["serverRelativeURL"]
    doc = s.get(kube_server.url + url)
    assert doc.status_code == 200
    assert doc.headers["Cache-Control"] == "public, immutable"
    assert doc.headers["Etag"] == '"' + url.split("hash=")[1] + '"'
    schemas = doc.json()["components"]["schemas"]
    assert schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    stale = s.get(kube_server.url + "/openapi/v3/apis/apps/v1?hash=0000", allow_redirects=False)
    assert stale.status_code == 301
    assert stale.headers["Location"] == url
    again = s.get(kube_server.url + url, headers={"If-None-Match": doc.headers["Etag"]})
    assert again.status_code == 304
    assert s.get(kube_server.url + "/openapi/v3/apis/nope/v1").status_code == 404


def test_openapi_can_be_switched_off() -> None:
    with ApiServer(openapi_v3=False) as server:
        answer = session(server).get(server.url + "/openapi/v3")
        assert (answer.status_code, answer.text) == (404, "404 page not found\n")
