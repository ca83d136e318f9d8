"""kubectl, the acceptance client: the installed kubectl (1.32 or newer) against the embedded
server over HTTPS, with the server's own kubeconfig.

Each test works in a namespace of its own on one server per module, and asserts on what
kubectl prints and on its exit code: a server that only looks right to dynakube fails here.
Skipped when kubectl is not installed.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubectlhelp import Kubectl, needs_kubectl
from watchfakes import wait_until

from dynakube.apiserver.server import ApiServer

pytestmark = needs_kubectl


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def kubectl(server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(server.kubeconfig_path, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture
def k(kubectl: Kubectl, request: pytest.FixtureRequest) -> Kubectl:
    """kubectl bound to a fresh namespace named after the test."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].strip("-")
    assert kubectl.ok("create", "namespace", name) == f"namespace/{name} created\n"
    return kubectl.in_namespace(name)


def _yaml(obj: dict[str, Any]) -> str:
    return json.dumps(obj)  # JSON is YAML: kubectl reads either from -f -


def _configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "nginx:1.27",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def _bound_pod(name: str, grace: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": "node-1",
                            "containers": [{"name": "main", "image": "busybox:1.36",
                                            "command": ["sleep", "3600"]}]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


# -- apply ----------------------------------------------------------------------------------

def test_client_side_apply_creates_then_leaves_unchanged_then_configures(k: Kubectl) -> None:
    doc = _yaml(_configmap("settings", {"mode": "fast"}))
    assert k.ok("apply", "-f", "-", stdin=doc) == "configmap/settings created\n"
    assert k.ok("apply", "-f", "-", stdin=doc) == "configmap/settings unchanged\n"
    changed = _yaml(_configmap("settings", {"mode": "safe", "extra": "1"}))
    assert k.ok("apply", "-f", "-", stdin=changed) == "configmap/settings configured\n"
    live = json.loads(k.ok("get", "configmap", "settings", "-o", "json"))
    assert live["data"] == {"mode": "safe", "extra": "1"}
    last = json.loads(live["metadata"]["annotations"]
                      ["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"mode": "safe", "extra": "1"}
    # a key dropped from the file is removed: the three-way merge read the annotation back
    assert k.ok("apply", "-f", "-", stdin=doc) == "configmap/settings configured\n"
    assert k.jsonpath(["configmap", "settings"], "{.data}") == '{"mode":"fast"}'


def test_client_side_apply_with_an_unknown_field_is_refused_by_strict_validation(
        k: Kubectl) -> None:
    doc = _deployment("strict")
    doc["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    result = k.fails("apply", "-f", "-", stdin=_yaml(doc))
    assert 'unknown field "spec.template.spec.containers[0].bogus"' in result.err
    assert k.run("get", "deployment", "strict").code == 1


def test_server_side_apply_owns_fields_and_reports_conflicts(k: Kubectl) -> None:
    doc = _yaml(_deployment("ssa", replicas=2))
    assert k.ok("apply", "--server-side", "-f", "-", stdin=doc) == (
        "deployment.apps/ssa serverside-applied\n")
    live = json.loads(k.ok("get", "deployment", "ssa", "-o", "json", "--show-managed-fields"))
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    other = _yaml(_deployment("ssa", replicas=5))
    clash = k.fails("apply", "--server-side", "--field-manager=other", "-f", "-", stdin=other)
    assert 'conflict with "kubectl"' in clash.err and ".spec.replicas" in clash.err
    assert k.jsonpath(["deployment", "ssa"], "{.spec.replicas}") == "2"
    assert k.ok("apply", "--server-side", "--field-manager=other", "--force-conflicts",
                "-f", "-", stdin=other) == "deployment.apps/ssa serverside-applied\n"
    assert k.jsonpath(["deployment", "ssa"], "{.spec.replicas}") == "5"


def _made_by_kubectl_create(k: Kubectl, kind: str) -> str:
    """Make one object with ``kubectl create --save-config``; return its ``kind/name``."""
    if kind == "deployment":
        k.ok("create", "deployment", "rt", "--image=nginx:1.27", "--replicas=2", "--port=80",
             "--save-config")
    elif kind == "service":  # (kubectl create service ignores --save-config)
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rt"},
                   "spec": {"selector": {"app": "rt"},
                            "ports": [{"port": 80, "targetPort": 8080}]}}
        k.ok("create", "--save-config", "-f", "-", stdin=_yaml(service))
    else:
        k.ok("create", "configmap", "rt", "--from-literal=a=1", "--save-config")
    return f"{kind}/rt"


_CHANGES = {  # kind: (text in the saved YAML, its replacement, jsonpath, value after)
    "deployment": ("replicas: 2", "replicas: 4", "{.spec.replicas}", "4"),
    "service": ("targetPort: 8080", "targetPort: 9090", "{.spec.ports[0].targetPort}", "9090"),
    "configmap": ('a: "1"', 'a: "2"', "{.data.a}", "2"),
}


@pytest.mark.parametrize("kind", sorted(_CHANGES))
def test_get_yaml_then_apply_round_trips(k: Kubectl, kind: str, tmp_path: Path) -> None:
    target = _made_by_kubectl_create(k, kind)
    old, new, field, after = _CHANGES[kind]
    before = k.jsonpath([target], field)
    qualified = f"{kind}.apps/rt" if kind == "deployment" else target
    saved = tmp_path / "live.yaml"
    # the whole live object (status, defaults, managedFields, last-applied annotation
    # included) applies with strict validation: nothing in it is unknown to the server
    saved.write_text(k.ok("get", target, "-o", "yaml"))
    assert old in saved.read_text()
    assert k.ok("apply", "--validate=strict", "-f", str(saved)) == f"{qualified} configured\n"
    assert k.jsonpath([target], field) == before  # only the annotation was rewritten
    # and an edit of a freshly saved copy is applied
    saved.write_text(k.ok("get", target, "-o", "yaml").replace(old, new, 1))
    assert k.ok("apply", "--validate=strict", "-f", str(saved)) == f"{qualified} configured\n"
    assert k.jsonpath([target], field) == after


def test_a_list_of_objects_is_validated_by_kubectl_and_round_trips(k: Kubectl,
                                                                    tmp_path: Path) -> None:
    """A ``kind: List`` has no path to send ``fieldValidation`` to, so kubectl validates it
    against ``/openapi/v2`` (as protobuf) before sending anything."""
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"},
         "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}}]}))
    assert k.ok("create", "--save-config", "-f", str(listed)) == \
        "configmap/one created\nconfigmap/two created\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three"}, "bogus": 1}]}))
    refused = k.run("create", "-f", str(bad))
    assert refused.code == 1
    assert 'unknown field "bogus" in io.k8s.api.core.v1.ConfigMap' in refused.err
    saved = tmp_path / "saved.yaml"  # several objects: kubectl writes a List
    saved.write_text(k.ok("get", "configmap", "one", "two", "-o", "yaml"))
    assert k.ok("apply", "-f", str(saved)).splitlines() == [
        "configmap/one configured", "configmap/two configured"]


