"""Semantic validation (``dynakube.apiserver.rules.semantic``) against the real server's verdicts.

Every ``invalid/*`` entry of ``kinds.json`` is replayed through ``validate``: the recorded body
(a create), or the recorded patch applied to the object the same recording created earlier (an
update). The causes and the ``422`` message must be the real ones; ``-accepted`` cases must
give none. Entries this module does not match are listed below with the reason.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED
from rawhttp import RawKube

from dynakube import errors
from dynakube.apiserver.merge.patching import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from dynakube.apiserver.merge.strategy import patch_strategies
from dynakube.apiserver.rules.semantic import custom_resource_update, status_kind, validate
from dynakube.apiserver.rules.semantic.jobs import parse_schedule
from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.apiserver.status import invalid
from dynakube.client import Client
from dynakube.testing import ApiServer

_NOT_SEMANTIC = "not semantic validation: answered by decoding or the verbs, not by validate()"
SKIPPED: dict[str, str] = {
    "invalid/ConfigMap/put-to-missing-object": _NOT_SEMANTIC + " (404)",
    "invalid/ConfigMap/put-with-stale-resourceVersion": _NOT_SEMANTIC + " (409)",
    "invalid/Widget/put-with-stale-resourceVersion": _NOT_SEMANTIC + " (409)",
    "invalid/Namespace/update-name-in-body-mismatch": _NOT_SEMANTIC + " (400)",
    "invalid/Pod/namespace-in-body-mismatch": _NOT_SEMANTIC + " (400)",
    "invalid/Secret/data-not-base64": _NOT_SEMANTIC + " (400, base64 decoding)",
    "invalid/Service/clusterIP-outside-range": _NOT_SEMANTIC + " (the cluster-IP allocator: "
        "test_server_kinds_replay and test_server_fidelity_kinds match it)",
    "invalid/Service/nodePort-already-allocated-real-create": _NOT_SEMANTIC + " (the node-port "
        "allocator, with the ports other Services hold: test_server_kinds_replay matches it)",
    "invalid/Job/selector-without-manualSelector":
        "the message holds the uid the dry run generated; test_server_kinds_replay matches it "
        "with uids made neutral, and here the update twin is matched",
}
# The recording changed some objects before it tried these updates: the object they met is
# the answer of the named earlier entry, not the create's.
PRECEDED_BY = {
    "invalid/Pod/update-change-restartPolicy": "update/Pod/merge-patch-activeDeadlineSeconds",
    "invalid/Job/update-template-labels-of-suspended-job-accepted":
        "update/Job/merge-patch-parallelism-and-suspend",
    "invalid/Job/update-selector-change":
        "invalid/Job/update-template-labels-of-suspended-job-accepted",
    "invalid/Job/update-template-restartPolicy":
        "invalid/Job/update-template-labels-of-suspended-job-accepted",
}
_REPEATED = re.compile(r"^<<(\d+) x '(.)'>>$")


def _cases() -> list[str]:
    if not SHARED.is_dir():
        return ["(no recordings)"]
    return [k for k in _kinds(SHARED) if k.startswith("invalid/")]


@functools.cache
def _kinds(shared: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / "v1.36" / "kinds.json").read_text())
    return data


def _expand(value: Any) -> Any:
    """The recordings write huge strings as ``<<N x 'c'>>``."""
    if isinstance(value, str):
        m = _REPEATED.match(value)
        return m.group(2) * int(m.group(1)) if m else value
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def _group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    group = obj["apiVersion"].rpartition("/")[0] if "/" in obj["apiVersion"] else ""
    return group, obj["kind"]


def _stored(kinds: dict[str, Any], path: str) -> dict[str, Any]:
    """The object at ``path`` as the recording created it (a persisted create's answer)."""
    collection, _, name = path.rpartition("/")
    for key in sorted(kinds, key=lambda k: not k.startswith("rich/")):
        entry = kinds[key]
        req = entry["request"]
        if req["method"] == "POST" and req["path"] == collection and entry["status"] == 201 \
                and not req.get("query", {}).get("dryRun") \
                and entry["body"]["metadata"]["name"] == name:
            return copy.deepcopy(entry["body"])
    raise AssertionError(f"no recorded create of {path}")


def _defaulted(obj: dict[str, Any], kind: tuple[str, str]) -> dict[str, Any]:
    """The one default the cases rely on that semantic validation does not assume itself:
    a Namespace carries its name as the ``kubernetes.io/metadata.name`` label."""
    if kind == ("", "Namespace"):
        meta = obj.setdefault("metadata", {})
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
    return obj


def _replayed(kinds: dict[str, Any], case: str
              ) -> tuple[dict[str, Any], dict[str, Any] | None, tuple[str, str]]:
    entry = kinds[case]
    req = entry["request"]
    body = _expand(req["body"])
    if req["method"] == "POST":
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        found = re.search(r"/namespaces/([^/]+)/", req["path"])
        if found:
            meta["namespace"] = found.group(1)  # the server fills it in from the URL
        if meta.get("generateName") and not meta.get("name"):
            meta["name"] = entry["body"]["details"]["name"]  # the name the server generated
        kind = _group_kind(obj)
        return _defaulted(obj, kind), None, kind
    if case in PRECEDED_BY:
        old = copy.deepcopy(kinds[PRECEDED_BY[case]]["body"])
    elif req["method"] == "PUT" and "." in _group_kind(body)[0]:
        old = copy.deepcopy(body)  # a custom resource: only the new object's metadata matters
    else:
        old = _stored(kinds, req["path"])
    kind = _group_kind(old)
    ctype = req.get("contentType", "")
    if req["method"] == "PUT":
        new = copy.deepcopy(body)
    elif ctype == "application/merge-patch+json":
        new = apply_merge_patch(old, body)
    elif ctype == "application/strategic-merge-patch+json":
        new = apply_strategic_merge_patch(old, body, patch_strategies(old["apiVersion"], kind[1]))
    else:
        new = apply_json_patch(old, body)
    return new, old, kind


@pytest.mark.parametrize("case", _cases())
def test_recorded_verdict(shared_api: Path, case: str) -> None:
    if case in SKIPPED:
        pytest.skip(SKIPPED[case])
    kinds = _kinds(shared_api)
    entry = kinds[case]
    new, old, kind = _replayed(kinds, case)
    dry_run = bool(entry["request"].get("query", {}).get("dryRun"))
    if case.startswith("invalid/Widget/put-without-resourceVersion"):
        causes = custom_resource_update(new)
        qualified = ("widgets", "example.dynakube.io")
    else:
        causes = validate(new, old, kind, dry_run=dry_run)
        qualified = status_kind(*kind)
    if entry["status"] < 300:
        assert causes == []
        return
    want = entry["body"]
    assert (entry["status"], want["reason"]) == (422, "Invalid")
    got = invalid(qualified[0], new["metadata"].get("name", ""), causes, qualified[1]).body
    assert causes == want["details"]["causes"]
    assert got["message"] == want["message"]
    assert got["details"] == want["details"]


def test_every_object_the_real_server_took_passes(shared_api: Path) -> None:
    """No false refusals: each object a recorded create or update returned is accepted."""
    checked = 0
    for key, entry in _kinds(shared_api).items():
        body = entry["body"]
        if entry["status"] not in (200, 201) or entry["request"]["method"] == "GET" \
                or not isinstance(body, dict) \
                or body.get("kind") in (None, "Status") or str(body.get("kind")).endswith("List") \
                or not key.startswith(("rich/", "defaults/", "update/", "invalid/")):
            continue
        assert validate(body, None, _group_kind(body), dry_run=True) == [], key
        checked += 1
    assert checked > 200


def test_skipped_entries_exist(shared_api: Path) -> None:
    """The lists above name real entries (a renamed recording must not hide a case)."""
    kinds = _kinds(shared_api)
    assert set(SKIPPED) | set(PRECEDED_BY) | set(PRECEDED_BY.values()) \
        <= set(kinds)


@pytest.mark.parametrize(("schedule", "problem"), [
    ("*/5 * * * *", None),
    ("@hourly", None),
    ("0 0 1 jan-mar mon", None),
    ("every minute", "expected exactly 5 fields, found 2: [every minute]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("@sometimes", "unrecognized descriptor: @sometimes"),
])
def test_cron_schedules_parse_as_robfig_cron_does(schedule: str, problem: str | None) -> None:
    assert parse_schedule(schedule) == problem


# ---------------------------------------------------------------- over the wire


def _deployment(selector: dict[str, str], labels: dict[str, str],
                replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def test_deployment_whose_selector_misses_its_template_is_refused(kube: Client) -> None:
    deployments = kube.resource("deployments")
    with pytest.raises(errors.InvalidError) as info:
        deployments.create(_deployment({"app": "d"}, {"app": "other"}), validate=False)
    assert info.value.message == (
        'Deployment.apps "d" is invalid: spec.template.metadata.labels: Invalid value: '
        '{"app":"other"}: `selector` does not match template `labels`')
    assert info.value.causes == [{
        "reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
        "message": 'Invalid value: {"app":"other"}: `selector` does not match template `labels`'}]
    with pytest.raises(errors.InvalidError, match="must be greater than or equal to 0"):
        deployments.create(_deployment({"app": "d"}, {"app": "d"}, replicas=-1), validate=False)
    deployments.create(_deployment({"app": "d"}, {"app": "d"}))
    with pytest.raises(errors.InvalidError) as info:
        deployments.patch("d", {"spec": {"selector": {"matchLabels": {"app": "d", "x": "y"}},
                                         "template": {"metadata": {"labels": {"x": "y"}}}}})
    assert info.value.message == (
        'Deployment.apps "d" is invalid: spec.selector: Invalid value: '
        '{"matchLabels":{"app":"d","x":"y"}}: field is immutable')


def test_pod_without_containers_is_refused(kube: Client) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": []}}
    with pytest.raises(errors.InvalidError) as info:
        kube.resource("pods").create(pod, validate=False)
    assert info.value.message == 'Pod "p" is invalid: spec.containers: Required value'


def test_node_port_out_of_range_is_refused_unless_dry_run(kube: Client) -> None:
    services = kube.resource("services")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np80"},
           "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}}
    assert services.create(svc, dry_run=True)["spec"]["ports"][0]["nodePort"] == 80
    with pytest.raises(errors.InvalidError) as info:
        services.create(svc)
    assert info.value.message == (
        'Service "np80" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is '
        "not in the valid range. The range of valid ports is 30000-32767")


@pytest.mark.parametrize(("patch_type", "patch"), [
    ("merge", {"data": {"k": "changed"}}),
    ("strategic", {"data": {"k": "changed"}}),
    ("json", [{"op": "replace", "path": "/data/k", "value": "changed"}]),
])
def test_immutable_configmap_keeps_its_data(kube: Client, patch_type: str, patch: Any) -> None:
    cms = kube.resource("configmaps")
    cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "immutable"},
                "data": {"k": "v"}, "immutable": True})
    with pytest.raises(errors.InvalidError) as info:
        cms.patch("immutable", patch, patch_type=patch_type)
    assert info.value.message == ('ConfigMap "immutable" is invalid: data: Forbidden: field is '
                                  "immutable when `immutable` is set")
    assert cms.patch("immutable", {"metadata": {"labels": {"a": "b"}}})["data"] == {"k": "v"}
    stored = cms.get("immutable")
    stored["immutable"] = False
    with pytest.raises(errors.InvalidError, match="immutable: Forbidden"):
        cms.replace(stored)


