"""Replay ``../shared/k8s-api/record_kinds.py`` against the embedded server, entry by entry.

The script makes exactly the calls behind ``kinds.json`` (defaults, typical objects, patches,
refusals, deletion lifecycle, request options) in their order. Run against the embedded
server, every answer must have the recorded status and ``reason``; a refusal the recorded
message and causes; an object the recorded body, server-owned values compared by shape
(addresses, node ports, names the server generated, times, uids).

:data:`CONTROLLER_FINISHES` lists the entries that differ because the recording's server ran
without controllers (the README says so) while the embedded server stands in for them: each
names what finishes there. Nothing else is exempt: ``managedFields`` are compared too, each
entry's manager, operation, version and field set exactly (which fields are atomic, what
admission or the strategy added, where a ``"."`` entry goes), its time by shape.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from rawhttp import shared_file

from dynakube.testing import ApiServer

_NAMESPACE_CONTROLLER = ("the namespace controller empties and removes a terminating namespace"
                         " at once (the recording's server had none: it stayed Terminating)")
_COLLECTOR = ("the garbage collector finishes the delete, so the object is gone (the "
              "recording's server had none: its finalizer stayed)")
_POD_CONTROLLERS = "kube-root-ca.crt is there: the root-ca-cert-publisher made it"
CONTROLLER_FINISHES: dict[str, str] = {
    "lifecycle/Deployment/get-after-delete-Foreground": _COLLECTOR,
    "lifecycle/Deployment/get-after-delete-Orphan": _COLLECTOR,
    "lifecycle/Job/get-after-default-delete": _COLLECTOR,
    "lifecycle/Namespace/get-after-delete": _NAMESPACE_CONTROLLER,
    "lifecycle/Namespace/create-configmap-in-terminating-namespace": _NAMESPACE_CONTROLLER,
    "lifecycle/Namespace/create-pod-in-terminating-namespace": _NAMESPACE_CONTROLLER,
    "lifecycle/Namespace/update-existing-content-in-terminating-namespace":
        _NAMESPACE_CONTROLLER,
    "lifecycle/Namespace/delete-again-while-terminating": _NAMESPACE_CONTROLLER,
    "lifecycle/Namespace/create-namespace-with-same-name-while-terminating":
        _NAMESPACE_CONTROLLER + "; the name is free again",
    "lifecycle/Namespace/finalize-empty-finalizers":
        _NAMESPACE_CONTROLLER + "; the finalize meets the namespace made again",
    "lifecycle/Namespace/get-after-finalize":
        _NAMESPACE_CONTROLLER + "; the namespace made again is there",
    "lifecycle/Pod/create-before-default-serviceaccount-exists":
        "the serviceaccount controller made the default ServiceAccount with the namespace",
}
"""Entries whose answer differs because a controller the recording's server lacked ran."""

LISTS_WITH_ROOT_CA = ("options/list-limit-1", "options/list-limit-negative",
                      "options/list-resourceVersion-0-limit-1")
"""Lists of the ``kinds`` namespace's ConfigMaps, compared without ``kube-root-ca.crt``
(:data:`_POD_CONTROLLERS`)."""