# -- create, edit, diff ---------------------------------------------------------------------

def test_create_deployment_gets_the_servers_defaults(k: Kubectl) -> None:
    assert k.ok("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3",
                "--port=8080") == "deployment.apps/web created\n"
    live = json.loads(k.ok("get", "deployment", "web", "-o", "json"))
    spec = live["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    container = spec["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("nginx", "nginx:1.27")
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    # what kube-apiserver's defaulting adds to every Deployment
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    table = k.ok("get", "deployments")
    assert table.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table.splitlines()[1].split()[:4] == ["web", "0/3", "0", "0"]


def test_create_configmap_from_literals(k: Kubectl) -> None:
    assert k.ok("create", "configmap", "greetings", "--from-literal=hello=world",
                "--from-literal=bye=now") == "configmap/greetings created\n"
    assert json.loads(k.ok("get", "configmap", "greetings", "-o", "json"))["data"] == {
        "hello": "world", "bye": "now"}
    # a server-side dry run is checked and answered but not stored
    assert k.ok("create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server") == (
        "configmap/dry created (server dry run)\n")
    missing = k.fails("get", "configmap", "dry")
    assert 'configmaps "dry" not found' in missing.err
    # kubectl refuses a bad key itself; a bad name is the server's 422
    bad = k.fails("create", "configmap", "Bad_Name", "--from-literal=a=b")
    assert 'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in bad.err


def _editor(tmp_path: Path, old: str, new: str) -> dict[str, str]:
    """A KUBE_EDITOR that replaces ``old`` with ``new`` in the file kubectl hands it."""
    script = tmp_path / "editor.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "path = sys.argv[-1]\n"
        "text = open(path).read()\n"
        f"open(path, 'w').write(text.replace({old!r}, {new!r}, 1))\n")
    script.chmod(0o755)
    return {"KUBE_EDITOR": str(script), "EDITOR": str(script)}


