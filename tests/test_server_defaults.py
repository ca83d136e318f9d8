"""The embedded server's defaulting against the real kube-apiserver's recorded answers.

For every ``defaults/*``, ``rich/*`` and ``update/*`` entry of ``../shared/k8s-api/v1.36/
kinds.json``, the pure :func:`apply_defaults` runs on what the real server defaulted (the
request body; for an update, the recorded previous state with the patch applied by the
server's own patch code) and must give the recorded response body. Server-owned values are
compared by shape: an IPv4 of a service CIDR, a node port in 30000-32767, a
``kube-api-access-`` volume name with its 5 random characters, an RFC 3339 time.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest

from dynakube import errors
from dynakube.apiserver.kinds.conversions import convert, to_storage
from dynakube.apiserver.kinds.defaults import AdmissionRefused, UserInfo, apply_defaults
from dynakube.apiserver.kinds.podspec_defaults import image_pull_policy
from dynakube.apiserver.merge.patching import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from dynakube.apiserver.merge.strategy import patch_strategies

KINDS = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api" / "v1.36" / "kinds.json"

NOT_MATCHED = {
    "defaults/authentication.k8s.io/v1/selfsubjectreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/authentication.k8s.io/v1/tokenreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/authorization.k8s.io/v1/localsubjectaccessreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/authorization.k8s.io/v1/selfsubjectaccessreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/authorization.k8s.io/v1/selfsubjectrulesreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/authorization.k8s.io/v1/subjectaccessreviews":
        "a review's computed answer, not defaults (the review APIs of issue 15 part 5)",
    "defaults/core/v1/bindings": "pods/binding answers a Status; no object is defaulted",
    "defaults/core/v1/bindings-collection": "bindings answer a Status; no object is defaulted",
}
"""Entries deliberately not compared, each with the reason."""

_VOLATILE_META = ("creationTimestamp", "resourceVersion", "managedFields", "generation", "uid",
                  "selfLink")
_SERVICE_CIDRS = (ipaddress.ip_network("10.0.0.0/24"),)  # the recordings' and the server's
_TOKEN_NAME = re.compile(r"^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_ADMIN = UserInfo("admin", "admin-uid", ("system:masters", "system:authenticated"))


class FakeState:
    """Stored objects by (resource, namespace, name), and allocators like the server's."""

    def __init__(self, objects: Mapping[tuple[str, str | None, str], dict[str, Any]]):
        self.objects = dict(objects)
        self.next_ip = 10
        self.next_port = 30000

    def get_object(self, resource: str, namespace: str | None,
                   name: str) -> Mapping[str, Any] | None:
        return self.objects.get((resource, namespace, name))

    def list_objects(self, resource: str, namespace: str | None) -> list[Mapping[str, Any]]:
        return [o for (r, ns, _), o in self.objects.items()
                if r == resource and (namespace is None or ns == namespace)]

    def allocate_cluster_ip(self, family: str) -> str:
        self.next_ip += 1
        return str(_SERVICE_CIDRS[0][self.next_ip])

    def allocate_node_port(self, exclude: Collection[int]) -> int:
        while self.next_port in exclude:
            self.next_port += 1
        self.next_port += 1
        return self.next_port - 1


def _state(key: str = "") -> FakeState:
    """What the recording's namespace held: its ServiceAccount; the LimitRange of its case."""
    objects: dict[tuple[str, str | None, str], dict[str, Any]] = {
        ("serviceaccounts", "kinds", "default"): {"metadata": {"name": "default"}}}
    if key.startswith("rich/LimitRange/pod-"):
        objects[("limitranges", "kinds", "rich")] = _ENTRIES["rich/LimitRange/create"]["body"]
    return FakeState(objects)


def _recordings() -> dict[str, Any]:
    return json.loads(KINDS.read_text()) if KINDS.is_file() else {}


_ENTRIES = _recordings()
_KEYS = sorted(k for k in _ENTRIES if k.split("/")[0] in ("defaults", "rich", "update")
               and k not in NOT_MATCHED) or ["(no recordings)"]


# -- shapes ----------------------------------------------------------------------------------


