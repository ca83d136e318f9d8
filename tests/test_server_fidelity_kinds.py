"""Built-in kinds as kube-apiserver 1.36 handles them, over the wire and without recordings.

The allocators of a Service (the cluster-IP range and the node ports other Services hold,
and what a dry run allocates), a claim's resize, the Go dump of a StatefulSet's strategy, a
CRD's empty first status, and which kinds keep ``metadata.generation``.
``test_server_kinds_replay`` compares the same with the recordings where they exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from rawhttp import RawKube

from dynakube.testing import ApiServer

SVC = "/api/v1/namespaces/default/services"
MERGE = "application/merge-patch+json"


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], **spec}}


def only_cause(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    (cause,) = answer.json()["details"]["causes"]
    return cause  # type: ignore[no-any-return]


def test_cluster_ips_come_from_the_default_service_range(k: RawKube) -> None:
    ip = k.create(SVC, service("a"))["spec"]["clusterIP"]
    # the upper part of 10.0.0.0/24 first: the lower 16 are kept for static addresses
    assert ip.startswith("10.0.0.") and 17 <= int(ip.rsplit(".", 1)[1]) <= 254
    dry = k("POST", SVC, service("b"), dryRun="All").json()["spec"]
    assert dry["clusterIPs"] == ["10.0.0.0"]  # a dry run allocates nothing


def test_a_cluster_ip_outside_the_range_is_refused_even_in_a_dry_run(k: RawKube) -> None:
    for params in ({}, {"dryRun": "All"}):
        cause = only_cause(k("POST", SVC, service("s", clusterIP="10.9.9.9"), **params))
        assert cause == {
            "reason": "FieldValueInvalid", "field": "spec.clusterIPs",
            "message": 'Invalid value: ["10.9.9.9"]: failed to allocate IP 10.9.9.9: the provided '
                       "IP (10.9.9.9) is not in the valid range. The range of valid IPs is "
                       "10.0.0.0/24"}
    assert only_cause(k("POST", SVC, service("s", clusterIP="10.0.0.255")))["field"] == \
        "spec.clusterIPs"  # the broadcast address is not the allocator's


def test_a_cluster_ip_another_service_holds_is_refused_but_not_in_a_dry_run(k: RawKube) -> None:
    k.create(SVC, service("first", clusterIP="10.0.0.5"))
    again = service("second", clusterIP="10.0.0.5")
    assert k("POST", SVC, again, dryRun="All").status_code == 201
    assert only_cause(k("POST", SVC, again))["message"] == (
        'Invalid value: ["10.0.0.5"]: failed to allocate IP 10.0.0.5: provided IP is already '
        "allocated")
    # the Service's own address is no conflict on an update
    patched = k("PATCH", SVC + "/first", {"metadata": {"labels": {"a": "b"}}}, ctype=MERGE)
    assert patched.status_code == 200, patched.text


def test_a_node_port_another_service_holds_is_refused_in_a_dry_run_too(k: RawKube) -> None:
    ports = [{"port": 80, "nodePort": 30081}]
    k.create(SVC, service("np", type="NodePort", ports=ports))
    for params in ({}, {"dryRun": "All"}):
        cause = only_cause(k("POST", SVC, service("dup", type="NodePort", ports=ports),
                             **params))
        assert cause == {"reason": "FieldValueInvalid", "field": "spec.ports[0].nodePort",
                         "message": "Invalid value: 30081: provided port is already allocated"}
    relabelled = k("PATCH", SVC + "/np", {"metadata": {"labels": {"a": "b"}}}, ctype=MERGE)
    assert relabelled.status_code == 200, relabelled.text


def test_a_dry_run_counts_node_ports_past_the_range(k: RawKube) -> None:
    """The node-port operation of a dry run allocates nothing: it counts up from 32768."""
    spec = {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}
    dry = k("POST", SVC, service("np", **spec), dryRun="All").json()["spec"]
    assert [p["nodePort"] for p in dry["ports"]] == [32769, 32770]
    real = k.create(SVC, service("np", **spec))["spec"]
    assert all(30000 <= p["nodePort"] <= 32767 for p in real["ports"])


def test_a_claim_grows_only_once_bound(k: RawKube) -> None:
    claims = "/api/v1/namespaces/default/persistentvolumeclaims"
    k.create(claims, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": "c"},
                      "spec": {"accessModes": ["ReadWriteOnce"],
                               "resources": {"requests": {"storage": "1Gi"}}}})
    grow = {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    cause = only_cause(k("PATCH", claims + "/c", grow, ctype=MERGE))
    assert cause["field"] == "spec" and cause["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n@@ ")
    assert '+   "storage": "2Gi"' in cause["message"]
    bound = k("PATCH", claims + "/c/status", {"status": {"phase": "Bound"}}, ctype=MERGE)
    assert bound.status_code == 200, bound.text
    grown = k("PATCH", claims + "/c", grow, ctype=MERGE)
    assert grown.status_code == 200, grown.text
    assert grown.json()["spec"]["resources"]["requests"]["storage"] == "2Gi"


def test_a_stateful_set_strategy_is_shown_as_its_go_struct(k: RawKube) -> None:
    sets = "/apis/apps/v1/namespaces/default/statefulsets"
    labels = {"app": "s"}
    k.create(sets, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
                    "spec": {"selector": {"matchLabels": labels}, "serviceName": "s",
                             "template": {"metadata": {"labels": labels}, "spec": {
                                 "containers": [{"name": "c", "image": "nginx"}]}}}})
    cause = only_cause(k("PATCH", sets + "/s", {"spec": {"updateStrategy": {"type": "OnDelete"}}},
                         ctype=MERGE))
    assert cause == {"reason": "FieldValueInvalid", "field": "spec.updateStrategy.rollingUpdate",
                     "message": 'Invalid value: {"Partition":0,"MaxUnavailable":null}: only '
                                "allowed for updateStrategy 'RollingUpdate'"}


def test_generation_is_kept_by_the_kinds_whose_strategy_keeps_it(k: RawKube) -> None:
    policies = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies"
    made = k.create(policies, {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                               "metadata": {"name": "p"}, "spec": {"podSelector": {}}})
    assert made["metadata"]["generation"] == 1
    changed = k("PATCH", policies + "/p", {"spec": {"ingress": [{}]}}, ctype=MERGE)
    assert changed.json()["metadata"]["generation"] == 2
    classes = "/apis/scheduling.k8s.io/v1/priorityclasses"
    k.create(classes, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                       "metadata": {"name": "p"}, "value": 10})
    described = k("PATCH", classes + "/p", {"description": "x"}, ctype=MERGE).json()
    assert described["metadata"]["generation"] == 1  # a PriorityClass keeps its first one
    cm = k.create("/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "g"}})
    assert "generation" not in cm["metadata"]


def test_a_crd_is_answered_before_it_is_established(k: RawKube) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.t.example.com"},
           "spec": {"group": "t.example.com", "scope": "Namespaced",
                    "names": {"plural": "things", "kind": "Thing"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                        "openAPIV3Schema": {"type": "object"}}}]}}
    dry = k("POST", crds, crd, dryRun="All").json()
    assert dry["status"] == {"acceptedNames": {"kind": "", "plural": ""}, "conditions": None,
                             "storedVersions": ["v1"]}
    assert k.get(crds + "/things.t.example.com").status_code == 404
    made = k.create(crds, crd)
    assert made["status"]["conditions"] is None
    stored = k.get(crds + "/things.t.example.com").json()
    assert {c["type"] for c in stored["status"]["conditions"]} == {"NamesAccepted",
                                                                   "Established"}


def test_the_bindings_collection_binds_the_pod_it_names(k: RawKube) -> None:
    pods = "/api/v1/namespaces/default/pods"
    k.create(pods, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    answer = k("POST", "/api/v1/namespaces/default/bindings", binding)
    assert (answer.status_code, answer.json()) == (201, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    assert k.get(pods + "/p").json()["spec"]["nodeName"] == "node-1"
    assert k.get("/api/v1/namespaces/default/bindings").status_code == 405  # create only
    again = k("POST", "/api/v1/namespaces/default/bindings", binding)
    assert (again.status_code, again.json()["reason"]) == (409, "Conflict")


def test_a_service_turned_external_name_drops_its_internal_traffic_policy(k: RawKube) -> None:
    made = k.create(SVC, service("s"))
    assert made["spec"]["internalTrafficPolicy"] == "Cluster"
    turned = k("PATCH", SVC + "/s", {"spec": {"type": "ExternalName",
                                              "externalName": "db.example.com"}}, ctype=MERGE)
    assert turned.status_code == 200, turned.text
    assert "internalTrafficPolicy" not in turned.json()["spec"]