def test_edit_changes_a_field_and_no_change_is_cancelled(k: Kubectl, tmp_path: Path) -> None:
    k.ok("create", "deployment", "edited", "--image=nginx:1.27", "--replicas=2")
    generation = int(k.jsonpath(["deployment", "edited"], "{.metadata.generation}"))
    env = _editor(tmp_path, "replicas: 2", "replicas: 6")
    assert k.ok("edit", "deployment/edited", env=env) == "deployment.apps/edited edited\n"
    assert k.jsonpath(["deployment", "edited"], "{.spec.replicas}") == "6"
    assert int(k.jsonpath(["deployment", "edited"], "{.metadata.generation}")) == generation + 1
    unchanged = k.run("edit", "deployment/edited", env=_editor(tmp_path, "no-such-text", "x"))
    assert unchanged.code == 0, str(unchanged)
    assert "Edit cancelled, no changes made." in unchanged.out + unchanged.err


def test_diff_exits_0_when_same_and_1_with_the_change(k: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "deploy.json"
    manifest.write_text(_yaml(_deployment("diffed", replicas=2)))
    k.ok("apply", "-f", str(manifest))
    same = k.run("diff", "-f", str(manifest))
    assert (same.code, same.out) == (0, ""), str(same)
    manifest.write_text(_yaml(_deployment("diffed", replicas=5)))
    changed = k.run("diff", "-f", str(manifest))
    assert changed.code == 1, str(changed)
    removed = [line for line in changed.out.splitlines() if line.startswith("-  ")]
    added = [line for line in changed.out.splitlines() if line.startswith("+  ")]
    assert "-  replicas: 2" in removed and "+  replicas: 5" in added
    assert k.jsonpath(["deployment", "diffed"], "{.spec.replicas}") == "2"  # diff writes nothing
    bad = _deployment("diffed")
    bad["spec"]["replicas"] = -1
    manifest.write_text(_yaml(bad))
    refused = k.run("diff", "-f", str(manifest))
    assert refused.code > 1 and "spec.replicas: Invalid value: -1" in refused.err, str(refused)


# -- explain, api-resources, auth -----------------------------------------------------------

def test_explain_reads_fields_and_types_from_the_servers_openapi(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "deployment.spec.replicas")
    assert "GROUP:      apps" in out and "KIND:       Deployment" in out
    assert "FIELD: replicas <integer>" in out
    probe = kubectl.ok("explain", "pods.spec.containers.livenessProbe")
    assert "FIELD: livenessProbe <Probe>" in probe
    assert re.search(r"^\s+httpGet\s+<HTTPGetAction>$", probe, re.M), probe
    recursive = kubectl.ok("explain", "cronjobs.spec", "--recursive")
    for field in ("schedule", "timeZone", "jobTemplate", "tolerations", "affinity"):
        assert re.search(rf"^\s+{field}\s+<", recursive, re.M), field
    unknown = kubectl.fails("explain", "deployment.spec.nosuchfield")
    assert 'field "nosuchfield" does not exist' in unknown.err


def test_api_resources_lists_the_built_in_kinds(kubectl: Kubectl) -> None:
    out = kubectl.ok("api-resources")
    header = out.splitlines()[0].split()
    assert header == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["cronjobs"] == ["cronjobs", "cj", "batch/v1", "true", "CronJob"]
    assert rows["namespaces"] == ["namespaces", "ns", "v1", "false", "Namespace"]
    for name in ("statefulsets", "daemonsets", "jobs", "ingresses", "networkpolicies",
                 "persistentvolumeclaims", "horizontalpodautoscalers", "poddisruptionbudgets",
                 "clusterroles", "nodes", "endpointslices", "selfsubjectaccessreviews"):
        assert name in rows, name
    apps = kubectl.ok("api-resources", "--api-group=apps", "-o", "name").split()
    assert apps == sorted(["controllerrevisions.apps", "daemonsets.apps", "deployments.apps",
                           "replicasets.apps", "statefulsets.apps"])
    listable = kubectl.ok("api-resources", "--verbs=list", "--namespaced=false", "-o", "name")
    assert "nodes" in listable.split() and "tokenreviews.authentication.k8s.io" not in listable
    versions = kubectl.ok("api-versions").split()
    assert {"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"} <= set(versions)


def test_auth_can_i_answers_for_the_admin_and_the_forbidden_token(
        k: Kubectl, server: ApiServer) -> None:
    assert k.ok("auth", "can-i", "create", "deployments.apps") == "yes\n"
    assert k.ok("auth", "can-i", "delete", "pods", "--all-namespaces") == "yes\n"
    assert k.ok("auth", "can-i", "*", "*") == "yes\n"
    reader = ["--token", server.forbidden_token]
    assert k.ok("auth", "can-i", "get", "pods", *reader) == "yes\n"
    denied = k.run("auth", "can-i", "create", "pods", *reader)
    assert (denied.code, denied.out) == (1, "no\n"), str(denied)
    assert k.run("auth", "can-i", "delete", "deployments.apps", *reader).code == 1
    # and the token really is refused a write
    assert k.run("auth", "can-i", "create", "configmaps", *reader).out == "no\n"
    refused = k.run("create", "configmap", "nope", "--from-literal=a=b", *reader)
    assert refused.code == 1, str(refused)
    assert 'configmaps is forbidden: User "readonly" cannot create resource "configmaps"' in (
        refused.err)
    who = json.loads(k.ok("auth", "whoami", "-o", "json", *reader))
    assert (who["kind"], who["status"]["userInfo"]["username"]) == (
        "SelfSubjectReview", "readonly")


# -- lifecycle ------------------------------------------------------------------------------

def _deleted(name: str, out: str) -> bool:
    """kubectl's line for a deleted Pod (1.33 added the namespace to it)."""
    return re.fullmatch(rf'pod "{name}" deleted( from \S+ namespace)?\n', out) is not None


def _pod_watches(server: ApiServer) -> int:
    with server.store.lock:
        return sum(1 for w in server.store.watchers if w.bucket == "/pods")


def test_delete_wait_of_a_bound_pod_returns_once_the_kubelet_stand_in_removed_it(
        k: Kubectl) -> None:
    assert k.ok("apply", "-f", "-", stdin=_yaml(_bound_pod("bound"))) == "pod/bound created\n"
    assert _deleted("bound", k.ok("delete", "pod", "bound", "--wait", "--timeout=60s"))
    gone = k.fails("get", "pod", "bound")
    assert 'pods "bound" not found' in gone.err


def test_wait_for_delete_of_a_pod_in_its_grace_period(k: Kubectl, server: ApiServer) -> None:
    k.ok("apply", "-f", "-", stdin=_yaml(_bound_pod("slow", grace=600)))
    assert k.namespace is not None
    server.pods.ignore_sigterm(k.namespace, "slow")
    assert _deleted("slow", k.ok("delete", "pod", "slow", "--wait=false"))
    # kept, marked, for its grace period: a graceful delete, as on a cluster with a kubelet
    assert k.jsonpath(["pod", "slow"], "{.metadata.deletionGracePeriodSeconds}") == "600"
    assert k.jsonpath(["pod", "slow"], "{.metadata.deletionTimestamp}") != ""
    assert "Terminating" in k.ok("get", "pod", "slow")
    # wait --for=delete, started while the Pod is kept, sees it go once a second delete
    # shortens the grace period (to a second after the first delete: long past by now)
    watches = _pod_watches(server)
    waiting = k.start("wait", "--for=delete", "pod/slow", "--timeout=60s")
    assert wait_until(lambda: _pod_watches(server) > watches or waiting.proc.poll() is not None)
    k.ok("delete", "pod", "slow", "--grace-period=1", "--wait=false")
    waited = waiting.result()
    assert (waited.code, waited.out, waited.err) == (0, "pod/slow condition met\n", ""), \
        str(waited)
    assert k.run("get", "pod", "slow").code == 1


def test_rollout_status_follows_the_deployment_status(k: Kubectl) -> None:
    k.ok("create", "deployment", "roll", "--image=nginx:1.27", "--replicas=3")
    waiting = k.ok("rollout", "status", "deployment/roll", "--watch=false")
    assert waiting == "Waiting for deployment spec update to be observed...\n"
    generation = int(k.jsonpath(["deployment", "roll"], "{.metadata.generation}"))

    def status(**fields: int) -> None:
        patch = json.dumps({"status": {"observedGeneration": generation, "replicas": 3,
                                       **fields}})
        assert k.ok("patch", "deployment", "roll", "--subresource=status", "--type=merge",
                    "-p", patch) == "deployment.apps/roll patched\n"

    status(updatedReplicas=1, readyReplicas=1, availableReplicas=1)
    assert k.ok("rollout", "status", "deployment/roll", "--watch=false") == (
        'Waiting for deployment "roll" rollout to finish: '
        "1 out of 3 new replicas have been updated...\n")
    # what the deployment controller writes when the rollout is done
    status(updatedReplicas=3, readyReplicas=3, availableReplicas=3)
    assert k.ok("rollout", "status", "deployment/roll", "--timeout=60s") == (
        'deployment "roll" successfully rolled out\n')
    assert k.ok("get", "deployment", "roll").splitlines()[1].split()[:4] == [
        "roll", "3/3", "3", "3"]


def test_get_events_prints_the_event_table(k: Kubectl) -> None:
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1.backoff"},
             "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-1",
                                "namespace": k.namespace},
             "reason": "BackOff", "message": "Back-off restarting failed container",
             "type": "Warning", "count": 3, "source": {"component": "kubelet"},
             "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z"}
    assert k.ok("create", "-f", "-", stdin=_yaml(event)) == "event/web-1.backoff created\n"
    lines = k.ok("get", "events").splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split()[1:] == ["Warning", "BackOff", "pod/web-1", "Back-off", "restarting",
                                    "failed", "container"]
    row = k.ok("events").splitlines()[1]  # `kubectl events`: the same objects, newer view
    assert "(x3 over" in row
    assert row.split()[-7:] == ["Warning", "BackOff", "Pod/web-1", "Back-off", "restarting",
                                "failed", "container"]
    names = k.ok("get", "events", "--field-selector", "reason=BackOff", "-o", "name")
    assert names == "event/web-1.backoff\n"
    assert k.ok("get", "events", "--field-selector", "reason=Pulled", "-o", "name") == ""