def _in_cidr(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in net for net in _SERVICE_CIDRS)


def _shape(value: Any, key: str = "") -> Any:
    """``value`` with its server-owned parts replaced by what they must look like."""
    if isinstance(value, dict):
        return {k: _shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v, key) for v in value]
    if key in ("clusterIP", "clusterIPs") and isinstance(value, str) and _in_cidr(value):
        return "<service IP>"
    if key in ("nodePort", "healthCheckNodePort") and isinstance(value, int) \
            and 30000 <= value <= 32767:
        return "<node port>"
    if isinstance(value, str) and _TOKEN_NAME.match(value):
        return "<kube-api-access>"
    if key.endswith(("TransitionTime", "Timestamp")) and isinstance(value, str) \
            and _TIME.match(value):
        return "<time>"
    return value


def _comparable(obj: Any) -> Any:
    obj = copy.deepcopy(obj)
    if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict):
        for key in _VOLATILE_META:
            obj["metadata"].pop(key, None)
    for volume in ((obj.get("spec") or {}).get("volumes") or []) if isinstance(obj, dict) else []:
        projected = volume.get("projected") if isinstance(volume, dict) else None
        if projected:  # OpenShift's own addition (see the recordings' README)
            projected["sources"] = [s for s in projected.get("sources") or [] if (
                s.get("configMap") or {}).get("name") != "openshift-service-ca.crt"]
    return _shape(obj)


# -- building the input ----------------------------------------------------------------------


def _object_url(entry: Mapping[str, Any]) -> str:
    request, body = entry["request"], entry["body"]
    path = request["path"]
    if request["method"] == "POST":
        path += "/" + str(body["metadata"]["name"])
    return path


def _previous_state(key: str) -> dict[str, Any]:
    """The recorded state the update's patch applied to: the newest other one up to its own.

    A no-op patch keeps the resourceVersion, so an equal one is a state the patch met too.
    """
    entry = _ENTRIES[key]
    url, rv = _object_url(entry), int(entry["body"]["metadata"]["resourceVersion"])
    uid = entry["body"]["metadata"]["uid"]  # one object, whichever version's URL wrote it
    best: tuple[int, dict[str, Any]] | None = None
    for other_key, other in _ENTRIES.items():
        body = other.get("body")
        if other_key == key:
            continue
        if other["request"]["method"] not in ("POST", "PATCH", "PUT") or not isinstance(
                body, dict) or not (body.get("metadata") or {}).get("resourceVersion"):
            continue
        other_rv = int(body["metadata"]["resourceVersion"])
        newer = best is None or other_rv > best[0]
        same = _object_url(other) == url or body["metadata"].get("uid") == uid
        if same and other_rv <= rv and newer:
            best = (other_rv, body)
    assert best is not None, f"no recorded state before {key}"
    return copy.deepcopy(best[1])


