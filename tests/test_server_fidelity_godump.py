"""Refusals that end in a dump of the internal Go struct, over the wire.

A Pod's forbidden update appends ``diff.Diff`` of the old and new internal spec, a Job's
immutable template shows the internal pod spec as ``json.Marshal`` writes it: Go field
names in struct order, unset fields as ``null`` or zero, ``hostNetwork`` inside the
internal ``SecurityContext``. (``test_server_semantic`` matches the recorded ones exactly.)
"""

from __future__ import annotations

import json

from rawhttp import RawKube

from dynakube.apiserver.rules.semantic.godump import go_diff, go_json
from dynakube.testing import ApiServer

PODS = "/api/v1/namespaces/default/pods"
MERGE = "application/merge-patch+json"


def test_a_forbidden_pod_update_shows_the_diff(kube_server: ApiServer) -> None:
    k = RawKube(kube_server)
    k.create(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    answer = k("PATCH", PODS + "/p", {"spec": {"restartPolicy": "Never"}}, ctype=MERGE)
    assert answer.status_code == 422
    message = answer.json()["details"]["causes"][0]["message"]
    head, _, diff = message.partition("\n")
    assert head.startswith("Forbidden: pod updates may not change fields other than ")
    lines = diff.splitlines()
    assert lines[0].startswith("@@ -") and lines[0].endswith(" @@")
    assert [line for line in lines if line[:1] in "+-"] == [
        '- "RestartPolicy": "Always",', '+ "RestartPolicy": "Never",']
    assert message.endswith("\n")


def test_internal_layout_and_zero_values() -> None:
    spec = {"hostNetwork": True, "containers": [{"name": "c", "image": "a&b",
                                                 "ports": [{"containerPort": 80}]}]}
    dumped = json.loads(go_json("PodSpec", spec))
    assert list(dumped)[:4] == ["Volumes", "InitContainers", "Containers",
                                "EphemeralContainers"]
    assert dumped["SecurityContext"]["HostNetwork"] is True  # moved into the internal type
    [container] = dumped["Containers"]
    assert container["Ports"] == [{"Name": "", "HostPort": 0, "ContainerPort": 80,
                                   "Protocol": "", "HostIP": ""}]
    assert container["Resources"] == {"Limits": None, "Requests": None, "Claims": None}
    assert container["LivenessProbe"] is None and container["TTY"] is False
    assert "a\\u0026b" in go_json("PodSpec", spec)  # json.Marshal escapes HTML characters
    selector = {"matchLabels": {"b": "2", "a": "1"}}
    claim = json.loads(go_json("PersistentVolumeClaimSpec", {"selector": selector}))
    assert claim["Selector"] == {"matchLabels": {"a": "1", "b": "2"}}  # JSON tags: metav1
    assert go_diff("PodSpec", spec, spec) == ""
