"""The embedded server's kinds table: discovery facts, tables, CRD-derived kinds, defaults."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from rawhttp import recorded

from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS
from dynakube.apiserver.kinds.defaults import apply_defaults
from dynakube.apiserver.kinds.generate import strip_prose
from dynakube.apiserver.kinds.specs import (
    BUILTIN_KINDS,
    KindSpec,
    builtin_kind,
    crd_schema_name,
    human_duration,
    jsonpath_value,
    kinds_from_crd,
    version_priority,
)
from dynakube.apiserver.seed import WIDGET_CRD
from dynakube.errors import InvalidArgumentError

NOW = datetime(2026, 11, 22, 2, 26, 13, tzinfo=UTC).timestamp()


def _fixture_crd() -> dict[str, Any]:
    return copy.deepcopy(WIDGET_CRD)


def _spec(group: str, kind: str) -> KindSpec:
    spec = builtin_kind(group, "v1", kind)
    assert spec is not None
    return spec


# ---------------------------------------------------------------- discovery facts


def test_builtin_kinds_cover_the_issue_list() -> None:
    kinds = {(k.group, k.kind) for k in BUILTIN_KINDS}
    assert kinds >= {
        ("", "Namespace"), ("", "ConfigMap"), ("", "Secret"), ("", "Service"), ("", "Pod"),
        ("", "ServiceAccount"), ("", "Event"), ("apps", "Deployment"),
        ("coordination.k8s.io", "Lease"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"), ("batch", "Job"),
        ("batch", "CronJob"), ("rbac.authorization.k8s.io", "Role"),
        ("networking.k8s.io", "Ingress"), ("networking.k8s.io", "NetworkPolicy"),
        ("", "PersistentVolumeClaim"), ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"), ("events.k8s.io", "Event"), ("", "Node"),
        ("", "Endpoints"), ("authentication.k8s.io", "TokenReview"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
    }
    assert len(BUILTIN_KINDS) == 68  # every resource of a kube-apiserver 1.36


def test_deployment_facts_without_recordings() -> None:
    deploy = _spec("apps", "Deployment")
    assert deploy.plural == "deployments" and deploy.singular == "deployment"
    assert deploy.short_names == ("deploy",) and deploy.categories == ("all",)
    assert deploy.schema_name == "io.k8s.api.apps.v1.Deployment"
    assert deploy.list_kind == "DeploymentList"
    scale = deploy.subresource("scale")
    assert scale is not None
    assert (scale.kind, scale.group, scale.version) == ("Scale", "autoscaling", "v1")
    status = deploy.subresource("status")
    assert status is not None and (status.kind, status.group) == ("Deployment", "")
    assert deploy.subresource("nope") is None
    assert deploy.api_version == "apps/v1" and _spec("", "Pod").api_version == "v1"
    namespace = _spec("", "Namespace")
    assert not namespace.namespaced and "deletecollection" not in namespace.verbs


def _discovered() -> dict[tuple[str, str, str], dict[str, Any]]:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for name in ("api.json", "apis.json"):
        body = recorded(f"discovery/aggregated/{name}")["body"]
        for group in body["items"]:
            for version in group["versions"]:
                for resource in version["resources"]:
                    key = (group["metadata"].get("name", ""), version["version"],
                           resource["resource"])
                    found[key] = resource
    return found


@pytest.mark.parametrize("spec", BUILTIN_KINDS, ids=lambda k: k.kind)
def test_builtin_kind_matches_real_discovery(spec: KindSpec) -> None:
    real = _discovered()[(spec.group, spec.version, spec.plural)]
    assert spec.verbs == tuple(real["verbs"])
    assert spec.short_names == tuple(real.get("shortNames", ()))
    assert spec.categories == tuple(real.get("categories", ()))
    assert spec.singular == real["singularResource"]
    assert spec.namespaced == (real["scope"] == "Namespaced")
    assert real["responseKind"]["kind"] == spec.kind
    subs = {s["subresource"]: s for s in real.get("subresources", [])}
    assert {s.name for s in spec.subresources} == set(subs)
    for sub in spec.subresources:
        kind = subs[sub.name]["responseKind"]
        assert (sub.kind, sub.group, sub.version) == (kind["kind"], kind["group"], kind["version"])
        assert sub.verbs == tuple(subs[sub.name]["verbs"])


def test_widget_kinds_match_real_discovery() -> None:
    found = _discovered()
    for kind in kinds_from_crd(_fixture_crd()):
        real = found[("example.dynakube.io", kind.version, "widgets")]
        assert kind.verbs == tuple(real["verbs"])
        assert kind.short_names == tuple(real["shortNames"])
        assert kind.categories == tuple(real["categories"])
        subs = [(s["subresource"], s["responseKind"]["kind"], s["responseKind"]["group"],
                 s["responseKind"]["version"], tuple(s["verbs"]))
                for s in real.get("subresources", [])]
        assert [(s.name, s.kind, s.group, s.version, s.verbs) for s in kind.subresources] == subs


# ---------------------------------------------------------------- CRD-derived kinds


def test_kinds_from_crd_orders_versions_and_keeps_their_details() -> None:
    v1, v1beta1 = kinds_from_crd(_fixture_crd())
    assert (v1.version, v1beta1.version) == ("v1", "v1beta1")
    assert v1.is_custom and v1.crd_name == "widgets.example.dynakube.io"
    assert v1.schema_name == "io.dynakube.example.v1.Widget"
    assert v1.storage and not v1beta1.storage
    assert v1.warning() is None
    assert v1beta1.warning() == "example.dynakube.io/v1beta1 Widget is deprecated; use v1"
    assert v1.scale is not None
    assert (v1.scale.spec_replicas, v1.scale.status_replicas, v1.scale.label_selector) == (
        ".spec.replicas", ".status.replicas", ".status.selector")
    assert v1beta1.scale is None and v1beta1.subresources == ()
    assert v1.schema is not None and v1.schema["required"] == ["spec"]
    assert [c.name for c in v1beta1.columns] == ["Name", "Age"]


def test_kinds_from_crd_skips_unserved_versions_and_defaults_names() -> None:
    crd = _fixture_crd()
    beta = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    beta["served"] = False
    del crd["spec"]["names"]["singular"], crd["spec"]["names"]["listKind"]
    (only,) = kinds_from_crd(crd)
    assert only.version == "v1" and only.singular == "widget" and only.list_kind == "WidgetList"


def test_kinds_from_crd_rejects_a_crd_without_names() -> None:
    crd = _fixture_crd()
    del crd["spec"]["names"]
    with pytest.raises(InvalidArgumentError, match="names"):
        kinds_from_crd(crd)
    with pytest.raises(InvalidArgumentError, match="versions"):
        kinds_from_crd({"spec": {"group": "g", "names": {"kind": "K", "plural": "ks"},
                                 "versions": "v1"}})


def test_version_priority_is_kubernetes_order() -> None:
    versions = ["v1alpha1", "foo", "v1", "v2beta1", "v1beta2", "v2", "v1beta1", "bar"]
    assert sorted(versions, key=version_priority) == [
        "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"]


def test_crd_schema_name_reverses_the_group() -> None:
    assert crd_schema_name("example.dynakube.io", "v1", "Widget") == "io.dynakube.example.v1.Widget"


# ---------------------------------------------------------------- tables


def test_widget_table_columns_and_cells() -> None:
    v1 = kinds_from_crd(_fixture_crd())[0]
    definitions = v1.column_definitions()
    assert [(d["name"], d["type"], d["format"], d["priority"]) for d in definitions] == [
        ("Name", "string", "name", 0), ("Size", "string", "", 0),
        ("Replicas", "integer", "", 0), ("Age", "date", "", 0)]
    assert definitions[1]["description"] == (
        "Custom resource definition column (in JSONPath format): .spec.size")
    widget = {"metadata": {"name": "w1", "creationTimestamp": "2026-11-22T02:26:13Z"},
              "spec": {"size": "small", "replicas": 3.0}}
    assert v1.table_cells(widget, NOW) == ["w1", "small", 3, "0s"]
    assert v1.table_cells({"metadata": {"name": "w"}}, NOW) == ["w", None, None, None]


def test_widget_table_matches_the_recording() -> None:
    real = recorded("behaviour.json")["list_widgets_as_table"]["body"]
    v1 = kinds_from_crd(_fixture_crd())[0]
    ours = v1.column_definitions()
    assert [{k: v for k, v in d.items() if k != "description"} for d in ours] == [
        {k: v for k, v in d.items() if k != "description"} for d in real["columnDefinitions"]]
    assert ours[1:] == real["columnDefinitions"][1:]


def test_configmap_table_matches_the_recording() -> None:
    real = recorded("behaviour.json")["list_as_table"]["body"]
    ours = _spec("", "ConfigMap").column_definitions()
    strip = [{k: v for k, v in d.items() if k != "description"} for d in ours]
    assert strip == [{k: v for k, v in d.items() if k != "description"}
                     for d in real["columnDefinitions"]]
    cm = {"metadata": {"name": "cm1", "creationTimestamp": "2026-11-22T01:57:47Z"},
          "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert _spec("", "ConfigMap").table_cells(cm, NOW) == ["cm1", 3, "28m"]


def test_builtin_cells() -> None:
    deploy = {"metadata": {"name": "web", "creationTimestamp": "2026-11-22T02:20:13Z"},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert _spec("apps", "Deployment").table_cells(deploy, NOW) == [
        "web", "2/3", 3, 2, "6m", "c", "nginx", "app=web"]
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
           "status": {"phase": "Running", "containerStatuses": [
               {"ready": True, "restartCount": 2},
               {"ready": False, "restartCount": 1,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    cells = _spec("", "Pod").table_cells(pod, NOW)
    assert cells[:4] == ["p", "1/2", "CrashLoopBackOff", "3"]
    assert cells[5:] == ["<none>", "<none>", "<none>", "<none>"]
    svc = {"metadata": {"name": "s"}, "spec": {
        "type": "NodePort", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert _spec("", "Service").table_cells(svc, NOW)[1:5] == [
        "NodePort", "10.0.0.1", "<none>", "80:30080/TCP"]
    ns = {"metadata": {"name": "n"}, "status": {"phase": "Active"}}
    assert _spec("", "Namespace").table_cells(ns, NOW)[:2] == ["n", "Active"]
    assert _spec("", "Secret").table_cells({"metadata": {"name": "s"}, "type": "Opaque",
                                           "data": {"a": "", "b": ""}}, NOW)[:3] == [
        "s", "Opaque", 2]


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "<invalid>"), (-0.5, "0s"), (0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"),
    (3 * 3600, "3h"), (3 * 3600 + 120, "3h2m"), (30 * 3600, "30h"), (3 * 86400 + 3600, "3d1h"),
    (40 * 86400, "40d"), (3 * 365 * 86400 + 86400 * 2, "3y2d"), (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_jsonpath_value() -> None:
    obj = {"a": {"b": [{"c": 1}], "x.y": 2}}
    assert jsonpath_value(obj, ".a.b[0].c") == (True, 1)
    assert jsonpath_value(obj, "{.a['x.y']}") == (True, 2)
    assert jsonpath_value(obj, ".a.b[3]") == (False, None)
    assert jsonpath_value(obj, ".a.missing") == (False, None)
    assert jsonpath_value(obj, ".a.b[*].c") == (False, None)


# ---------------------------------------------------------------- defaults


def test_namespace_defaults_match_the_recording() -> None:
    ns: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rec"}}
    apply_defaults(ns)
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "rec"}
    real = recorded("behaviour.json")["create_namespace"]["body"]
    assert (ns["spec"], ns["status"], ns["metadata"]["labels"]) == (
        real["spec"], real["status"], real["metadata"]["labels"])


def test_deployment_defaults() -> None:
    deploy: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "d"},
                              "spec": {"template": {"spec": {"containers": [
                                  {"name": "c", "image": "nginx:1.27", "ports": [
                                      {"containerPort": 80}]},
                                  {"name": "d", "image": "busybox"}]}}}}
    apply_defaults(deploy)
    spec = deploy["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (
        1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["dnsPolicy"] == "ClusterFirst"
    first, second = pod["containers"]
    assert first["imagePullPolicy"] == "IfNotPresent" and second["imagePullPolicy"] == "Always"
    assert first["ports"][0]["protocol"] == "TCP"
    kept: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                            "spec": {"replicas": 0, "strategy": {"type": "Recreate"}}}
    apply_defaults(kept)
    assert kept["spec"]["replicas"] == 0 and kept["spec"]["strategy"] == {"type": "Recreate"}


def test_service_secret_and_other_defaults() -> None:
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service",
                           "spec": {"ports": [{"port": 80}]}}
    apply_defaults(svc)
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["sessionAffinity"] == "None"
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret",
                              "stringData": {"user": "admin"}, "data": {"x": "eA=="}}
    apply_defaults(secret)
    assert secret == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "data": {"x": "eA==", "user": "YWRtaW4="}}
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "data": {}}
    apply_defaults(cm)
    assert cm == {"apiVersion": "v1", "kind": "ConfigMap", "data": {}}
    crd = _fixture_crd()
    del crd["spec"]["names"]["listKind"]
    apply_defaults(crd)
    assert crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}


# ---------------------------------------------------------------- schemas


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        # JSONSchemaProps has a *property* named $ref: its value is a schema, not a string
        return [r for k, v in value.items()
                for r in ([v] if k == "$ref" and isinstance(v, str) else _refs(v))]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_every_builtin_schema_reference_resolves() -> None:
    refs = _refs(dict(BUILTIN_SCHEMAS))
    assert refs
    prefix = "#/components/schemas/"
    assert all(r.startswith(prefix) for r in refs)
    assert sorted({r[len(prefix):] for r in refs} - set(BUILTIN_SCHEMAS)) == []


@pytest.mark.parametrize("spec", BUILTIN_KINDS, ids=lambda k: k.kind)
def test_builtin_kind_schemas_carry_their_kind(spec: KindSpec) -> None:
    schema = BUILTIN_SCHEMAS[spec.schema_name]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": spec.group, "kind": spec.kind, "version": spec.version}]
    assert {"apiVersion", "kind"} <= set(schema["properties"])
    if "list" in spec.verbs:
        assert schema["properties"]["metadata"]["allOf"] == [
            {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
        listed = BUILTIN_SCHEMAS[spec.schema_name + "List"]
        assert listed["required"] == ["items"]


def test_schema_shapes_follow_the_real_conventions() -> None:
    spec = BUILTIN_SCHEMAS["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]
    assert spec["replicas"] == {"type": "integer", "format": "int32"}
    assert spec["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"
    rolling = BUILTIN_SCHEMAS["io.k8s.api.apps.v1.RollingUpdateDeployment"]["properties"]
    assert rolling["maxSurge"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]
    containers = BUILTIN_SCHEMAS["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"


def test_builtin_schemas_are_the_real_ones_without_descriptions() -> None:
    real: dict[str, Any] = {}
    for path in ("api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1",
                 "apis/apiextensions.k8s.io/v1", "apis/autoscaling/v1", "api", "apis"):
        real.update(recorded(f"openapi/v3/{path}.json")["body"]["components"]["schemas"])
    compared = 0
    for name, ours in BUILTIN_SCHEMAS.items():
        theirs = real.get(name)
        if theirs is None:
            continue
        compared += 1
        if "x-kubernetes-group-version-kind" in theirs and name.endswith(
                ("DeleteOptions", "WatchEvent")):
            continue  # these list the group-version of the document they are in
        assert ours == strip_prose(theirs), name
    assert compared > 250