def test_custom_resource_replace_needs_a_resource_version(kube: Client) -> None:
    kube.apply(copy.deepcopy(WIDGET_CRD))
    widgets = kube.resource("widgets")
    widgets.create(widget("w1"))
    with pytest.raises(errors.InvalidError) as info:
        widgets.replace(widget("w1", size="large"))
    assert info.value.message == (
        'widgets.example.dynakube.io "w1" is invalid: metadata.resourceVersion: Invalid value: '
        "0: must be specified for an update")
    stored = widgets.get("w1")
    stored["spec"]["size"] = "large"
    assert widgets.replace(stored)["spec"]["size"] == "large"


# ------------------------------------------------- recorded refusals, replayed over the wire

_WIRE_SKIPPED = {
    "invalid/Job/selector-without-manualSelector": SKIPPED[
        "invalid/Job/selector-without-manualSelector"],
}
"""Refused creates whose answer is not compared over the wire, with the reason."""


def _wire_comparable(body: dict[str, Any], generated: str | None) -> Any:
    """A ``422``'s message and causes, with the name the server generated made neutral."""
    text = json.dumps([body["message"], body["details"]["causes"]])
    return json.loads(text.replace(generated, "<generated>")) if generated else json.loads(text)


def test_recorded_creates_over_the_wire(shared_api: Path, kube_server: ApiServer) -> None:
    """Every create of the recordings (``rich/*``, and the dry runs of ``invalid/*``), sent in
    order to the embedded server as the recording sent it: the same status and, for a
    refusal, the same reason, message and causes (names and generated names included: the
    name format of each kind is semantic validation)."""
    kube = RawKube(kube_server)
    kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": "kinds"}})
    kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                copy.deepcopy(WIDGET_CRD))
    kinds = _kinds(shared_api)
    mismatched, compared = [], 0
    for case, entry in kinds.items():
        req = entry["request"]
        dry_run = bool(req.get("query", {}).get("dryRun"))
        if not case.startswith(("invalid/", "rich/")) or req["method"] != "POST" \
                or case in SKIPPED or case in _WIRE_SKIPPED or not (dry_run or case.startswith(
                    "rich/")):
            continue
        answer = kube("POST", req["path"], _expand(req["body"]), **req.get("query", {}))
        want, got = entry["body"], answer.json()
        if entry["status"] < 300:  # an accepted contrast, or a typical object
            if answer.status_code != entry["status"]:
                mismatched.append((case, answer.status_code, got.get("message")))
            continue
        generated = (want.get("details") or {}).get("name") \
            if not (req["body"].get("metadata") or {}).get("name") else None
        if (answer.status_code, got.get("reason")) != (entry["status"], want["reason"]) or (
                want["reason"] == "Invalid" and _wire_comparable(got, got["details"].get(
                    "name") if generated else None) != _wire_comparable(want, generated)):
            mismatched.append((case, answer.status_code, got.get("message")))
        compared += 1
    assert not mismatched
    assert compared > 100


