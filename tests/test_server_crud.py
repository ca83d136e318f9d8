"""Verbs on single objects against the embedded server, with the real server's answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rawhttp import CM, RawKube, configmap

from dynakube.testing import ApiServer

DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
THINGS = "/apis/test.dynakube.io/v1/namespaces/default/things"

THING_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.test.dynakube.io"},
    "spec": {
        "group": "test.dynakube.io",
        "scope": "Namespaced",
        "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                     "statusReplicasPath": ".status.replicas"}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "default": 1},
                    "color": {"type": "string", "enum": ["red", "blue"]}}},
                "status": {"type": "object", "properties": {"replicas": {"type": "integer"},
                                                            "phase": {"type": "string"}}},
            }}},
        }],
    },
}


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def test_create_sets_server_metadata(k: RawKube) -> None:
    first = k("POST", CM, configmap("one", {"a": "1"})).json()
    second = k("POST", CM, configmap("two", {"a": "1"})).json()
    meta = first["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert "generation" not in meta
    assert meta["managedFields"][0]["operation"] == "Update"
    got = k("GET", CM + "/one").json()
    assert got == first


def test_create_missing_kind_and_apiversion_for_built_ins_come_from_the_url(k: RawKube) -> None:
    answer = k("POST", CM, {"metadata": {"name": "bare"}})
    assert answer.status_code == 201
    assert (answer.json()["apiVersion"], answer.json()["kind"]) == ("v1", "ConfigMap")


@pytest.mark.parametrize(("body", "code", "reason", "message"), [
    (b"{not json", 400, "BadRequest", "couldn't get version/kind; json parse error: "),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}, 400, "BadRequest",
     "cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap)"),
    ({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, 400,
     "BadRequest", "the API version in the data (apps/v1) does not match the expected API "
                   "version (v1)"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, 422, "Invalid",
     'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}, 422, "Invalid",
     'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase '
     "RFC 1123 subdomain"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": "nope"}, 400,
     "BadRequest", 'ConfigMap in version "v1" cannot be handled as a ConfigMap: '),
])
def test_bad_input(k: RawKube, body: Any, code: int, reason: str, message: str) -> None:
    answer = k("POST", CM, body)
    assert answer.status_code == code
    assert answer.json()["reason"] == reason
    assert message in answer.json()["message"]


def test_namespace_must_exist_and_match(k: RawKube) -> None:
    answer = k("POST", "/api/v1/namespaces/nope/configmaps", configmap("x", {"a": "1"}))
    assert answer.status_code == 404
    assert answer.json()["message"] == 'namespaces "nope" not found'
    answer = k("POST", CM, configmap("x", {"a": "1"}, namespace="other"))
    assert answer.status_code == 400
    assert answer.json()["message"] == ("the namespace of the provided object does not match the "
                                        "namespace sent on the request")


def test_unknown_resource_and_verbs(k: RawKube) -> None:
    for path in ("/apis/nope.io/v1/things", "/nope"):
        answer = k("GET", path)
        assert (answer.status_code, answer.text) == (404, "404 page not found\n"), path
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    for path in ("/api/v1/namespaces/default/gizmos", CM + "/x/bogus"):  # a built-in group
        answer = k("GET", path)
        assert answer.status_code == 404, path
        assert answer.json()["message"] == "the server could not find the requested resource"
    answer = k("DELETE", "/api/v1/namespaces")
    assert answer.status_code == 405
    assert answer.json()["reason"] == "MethodNotAllowed"


def test_generate_name_and_dry_run(k: RawKube) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    dry = k("POST", CM, body, dryRun="All")
    assert dry.status_code == 201
    meta = dry.json()["metadata"]
    assert meta["name"].startswith("gen-") and len(meta["name"]) == 9
    assert "resourceVersion" not in meta and meta["uid"]
    assert k("GET", CM + "/" + meta["name"]).status_code == 404
    real = k("POST", CM, body).json()
    assert k("GET", CM + "/" + real["metadata"]["name"]).status_code == 200


def test_already_exists_and_not_found(k: RawKube) -> None:
    k("POST", CM, configmap("dup", {"a": "1"}))
    answer = k("POST", CM, configmap("dup", {"a": "1"}))
    assert answer.status_code == 409
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                             "status": "Failure", "message": 'configmaps "dup" already exists',
                             "reason": "AlreadyExists",
                             "details": {"name": "dup", "kind": "configmaps"}, "code": 409}
    answer = k("GET", DEPLOY + "/nope")
    assert answer.json()["message"] == 'deployments.apps "nope" not found'
    assert answer.json()["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_replace_and_optimistic_concurrency(k: RawKube) -> None:
    created = k("POST", CM, configmap("r", {"a": "1"})).json()
    stale = dict(created, data={"a": "2"})
    replaced = k("PUT", CM + "/r", stale)
    assert replaced.status_code == 200
    assert replaced.json()["data"] == {"a": "2"}
    assert replaced.json()["metadata"]["uid"] == created["metadata"]["uid"]
    conflict = k("PUT", CM + "/r", stale)
    assert conflict.status_code == 409
    assert conflict.json()["message"] == (
        'Operation cannot be fulfilled on configmaps "r": the object has been modified; please '
        "apply your changes to the latest version and try again")
    unconditional = dict(stale, data={"a": "3"})
    del unconditional["metadata"]["resourceVersion"]
    assert k("PUT", CM + "/r", unconditional).status_code == 200
    wrong_name = k("PUT", CM + "/r", configmap("other", {"a": "1"}))
    assert wrong_name.status_code == 400
    assert wrong_name.json()["message"] == ("the name of the object (other) does not match the "
                                            "name on the URL (r)")
    assert k("PUT", CM + "/missing", configmap("missing", {"a": "1"})).status_code == 404


def test_noop_replace_keeps_the_resource_version(k: RawKube) -> None:
    created = k("POST", CM, configmap("same", {"a": "1"})).json()
    again = k("PUT", CM + "/same", created).json()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_patches(k: RawKube) -> None:
    k("POST", CM, configmap("p", {"a": "1"}))
    answer = k("PATCH", CM + "/p", [{"op": "add", "path": "/data/b", "value": "2"}],
               ctype="application/json-patch+json")
    assert answer.json()["data"] == {"a": "1", "b": "2"}
    answer = k("PATCH", CM + "/p", {"data": {"a": None}}, ctype="application/merge-patch+json")
    assert answer.json()["data"] == {"b": "2"}
    answer = k("PATCH", CM + "/p", {"data": {"c": "3"}},
               ctype="application/strategic-merge-patch+json")
    assert answer.json()["data"] == {"b": "2", "c": "3"}
    failed = k("PATCH", CM + "/p", [{"op": "test", "path": "/data/b", "value": "x"}],
               ctype="application/json-patch+json")
    assert failed.status_code == 422
    wrong = k("PATCH", CM + "/p", {"data": {}}, ctype="text/plain")
    assert wrong.status_code == 415
    assert k("PATCH", CM + "/nope", {"data": {}},
             ctype="application/merge-patch+json").status_code == 404


def test_server_side_apply_and_conflicts(k: RawKube) -> None:
    applied = k("PATCH", CM + "/sa", {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "sa"}, "data": {"x": "1"}},
                ctype="application/apply-patch+yaml", fieldManager="me")
    assert applied.status_code == 201
    assert applied.json()["metadata"]["managedFields"][0]["operation"] == "Apply"
    again = k("PATCH", CM + "/sa", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sa\n"
              "data:\n  x: '1'\n  y: '2'\n", ctype="application/apply-patch+yaml",
              fieldManager="me")
    assert again.status_code == 200 and again.json()["data"] == {"x": "1", "y": "2"}
    clash = k("PATCH", CM + "/sa", {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "sa"}, "data": {"x": "other"}},
              ctype="application/apply-patch+yaml", fieldManager="you")
    assert clash.status_code == 409
    assert clash.json()["details"]["causes"][0]["field"] == ".data.x"
    forced = k("PATCH", CM + "/sa", {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "sa"}, "data": {"x": "other"}},
               ctype="application/apply-patch+yaml", fieldManager="you", force="true")
    assert forced.status_code == 200 and forced.json()["data"]["x"] == "other"
    missing = k("PATCH", CM + "/sb", {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "sb"}},
                ctype="application/apply-patch+yaml")
    assert missing.status_code == 422


def test_server_side_apply_can_be_switched_off() -> None:
    with ApiServer(server_side_apply=False) as server:
        answer = RawKube(server)("PATCH", CM + "/x", {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "x"}},
                              ctype="application/apply-patch+yaml", fieldManager="me")
        assert answer.status_code == 415
        assert answer.json()["message"] == (
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/strategic-merge-patch+json")


def test_field_validation(k: RawKube) -> None:
    body = dict(configmap("fv", {"a": "1"}), bogus=1)
    strict = k("POST", CM, body, fieldValidation="Strict")
    assert strict.status_code == 400
    assert strict.json()["message"] == ('ConfigMap in version "v1" cannot be handled as a '
                                        'ConfigMap: strict decoding error: unknown field "bogus"')
    warn = k("POST", CM, body, fieldValidation="Warn")
    assert warn.status_code == 201
    assert warn.headers["Warning"] == '299 - "unknown field \\"bogus\\""'
    assert "bogus" not in warn.json()
    ignore = k("POST", CM, dict(configmap("fv2", {"a": "1"}), bogus=1), fieldValidation="Ignore")
    assert ignore.status_code == 201 and "Warning" not in ignore.headers


def test_delete_returns_status_or_object(k: RawKube) -> None:
    created = k("POST", CM, configmap("d", {"a": "1"})).json()
    answer = k("DELETE", CM + "/d")
    assert answer.status_code == 200
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                             "status": "Success", "details": {
                                 "name": "d", "kind": "configmaps",
                                 "uid": created["metadata"]["uid"]}}
    assert k("GET", CM + "/d").status_code == 404
    assert k("DELETE", CM + "/d").status_code == 404


def test_delete_preconditions(k: RawKube) -> None:
    created = k("POST", CM, configmap("pc", {"a": "1"})).json()
    answer = k("DELETE", CM + "/pc", {"kind": "DeleteOptions", "apiVersion": "v1",
                                      "preconditions": {"resourceVersion": "1"}})
    assert answer.status_code == 409
    assert answer.json()["message"] == (
        'Operation cannot be fulfilled on ConfigMap "pc": the ResourceVersion in the '
        "precondition (1) does not match the ResourceVersion in record "
        f"({created['metadata']['resourceVersion']}). The object might have been modified")
    answer = k("DELETE", CM + "/pc", {"preconditions": {"uid": "other"}})
    assert answer.status_code == 409
    answer = k("DELETE", CM + "/pc", {"preconditions": {"uid": created["metadata"]["uid"]}})
    assert answer.status_code == 200


def test_finalizers_keep_the_object_until_removed(k: RawKube) -> None:
    k("POST", CM, configmap("fin", {"a": "1"}, finalizers=["example.com/hold"]))
    answer = k("DELETE", CM + "/fin")
    assert answer.status_code == 200
    meta = answer.json()["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    held = k("GET", CM + "/fin").json()
    assert held["metadata"]["deletionTimestamp"] == meta["deletionTimestamp"]
    again = k("DELETE", CM + "/fin")
    assert again.json()["metadata"]["resourceVersion"] == held["metadata"]["resourceVersion"]
    released = k("PATCH", CM + "/fin", {"metadata": {"finalizers": None}},
                 ctype="application/merge-patch+json")
    assert released.status_code == 200
    assert k("GET", CM + "/fin").status_code == 404


def test_owner_references_cascade(k: RawKube) -> None:
    owner = k("POST", CM, configmap("owner", {"a": "1"})).json()
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
           "uid": owner["metadata"]["uid"]}
    k("POST", CM, configmap("child", {"a": "1"}, ownerReferences=[ref]))
    k("DELETE", CM + "/owner", {"propagationPolicy": "Background"})
    assert k("GET", CM + "/child").status_code == 404
    owner = k("POST", CM, configmap("owner2", {"a": "1"})).json()
    ref["uid"] = owner["metadata"]["uid"]
    k("POST", CM, configmap("child2", {"a": "1"}, ownerReferences=[ref]))
    k("DELETE", CM + "/owner2", propagationPolicy="Orphan")
    assert k("GET", CM + "/child2").status_code == 200


def test_status_and_scale_subresources_of_a_deployment(k: RawKube) -> None:
    created = k("POST", DEPLOY, dict(deployment("web"), status={"replicas": 9})).json()
    assert created["metadata"]["generation"] == 1
    assert "status" not in created or created["status"].get("replicas") != 9
    status = dict(created, status={"replicas": 1, "readyReplicas": 1})
    updated = k("PUT", DEPLOY + "/web/status", status).json()
    assert updated["status"]["readyReplicas"] == 1
    assert updated["metadata"]["generation"] == 1
    scale = k("GET", DEPLOY + "/web/scale").json()
    assert scale["apiVersion"] == "autoscaling/v1" and scale["kind"] == "Scale"
    assert scale["spec"] == {"replicas": 1}
    assert scale["status"] == {"replicas": 1, "selector": "app=web"}
    scaled = k("PATCH", DEPLOY + "/web/scale", {"spec": {"replicas": 4}},
               ctype="application/merge-patch+json").json()
    assert scaled["spec"]["replicas"] == 4
    after = k("GET", DEPLOY + "/web").json()
    assert after["spec"]["replicas"] == 4 and after["metadata"]["generation"] == 2
    ignored = dict(after, status={"replicas": 100})
    kept = k("PUT", DEPLOY + "/web", ignored).json()
    assert kept["status"]["replicas"] == 1
    scale = k("GET", DEPLOY + "/web/scale").json()
    scale["spec"]["replicas"] = 2
    assert k("PUT", DEPLOY + "/web/scale", scale).json()["spec"]["replicas"] == 2
    scale["spec"]["replicas"] = 3
    assert k("PUT", DEPLOY + "/web/scale", scale).status_code == 409


def test_custom_resources(k: RawKube) -> None:
    assert k("POST", CRDS, THING_CRD).status_code == 201
    thing = {"apiVersion": "test.dynakube.io/v1", "kind": "Thing", "metadata": {"name": "t"},
             "spec": {"color": "red"}}
    created = k("POST", THINGS, thing)
    assert created.status_code == 201
    assert created.json()["spec"] == {"color": "red", "replicas": 1}
    assert created.json()["metadata"]["generation"] == 1
    bad = k("POST", THINGS, dict(thing, metadata={"name": "u"}, spec={"color": "green"}))
    assert bad.status_code == 422
    assert bad.json()["details"]["causes"][0]["field"] == "spec.color"
    no_kind = k("POST", THINGS, {"apiVersion": "test.dynakube.io/v1", "metadata": {"name": "v"}})
    assert no_kind.status_code == 400
    assert no_kind.json()["message"].startswith("Object 'Kind' is missing in '")
    wrong_kind = k("POST", THINGS, dict(thing, kind="Other", metadata={"name": "w"}))
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["message"] == ('Thing.test.dynakube.io "w" is invalid: kind: '
                                            'Invalid value: "Other": must be Thing')
    wrong_version = k("POST", THINGS, dict(thing, apiVersion="test.dynakube.io/v2"))
    assert wrong_version.status_code == 400
    assert k("PATCH", THINGS + "/t", {"spec": {"color": "blue"}},
             ctype="application/strategic-merge-patch+json").status_code == 415
    status = k("PATCH", THINGS + "/t/status", {"status": {"phase": "Ready", "replicas": 1}},
               ctype="application/merge-patch+json").json()
    assert status["status"] == {"phase": "Ready", "replicas": 1}
    assert status["metadata"]["generation"] == 1
    scaled = k("PATCH", THINGS + "/t/scale", {"spec": {"replicas": 5}},
               ctype="application/merge-patch+json").json()
    assert scaled["spec"] == {"replicas": 5} and scaled["status"] == {"replicas": 1}
    assert k("GET", THINGS + "/t").json()["metadata"]["generation"] == 2
    deleted = k("DELETE", THINGS + "/t")
    assert deleted.json()["kind"] == "Thing"


def test_namespace_deletion_removes_its_contents(k: RawKube) -> None:
    created = k("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "gone"}}).json()
    assert created["status"] == {"phase": "Active"}
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "gone"}
    k("POST", "/api/v1/namespaces/gone/configmaps", configmap("a", {"a": "1"}))
    k("POST", "/api/v1/namespaces/gone/configmaps",
      configmap("held", {"a": "1"}, finalizers=["x/y"]))
    answer = k("DELETE", "/api/v1/namespaces/gone")
    assert answer.status_code == 200
    assert answer.json()["status"]["phase"] == "Terminating"
    assert k("GET", "/api/v1/namespaces/gone/configmaps/a").status_code == 404
    refused = k("POST", "/api/v1/namespaces/gone/configmaps", configmap("b", {"a": "1"}))
    assert refused.status_code == 403
    assert refused.json()["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    assert k("GET", "/api/v1/namespaces/gone").status_code == 200
    k("PATCH", "/api/v1/namespaces/gone/configmaps/held", {"metadata": {"finalizers": []}},
      ctype="application/merge-patch+json")
    assert k("GET", "/api/v1/namespaces/gone").status_code == 404


def test_cluster_scoped_resources(k: RawKube) -> None:
    ns = k("GET", "/api/v1/namespaces/default").json()
    assert "namespace" not in ns["metadata"]
    assert k("GET", "/api/v1/namespaces/default/namespaces").status_code == 404
    assert k("POST", "/api/v1/namespaces", {"metadata": {"name": "Bad"}}).status_code == 422


def test_foreground_delete_waits_for_dependents(k: RawKube) -> None:
    owner = k("POST", CM, configmap("fg", {"a": "1"})).json()
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "fg", "uid": owner["metadata"]["uid"]}
    k("POST", CM, configmap("fg-child", {"a": "1"}, ownerReferences=[ref],
                            finalizers=["x.io/hold"]))
    answer = k("DELETE", CM + "/fg", {"kind": "DeleteOptions", "apiVersion": "v1",
                                      "propagationPolicy": "Foreground"})
    assert answer.status_code == 200
    assert answer.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert answer.json()["metadata"]["deletionTimestamp"]
    assert k("GET", CM + "/fg").status_code == 200
    assert k("GET", CM + "/fg-child").json()["metadata"]["deletionTimestamp"]
    k("PATCH", CM + "/fg-child", {"metadata": {"finalizers": None}},
      ctype="application/merge-patch+json")
    assert k("GET", CM + "/fg-child").status_code == 404
    assert k("GET", CM + "/fg").status_code == 404


def test_foreground_delete_without_dependents_completes(k: RawKube) -> None:
    k("POST", CM, configmap("alone", {"a": "1"}))
    answer = k("DELETE", CM + "/alone", propagationPolicy="Foreground")
    assert answer.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert k("GET", CM + "/alone").status_code == 404
    bad = k("DELETE", CM + "/x", propagationPolicy="Sideways")
    assert bad.status_code == 422


def test_yaml_bodies_and_unknown_media_types(k: RawKube) -> None:
    answer = k("POST", CM, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\n",
               ctype="application/yaml")
    assert answer.status_code == 201
    assert answer.json()["metadata"]["name"] == "from-yaml"
    refused = k("POST", CM, "name=x", ctype="text/plain")
    assert refused.status_code == 415
    assert refused.json()["reason"] == "UnsupportedMediaType"


def _ports_deployment(port_name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ports"},
            "spec": {"selector": {"matchLabels": {"app": "p"}},
                     "template": {"metadata": {"labels": {"app": "p"}},
                                  "spec": {"containers": [{
                                      "name": "c", "image": "nginx",
                                      "ports": [{"containerPort": 80, "name": port_name}]}]}}}}


def test_apply_after_update_defaults_list_map_keys(k: RawKube) -> None:
    """``kubectl apply`` then ``kubectl apply --server-side``: the omitted ``protocol`` key of
    a port is its default ``TCP``, so the same ports are the same items and do not conflict."""
    made = k("POST", DEPLOY, _ports_deployment("http"),
             fieldManager="kubectl-client-side-apply")
    assert made.status_code == 201
    assert made.json()["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"}]
    same = k("PATCH", DEPLOY + "/ports", _ports_deployment("http"),
             ctype="application/apply-patch+yaml", fieldManager="kubectl")
    assert same.status_code == 200, same.json()
    entries = same.json()["metadata"]["managedFields"]
    entry = next(e for e in entries if e["manager"] == "kubectl")
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"c"}']
    assert container["f:ports"] == {'k:{"containerPort":80,"protocol":"TCP"}': {
        ".": {}, "f:containerPort": {}, "f:name": {}}}
    changed = k("PATCH", DEPLOY + "/ports", _ports_deployment("web"),
                ctype="application/apply-patch+yaml", fieldManager="other")
    assert changed.status_code == 409
    field = '.spec.template.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].name'
    assert [(c["field"], c["message"]) for c in changed.json()["details"]["causes"]] == [
        (field, 'conflict with "kubectl"'),
        (field, 'conflict with "kubectl-client-side-apply" using apps/v1')]


def test_apply_after_update_defaults_service_port_protocol(k: RawKube) -> None:
    svc = "/api/v1/namespaces/default/services"

    def service(target: int) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "p"},
                         "ports": [{"port": 80, "targetPort": target}]}}

    assert k("POST", svc, service(8080), fieldManager="kubectl-client-side-apply"
             ).status_code == 201
    same = k("PATCH", svc + "/web", service(8080), ctype="application/apply-patch+yaml",
             fieldManager="kubectl")
    assert same.status_code == 200, same.json()
    changed = k("PATCH", svc + "/web", service(9090), ctype="application/apply-patch+yaml",
                fieldManager="other")
    assert changed.status_code == 409
    assert {c["field"] for c in changed.json()["details"]["causes"]} == {
        '.spec.ports[port=80,protocol="TCP"].targetPort'}


def test_malformed_scale_bodies_are_bad_requests(k: RawKube) -> None:
    assert k("POST", DEPLOY, _ports_deployment("http")).status_code == 201
    cases = [
        ("PATCH", {"spec": 5}, "application/merge-patch+json",
         "json: cannot unmarshal number into Go struct field Scale.spec of type v1.ScaleSpec"),
        ("PATCH", {"metadata": []}, "application/strategic-merge-patch+json",
         "json: cannot unmarshal array into Go struct field Scale.metadata of type v1.ObjectMeta"),
        ("PUT", {"kind": "Scale", "apiVersion": "autoscaling/v1", "spec": {"replicas": "2"}},
         "application/json", "json: cannot unmarshal string into Go struct field "
         "ScaleSpec.spec.replicas of type int32"),
    ]
    for method, body, ctype, detail in cases:
        answer = k(method, DEPLOY + "/ports/scale", body, ctype=ctype)
        assert answer.status_code == 400, answer.text
        assert answer.json()["reason"] == "BadRequest"
        assert answer.json()["message"] == (
            f'Scale in version "v1" cannot be handled as a Scale: {detail}')
    assert k("GET", DEPLOY + "/ports").json()["spec"]["replicas"] == 1


def test_concurrent_patches_of_one_object_all_apply(kube_server: ApiServer) -> None:
    """A patch names no resourceVersion: the real server re-applies it to the newest state
    instead of answering 409 when another write landed while it was being computed."""
    import threading

    assert RawKube(kube_server)("POST", CM, {"metadata": {"name": "shared"}, "data": {}}
                             ).status_code == 201
    codes: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        k = RawKube(kube_server)
        for i in range(15):
            for ctype, body in (
                    ("application/merge-patch+json", {"data": {f"m{n}-{i}": "1"}}),
                    ("application/json-patch+json",
                     [{"op": "add", "path": f"/data/j{n}-{i}", "value": "1"}])):
                code = k("PATCH", CM + "/shared", body, ctype=ctype).status_code
                with lock:
                    codes.append(code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * len(codes)
    data = RawKube(kube_server)("GET", CM + "/shared").json()["data"]
    assert len(data) == 6 * 15 * 2


def test_deleting_a_namespace_deletes_a_cascaded_object_once(k: RawKube,
                                                             kube_server: ApiServer) -> None:
    import json

    assert k("POST", "/api/v1/namespaces", {"metadata": {"name": "gone"}}).status_code == 201
    cms = "/api/v1/namespaces/gone/configmaps"
    owner = k("POST", cms, {"metadata": {"name": "a"}}).json()
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": owner["metadata"]["uid"]}
    made = k("POST", cms, {"metadata": {"name": "b", "ownerReferences": [ref]}}).json()
    since = made["metadata"]["resourceVersion"]
    assert k("DELETE", "/api/v1/namespaces/gone").status_code == 200
    watched = k("GET", cms, watch="true", resourceVersion=since, timeoutSeconds="1")
    events = [json.loads(line) for line in watched.text.splitlines() if line]
    assert sorted((e["type"], e["object"]["metadata"]["name"]) for e in events) == [
        ("DELETED", "a"), ("DELETED", "b"), ("DELETED", "kube-root-ca.crt")]
    bucket = kube_server.api.bucket(kube_server.table.lookup("", "v1", "configmaps"))
    assert kube_server.store.count(bucket) == 4  # the kube-root-ca.crt of the boot namespaces


def test_malformed_delete_options_are_bad_requests(k: RawKube) -> None:
    assert k("POST", CM, {"metadata": {"name": "kept"}}).status_code == 201
    cases = [({"preconditions": 5}, "json: cannot unmarshal number into Go struct field "
              "DeleteOptions.preconditions of type v1.Preconditions"),
             ({"dryRun": "All"}, "json: cannot unmarshal string into Go struct field "
              "DeleteOptions.dryRun of type []string"),
             ({"gracePeriodSeconds": "x"}, "json: cannot unmarshal string into Go struct field "
              "DeleteOptions.gracePeriodSeconds of type int64")]
    for body, message in cases:
        for path in (CM + "/kept", CM):
            answer = k("DELETE", path, body)
            assert answer.status_code == 400, answer.text
            assert (answer.json()["reason"], answer.json()["message"]) == ("BadRequest", message)
    assert k("GET", CM + "/kept").status_code == 200


def test_apply_with_managed_fields_in_the_body_is_a_bad_request(k: RawKube) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "mf", "managedFields": [{"manager": "x", "operation": "Apply"}]}}
    answer = k("PATCH", CM + "/mf", body, ctype="application/apply-patch+yaml", fieldManager="m")
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "BadRequest"
    assert answer.json()["message"] == "metadata.managedFields must be nil"


def test_deeply_nested_bodies_are_bad_requests(k: RawKube) -> None:
    deep = "[" * 5000 + "]" * 5000
    answers = [
        k("POST", CM, '{"metadata": {"name": "deep"}, "x": ' + deep + "}"),
        k("POST", CM, "metadata: {name: deep}\nx: " + deep + "\n", ctype="application/yaml"),
        k("PUT", CM + "/deep", '{"metadata": {"name": "deep"}, "x": ' + deep + "}"),
        k("PATCH", CM + "/deep", '{"x": ' + deep + "}", ctype="application/merge-patch+json"),
        k("PATCH", CM + "/deep", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: "
          + deep + "\n", ctype="application/apply-patch+yaml", fieldManager="m"),
    ]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.json()["reason"] == "BadRequest"
    assert k("POST", CM, '{"metadata": {"name": "ok"}, "x": ' + "[" * 50 + "]" * 50 + "}"
             ).status_code == 201


def test_yaml_bodies_become_json_like_the_real_servers(k: RawKube) -> None:
    made = k("POST", CM, "metadata: {name: y}\ndata: {when: 2026-01-02, 1: one}\n",
             ctype="application/yaml")
    assert made.status_code == 201, made.text
    assert made.json()["data"] == {"when": "2026-01-02", "1": "one"}
    free = copy.deepcopy(THING_CRD)
    free["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert k("POST", CRDS, free).status_code == 201
    thing = ("apiVersion: test.dynakube.io/v1\nkind: Thing\nmetadata: {name: t}\n"
             "spec: {when: 2026-01-02T03:04:05Z, 7: seven}\n")
    applied = k("PATCH", THINGS + "/t", thing, ctype="application/apply-patch+yaml",
                fieldManager="m")
    assert applied.status_code == 201, applied.text
    assert applied.json()["spec"] == {"when": "2026-01-02T03:04:05Z", "7": "seven"}
    assert k("GET", THINGS + "/t").status_code == 200
    bad_key = k("POST", CM, "metadata: {name: z}\ndata: {? [a]: b}\n", ctype="application/yaml")
    assert bad_key.status_code == 400 and bad_key.json()["reason"] == "BadRequest"