_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIFF_HEAD = re.compile(r"@@ -\d+,\d+ \+\d+,\d+ @@")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_TOKEN_VOLUME = re.compile(r"^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$")
_VOLATILE = ("creationTimestamp", "resourceVersion", "uid", "continue")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    want = json.loads(shared_file("v1.36/kinds.json").read_text())
    script = shared_file("record_kinds.py")
    out = tmp_path_factory.mktemp("kinds")
    with ApiServer() as server:
        # the recording's Pods stayed Terminating (no kubelet): here they are stopped by the
        # script's own gracePeriodSeconds=0 deletes only, whatever the machine's speed
        server.pods.stop_seconds = 600.0
        crd = yaml.safe_load(shared_file("manifests/widget-crd.yaml").read_text())
        answer = requests.post(server.url + "/apis/apiextensions.k8s.io/v1/"
                               "customresourcedefinitions", json=crd,
                               headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
        assert answer.status_code == 201, answer.text
        proc = subprocess.run([sys.executable, str(script), server.url, server.token, "",
                               str(out)], capture_output=True, text=True, timeout=300,
                              env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"})
        assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads((Path(out) / "kinds.json").read_text())
    return want, got


def _reason(body: Any) -> Any:
    return body.get("reason") if isinstance(body, dict) else None


def _generated(want: dict[str, Any], got: dict[str, Any]) -> dict[str, str]:
    """The names the two servers generated for the same ``generateName`` request."""
    def name(entry: dict[str, Any]) -> str | None:
        body = entry["body"]
        if not isinstance(body, dict):
            return None
        return ((body.get("details") or {}).get("name") if body.get("kind") == "Status"
                else (body.get("metadata") or {}).get("name"))
    request = want["request"]["body"]
    meta = request.get("metadata") if isinstance(request, dict) else None
    if not isinstance(meta, dict) or meta.get("name") or not meta.get("generateName"):
        return {}
    mine, theirs = name(got), name(want)
    return {mine: "<generated>", theirs: "<generated>"} if mine and theirs else {}


def _text(value: Any, names: dict[str, str]) -> Any:
    text = _UID.sub("<uid>", json.dumps(value))
    for name, neutral in names.items():
        text = text.replace(name, neutral)
    # a pod spec diff's line numbers: the recording's pod had OpenShift's extra volume source
    return json.loads(_DIFF_HEAD.sub("@@ <lines> @@", text))


def _shape(value: Any, key: str = "") -> Any:
    """Server-owned values replaced by what they must look like."""
    if isinstance(value, dict):
        out = {k: _shape(v, k) for k, v in value.items() if k not in _VOLATILE}
        projected = out.get("projected")
        if isinstance(projected, dict):  # OpenShift's own source (see the README)
            projected["sources"] = [s for s in projected.get("sources") or [] if (
                s.get("configMap") or {}).get("name") != "openshift-service-ca.crt"]
        return out
    if isinstance(value, list):
        return [_shape(v, key) for v in value]
    if key in ("clusterIP", "clusterIPs") and isinstance(value, str) and value[:1].isdigit():
        return "<service IP>" if value != "10.0.0.0" else value  # a dry run's is exact
    if key in ("nodePort", "healthCheckNodePort") and isinstance(value, int) \
            and 30000 <= value <= 32767:
        return "<node port>"
    if isinstance(value, str) and _TOKEN_VOLUME.match(value):
        return "<kube-api-access>"
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    return value


def _object(body: Any, key: str) -> Any:
    body = copy.deepcopy(body)
    if key in LISTS_WITH_ROOT_CA:
        body["items"] = [i for i in body["items"] if i["metadata"]["name"] != "kube-root-ca.crt"]
        body["metadata"].pop("remainingItemCount", None)  # counts it too
    return _shape(body)


def test_every_call_was_replayed(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    assert sorted(got) == sorted(want)
    assert set(CONTROLLER_FINISHES) <= set(want)


def test_status_and_reason_match(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    mismatched = [(key, w["status"], _reason(w["body"]), got[key]["status"],
                   _reason(got[key]["body"])) for key, w in want.items()
                  if key not in CONTROLLER_FINISHES
                  and (w["status"], _reason(w["body"])) != (got[key]["status"],
                                                           _reason(got[key]["body"]))]
    assert mismatched == []


def test_refusals_have_the_real_message_and_causes(
        replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    compared, mismatched = 0, []
    for key, w in want.items():
        body = w["body"]
        if key in CONTROLLER_FINISHES or w["status"] < 300 or not isinstance(body, dict) \
                or body.get("kind") != "Status":
            continue
        names = _generated(w, got[key])
        mine = got[key]["body"]
        fields = ("message", "details") if "uid" not in (body.get("details") or {}) \
            else ("message",)
        for field in fields:
            if _text(mine.get(field), names) != _text(body.get(field), names):
                mismatched.append((key, field, mine.get(field)))
        compared += 1
    assert mismatched == []
    assert compared > 300


def test_objects_match_with_their_defaults(
        replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Every defaulted field and every managedFields entry, on creates, dry runs, patches,
    deletes and reads."""
    want, got = replayed
    compared, mismatched = 0, []
    for key, w in want.items():
        body = w["body"]
        if key in CONTROLLER_FINISHES or w["status"] >= 300 or not isinstance(body, dict):
            continue  # a success's Status (a delete's, a binding's) is compared too
        names = _generated(w, got[key])
        if _text(_object(got[key]["body"], key), names) != _text(_object(body, key), names):
            mismatched.append(key)
        compared += 1
    assert mismatched == []
    assert compared > 250