def test_rbac_names_are_path_segments(kube: Client) -> None:
    """RBAC objects may have colons and capitals (``system:controller:...``), not ``/``."""
    roles = kube.resource("roles")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "Mixed:Case:Name"}, "rules": []}
    assert roles.create(role, validate=False)["metadata"]["name"] == "Mixed:Case:Name"
    role["metadata"]["name"] = "a/b"
    with pytest.raises(errors.InvalidError) as info:
        roles.create(role, validate=False)
    assert info.value.causes == [{"reason": "FieldValueInvalid", "field": "metadata.name",
                                  "message": "Invalid value: \"a/b\": may not contain '/'"}]


def test_a_bad_generate_name_and_the_name_made_of_it_are_two_causes(kube: Client) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "Bad_"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    with pytest.raises(errors.InvalidError) as info:
        kube.resource("pods").create(pod, validate=False)
    [prefix, name] = info.value.causes
    assert (prefix["field"], name["field"]) == ("metadata.generateName", "metadata.name")
    assert prefix["message"].startswith('Invalid value: "Bad_": a lowercase RFC 1123 subdomain')
    assert re.match(r'^Invalid value: "Bad_[a-z0-9]{5}": a lowercase RFC 1123 subdomain',
                    name["message"])


def test_each_name_problem_is_its_own_cause(kube: Client) -> None:
    name = "My.Service" + "x" * 60
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"ports": [{"port": 80}]}}
    with pytest.raises(errors.InvalidError) as info:
        kube.resource("services").create(svc, validate=False)
    assert [c["message"].split(": ", 2)[2][:30] for c in info.value.causes] == [
        "must be no more than 63 charac", "a lowercase RFC 1123 label mus"]


def test_limit_range_and_csr_are_checked(kube: Client) -> None:
    limit_ranges = kube.resource("limitranges")
    with pytest.raises(errors.InvalidError) as info:
        limit_ranges.create({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"},
                             "spec": {"limits": [{"type": "Container", "min": {"memory": "2Gi"},
                                                  "max": {"memory": "1024Mi"}}]}},
                            validate=False)
    assert info.value.causes[0] == {
        "reason": "FieldValueInvalid", "field": "spec.limits[0].min[memory]",
        "message": 'Invalid value: "2Gi": min value 2Gi is greater than max value 1Gi'}
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "c"},
           "spec": {"request": "bm90IGEgY3Ny", "signerName": "example.com/x",
                    "usages": ["client auth", "client auth"], "expirationSeconds": 60}}
    with pytest.raises(errors.InvalidError) as info:
        kube.resource("certificatesigningrequests").create(csr, validate=False)
    assert [c["field"] for c in info.value.causes] == [
        "spec.request", "spec.usages[1]", "spec.expirationSeconds"]