def _patched(base: dict[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    ctype, patch = request["contentType"], request["body"]
    if ctype == "application/json-patch+json":
        result = apply_json_patch(copy.deepcopy(base), patch)
    elif ctype == "application/merge-patch+json":
        result = apply_merge_patch(copy.deepcopy(base), patch)
    else:
        result = apply_strategic_merge_patch(base, patch, patch_strategies(base["apiVersion"],
                                                                          base["kind"]))
    assert isinstance(result, dict)
    if "status" in base:  # the main resource's write keeps the stored status
        result["status"] = copy.deepcopy(base["status"])
    return result


def _created(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The request body as the server holds it when it defaults: namespace, name and uid set."""
    obj = copy.deepcopy(entry["request"]["body"])
    recorded = entry["body"]["metadata"]
    meta = obj.setdefault("metadata", {})
    if "namespace" in recorded:
        meta["namespace"] = recorded["namespace"]
    meta["name"] = recorded.get("name", meta.get("name"))
    meta["uid"] = recorded.get("uid")
    meta.pop("generateName", None) if "generateName" not in recorded else None
    return obj


@pytest.mark.parametrize("key", _KEYS)
def test_defaults_match_the_real_server(shared_api: Path, key: str) -> None:
    entry = _ENTRIES[key]
    if entry["status"] >= 300:
        pytest.skip(f"{key}: refused with {entry['status']} (validation, not defaulting: "
                    "test_server_kinds_replay matches the refusal)")
    if entry["request"]["method"] == "GET":  # another version's view of a stored object
        obj = convert(to_storage(_previous_state(key)), entry["body"]["apiVersion"])
    elif key.startswith("update/"):
        base = _previous_state(key)
        obj = _patched(base, entry["request"])
        apply_defaults(obj, old=base, state=_state(), user=_ADMIN)
    else:
        obj = _created(entry)
        apply_defaults(obj, state=_state(key), user=_ADMIN)
    obj = convert(to_storage(obj), obj["apiVersion"])  # the answer is read back from storage
    assert _comparable(obj) == _comparable(entry["body"])


def test_not_matched_entries_exist(shared_api: Path) -> None:
    missing = sorted(set(NOT_MATCHED) - set(_ENTRIES))
    assert not missing, f"NOT_MATCHED names entries kinds.json lacks: {missing}"


# -- behaviour the recordings show in single cases --------------------------------------------


def test_pod_without_its_service_account_is_refused(shared_api: Path) -> None:
    entry = _ENTRIES["lifecycle/Pod/create-before-default-serviceaccount-exists"]
    pod = copy.deepcopy(entry["request"]["body"])
    pod["metadata"]["namespace"] = "kinds"
    with pytest.raises(AdmissionRefused) as caught:
        apply_defaults(pod, state=FakeState({}))
    assert entry["body"]["message"] == f'pods "min" is forbidden: {caught.value.message}'


def test_pod_admission_runs_on_create_only() -> None:
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "p", "namespace": "ns"},
                           "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
    apply_defaults(pod)
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "default" and spec["priority"] == 0
    assert _TOKEN_NAME.match(spec["volumes"][0]["name"])
    assert spec["containers"][0]["volumeMounts"][0]["name"] == spec["volumes"][0]["name"]
    updated = copy.deepcopy(pod)
    updated["spec"]["tolerations"] = []
    apply_defaults(updated, old=pod)
    assert updated["spec"]["volumes"] == spec["volumes"]  # no second token volume
    assert [t["key"] for t in updated["spec"]["tolerations"]] == [
        "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]


def test_pod_above_a_limit_range_max_is_refused(shared_api: Path) -> None:
    entry = _ENTRIES["rich/LimitRange/pod-above-max-dry-run"]
    pod = copy.deepcopy(entry["request"]["body"])
    pod["metadata"]["namespace"] = "kinds"
    with pytest.raises(AdmissionRefused) as caught:
        apply_defaults(pod, state=_state("rich/LimitRange/pod-above-max-dry-run"))
    assert entry["body"]["message"] == f'pods "too-big" is forbidden: {caught.value.message}'


def test_unknown_priority_class_is_refused() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "kinds"},
           "spec": {"priorityClassName": "nope", "containers": [{"name": "c", "image": "x"}]}}
    with pytest.raises(AdmissionRefused, match="no PriorityClass with name nope was found"):
        apply_defaults(pod, state=_state())


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("registry:5000/team/app", "Always"), ("registry:5000/team/app:v1", "IfNotPresent"),
    ("nginx@sha256:" + "0" * 64, "IfNotPresent"), ("", "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_merge_patch_of_containers_is_defaulted_again() -> None:
    deploy: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    apply_defaults(deploy)
    patched = apply_merge_patch(copy.deepcopy(deploy), {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}})
    apply_defaults(patched, old=deploy)
    container = patched["spec"]["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert patched["status"] == {}


def test_service_update_keeps_its_allocations() -> None:
    state = _state()
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                           "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 80}]}}
    apply_defaults(svc, state=state)
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    replaced: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"type": "NodePort", "ports": [{"name": "a", "port": 81}]}}
    apply_defaults(replaced, old=svc, state=state)
    assert replaced["spec"]["clusterIP"] == ip
    assert replaced["spec"]["ports"][0]["nodePort"] == node_port
    to_cluster_ip = copy.deepcopy(replaced)
    to_cluster_ip["spec"]["type"] = "ClusterIP"
    apply_defaults(to_cluster_ip, old=replaced, state=state)
    assert "nodePort" not in to_cluster_ip["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in to_cluster_ip["spec"]


def test_custom_resources_are_left_alone() -> None:
    widget = {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
              "metadata": {"name": "w"}, "spec": {}}
    before = copy.deepcopy(widget)
    apply_defaults(widget)
    assert widget == before


# -- over the wire: the embedded server defaults on every write --------------------------------


def _deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


@pytest.mark.parametrize("patch_type", ["merge", "strategic", "json", "apply"])
def test_every_write_re_defaults_a_deployment(kube: Any, patch_type: str) -> None:
    deployments = kube.resource("deployments")
    name = f"redefault-{patch_type}"
    deployments.create(_deployment(name), "default")
    containers = [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]
    patch: Any = {"spec": {"template": {"spec": {"containers": containers}}}}
    if patch_type == "json":
        patch = [{"op": "replace", "path": "/spec/template/spec/containers", "value": containers}]
    if patch_type == "apply":
        patch = _deployment(name)
        patch["spec"]["template"]["spec"]["containers"] = containers
    result = deployments.patch(name, patch, "default", patch_type=patch_type,
                               force=True if patch_type == "apply" else None)
    [container] = [c for c in result["spec"]["template"]["spec"]["containers"]
                   if c["name"] == "web"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert result["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%",
                                                           "maxUnavailable": "25%"}
    assert result["status"] == {}


def test_replace_re_defaults_a_deployment(kube: Any) -> None:
    deployments = kube.resource("deployments")
    created = deployments.create(_deployment("replaced"), "default")
    created["spec"]["template"]["spec"]["containers"] = [{"name": "c", "image": "redis:7"}]
    del created["spec"]["revisionHistoryLimit"]
    replaced = deployments.replace(created, "default")
    assert replaced["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] \
        == "IfNotPresent"
    assert replaced["spec"]["revisionHistoryLimit"] == 10


def test_a_pod_gets_what_its_admission_adds(kube: Any) -> None:
    pod = kube.resource("pods").create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "admitted"},
        "spec": {"initContainers": [{"name": "i", "image": "busybox:1.36"}],
                 "containers": [{"name": "c", "image": "nginx"}]}}, "default")
    spec = pod["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert [(t["key"], t["effect"], t["tolerationSeconds"]) for t in spec["tolerations"]] == [
        ("node.kubernetes.io/not-ready", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "NoExecute", 300)]
    [volume] = spec["volumes"]
    assert _TOKEN_NAME.match(volume["name"])
    assert [next(iter(s)) for s in volume["projected"]["sources"]] == [
        "serviceAccountToken", "configMap", "downwardAPI"]
    for container in spec["containers"] + spec["initContainers"]:
        assert container["volumeMounts"] == [{
            "name": volume["name"], "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_a_job_gets_its_generated_selector(kube: Any) -> None:
    job = kube.resource("jobs").create({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "selected"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "c", "image": "busybox"}]}}}},
        "default")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
              "batch.kubernetes.io/job-name": "selected", "job-name": "selected"}
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels
    assert (job["spec"]["backoffLimit"], job["spec"]["completionMode"]) == (6, "NonIndexed")


def test_a_service_keeps_its_allocations_across_a_replace(kube: Any) -> None:
    services = kube.resource("services")
    created = services.create({"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": "ports"},
                               "spec": {"type": "NodePort", "ports": [{"port": 80}]}}, "default")
    ip, node_port = created["spec"]["clusterIP"], created["spec"]["ports"][0]["nodePort"]
    assert _in_cidr(ip) and 30000 <= node_port <= 32767
    created["spec"]["ports"] = [{"port": 80, "targetPort": 8080}]
    del created["spec"]["clusterIP"], created["spec"]["clusterIPs"]
    replaced = services.replace(created, "default")
    assert replaced["spec"]["clusterIP"] == ip
    assert replaced["spec"]["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP",
                                          "nodePort": node_port}]


def test_a_claim_is_protected_and_its_controller_lets_it_go(kube: Any) -> None:
    claims = kube.resource("persistentvolumeclaims")
    claim = claims.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": "data"},
                           "spec": {"accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": "1Gi"}}}}, "default")
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert (claim["spec"]["volumeMode"], claim["status"]) == ("Filesystem", {"phase": "Pending"})
    claims.delete("data", "default")
    assert [c["metadata"]["name"] for c in claims.list("default")["items"]] == []


# -- over the wire: versions that are views of one stored resource -----------------------------

_VIEWS = ("rich/Event/", "update/Event/", "rich/HorizontalPodAutoscaler/",
          "update/HorizontalPodAutoscaler/")


def test_versions_that_share_a_resource_convert(shared_api: Path, kube_server: Any) -> None:
    """The recorded Events (core and events.k8s.io) and HPAs (v1 and v2), replayed in order:
    each write and each read through the other version gives the recorded object."""
    from rawhttp import RawKube
    k = RawKube(kube_server)
    k.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": "kinds"}})
    k.create("/apis/apps/v1/namespaces/kinds/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "rich"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    replayed = 0
    views = [key for key in _ENTRIES if key.startswith(_VIEWS)]
    for key in sorted(views, key=lambda key: (  # in the order the recording made them
            int(_ENTRIES[key]["body"]["metadata"]["resourceVersion"]),
            _ENTRIES[key]["request"]["method"] == "GET")):
        entry = _ENTRIES[key]
        request = entry["request"]
        answer = k(request["method"], request["path"], request.get("body"),
                   ctype=request.get("contentType", "application/json"),
                   **request.get("query", {}))
        assert answer.status_code == entry["status"], (key, answer.text)
        got, want = _comparable(answer.json()), _comparable(entry["body"])
        for body in (got, want):  # who managed which field is the field manager's concern
            body["metadata"].pop("managedFields", None)
        assert got == want, key
        replayed += 1
    assert replayed >= 8


def test_events_of_both_versions_are_one_list(kube: Any) -> None:
    core, events = kube.resource("events", api_version="v1"), kube.resource(
        "events", api_version="events.k8s.io/v1")
    core.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "pulled"},
                 "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
                 "reason": "Pulled", "message": "pulled the image", "count": 2}, "default")
    [seen] = events.list("default")["items"]
    assert (seen["note"], seen["deprecatedCount"], seen["regarding"]["name"]) == (
        "pulled the image", 2, "p")
    with pytest.raises(errors.ConflictError, match="already exists"):
        events.create({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                       "metadata": {"name": "pulled"}, "eventTime": "2026-01-01T00:00:00.000000Z",
                       "reportingController": "x.io/y", "reportingInstance": "y",
                       "action": "Pull", "reason": "Pulled", "type": "Normal",
                       "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}},
                      "default")
    events.delete("pulled", "default")
    assert core.list("default")["items"] == []


def test_an_hpa_written_as_v1_is_read_as_v2(kube: Any) -> None:
    v1 = kube.resource("horizontalpodautoscalers", api_version="autoscaling/v1")
    v2 = kube.resource("horizontalpodautoscalers", api_version="autoscaling/v2")
    v1.create({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "h"},
               "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 60,
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                           "name": "web"}}}, "default")
    assert v2.get("h", "default")["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    pods = {"type": "Pods", "pods": {"metric": {"name": "rps"},
                                     "target": {"type": "AverageValue", "averageValue": "10"}}}
    v2.patch("h", {"spec": {"metrics": [pods]}}, "default")
    seen = v1.get("h", "default")
    assert "targetCPUUtilizationPercentage" not in seen["spec"]
    assert seen["metadata"]["annotations"] == {"autoscaling.alpha.kubernetes.io/metrics": (
        '[{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"10"}}]')}
    seen["spec"]["maxReplicas"] = 6  # a v1 replace keeps what only v2 can hold
    v1.replace(seen, "default")
    back = v2.get("h", "default")
    assert (back["spec"]["metrics"], back["spec"]["maxReplicas"]) == ([pods], 6)
    assert "annotations" not in back["metadata"]
