"""Deletion as a full cluster finishes it: graceful Pods (the server stands in for the kubelet),
terminating namespaces (the namespace controller), Orphan/Foreground/Background deletes (the
garbage collector), and the objects controllers make for every namespace.

Where ``../shared/k8s-api/v1.36/kinds.json`` recorded the same call (``lifecycle/*``), the
answer is compared with it: status, reason, message, causes and the deletion fields.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rawhttp import RawKube, configmap, kinds_entry

from dynakube.testing import ApiServer

NS = "/api/v1/namespaces"
PODS = "/api/v1/namespaces/default/pods"
CMS = "/api/v1/namespaces/default/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
RS = "/apis/apps/v1/namespaces/default/replicasets"
MERGE = "application/merge-patch+json"
DELETION = ("deletionTimestamp", "deletionGracePeriodSeconds", "generation", "finalizers")


def same_status(answer: Any, key: str) -> None:
    """``answer`` is the recorded Status: code, reason, message and causes."""
    wanted = kinds_entry(key)
    assert answer.status_code == wanted["status"], answer.text
    got = answer.json()
    for field in ("reason", "message"):
        assert got[field] == wanted["body"][field]
    assert (got.get("details") or {}).get("causes") == (wanted["body"].get("details") or {}).get(
        "causes")


def deletion_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """Which deletion fields an object has, and their values where they are not times."""
    meta = obj["metadata"]
    return {k: (True if k == "deletionTimestamp" else meta[k]) for k in DELETION if k in meta}


def same_deletion(answer: Any, key: str) -> None:
    wanted = kinds_entry(key)
    assert answer.status_code == wanted["status"], answer.text
    assert deletion_fields(answer.json()) == deletion_fields(wanted["body"])


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


def gone(k: RawKube, path: str, seconds: float = 10.0) -> bool:
    """Whether ``path`` answers 404 within ``seconds`` (what a controller finishes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if k.get(path).status_code == 404:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


# -- Pods ------------------------------------------------------------------------------------


def test_a_bound_pod_is_kept_until_its_containers_stop(k: RawKube) -> None:
    k.create(PODS, pod("bound", nodeName="node-1"))
    answer = k("DELETE", PODS + "/bound")
    same_deletion(answer, "lifecycle/Pod/delete-graceful-default")
    meta = answer.json()["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 30
    assert gone(k, PODS + "/bound")  # the kubelet stand-in confirms promptly


def test_a_pod_that_ignores_sigterm_takes_its_grace_period(k: RawKube,
                                                           kube_server: ApiServer) -> None:
    k.create(PODS, pod("stubborn", nodeName="node-1"))
    kube_server.pods.ignore_sigterm("default", "stubborn")
    first = k("DELETE", PODS + "/stubborn").json()
    time.sleep(0.6)  # longer than containers that honour SIGTERM take
    kept = k.get(PODS + "/stubborn")
    assert kept.status_code == 200
    assert kept.json()["metadata"]["deletionTimestamp"] == first["metadata"]["deletionTimestamp"]
    again = k("DELETE", PODS + "/stubborn")
    same_deletion(again, "lifecycle/Pod/delete-again-while-terminating")
    assert again.json()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    labelled = k("PATCH", PODS + "/stubborn", {"metadata": {"labels": {"late": "yes"}}},
                 ctype=MERGE)
    assert labelled.status_code == 200 and labelled.json()["metadata"]["labels"] == {"late": "yes"}
    shorter = k("DELETE", PODS + "/stubborn", {"apiVersion": "v1", "kind": "DeleteOptions",
                                               "gracePeriodSeconds": 1})
    assert shorter.json()["metadata"]["deletionGracePeriodSeconds"] == 1
    assert gone(k, PODS + "/stubborn")


def test_grace_period_zero_deletes_at_once(k: RawKube) -> None:
    k.create(PODS, pod("now", nodeName="node-1"))
    answer = k("DELETE", PODS + "/now", gracePeriodSeconds="0")
    same_deletion(answer, "lifecycle/Pod/delete-gracePeriodSeconds-0-in-body")
    assert k.get(PODS + "/now").status_code == 404


def test_an_unscheduled_pod_goes_at_once(k: RawKube) -> None:
    k.create(PODS, pod("nowhere"))
    answer = k("DELETE", PODS + "/nowhere")
    same_deletion(answer, "lifecycle/Pod/delete-unscheduled-pod-is-immediate")
    assert k.get(PODS + "/nowhere").status_code == 404


def test_grace_period_from_the_pod_spec_and_dry_run(k: RawKube) -> None:
    k.create(PODS, pod("seven", nodeName="node-1", terminationGracePeriodSeconds=7))
    dry = k("DELETE", PODS + "/seven", dryRun="All")
    same_deletion(dry, "lifecycle/Pod/delete-uses-spec-terminationGracePeriodSeconds")
    assert "deletionTimestamp" not in k.get(PODS + "/seven").json()["metadata"]
    answer = k("DELETE", PODS + "/seven", {"apiVersion": "v1", "kind": "DeleteOptions"})
    same_deletion(answer, "lifecycle/Pod/delete-uses-spec-terminationGracePeriodSeconds")


def test_finalizers_hold_a_deleted_pod(k: RawKube) -> None:
    held = pod("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    k.create(PODS, held)
    answer = k("DELETE", PODS + "/held", gracePeriodSeconds="0")
    same_deletion(answer, "lifecycle/Pod/delete-with-finalizer")
    assert k.get(PODS + "/held").status_code == 200
    released = k("PATCH", PODS + "/held", {"metadata": {"finalizers": None}}, ctype=MERGE)
    assert released.status_code == 200
    assert k.get(PODS + "/held").status_code == 404


def test_no_new_finalizers_while_deleting(k: RawKube) -> None:
    k.create(CMS, configmap("fin", finalizers=["example.com/hold"]))
    same_deletion(k("DELETE", CMS + "/fin"), "lifecycle/ConfigMap/delete-with-finalizer")
    answer = k("PATCH", CMS + "/fin", {"metadata": {"finalizers": ["example.com/hold",
                                                                  "example.com/more"]}},
               ctype=MERGE)
    same_status(answer, "lifecycle/ConfigMap/add-finalizer-while-deleting-rejected")
    assert answer.json()["details"]["causes"][0]["message"].endswith(
        'found new finalizers []string{"example.com/more"}')


# -- namespaces ------------------------------------------------------------------------------


def test_every_namespace_gets_what_controllers_make(k: RawKube, kube_server: ApiServer) -> None:
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}})
    assert k.names(NS + "/fresh/serviceaccounts") == ["default"]
    root = k.get(NS + "/fresh/configmaps/kube-root-ca.crt").json()
    assert root["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    service = k.get(NS + "/default/services/kubernetes").json()
    # the first address of kube-apiserver's default service range, 10.0.0.0/24
    assert service["spec"]["clusterIP"] == "10.0.0.1"
    assert service["spec"]["ports"][0]["port"] == 443
    assert service["spec"]["ports"][0]["targetPort"] == kube_server.port
    endpoints = k.get(NS + "/default/endpoints/kubernetes").json()
    assert endpoints["subsets"][0]["ports"][0]["port"] == kube_server.port
    slices = k.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
    assert slices.json()["ports"][0]["port"] == kube_server.port


def test_deleted_default_objects_are_made_again(k: RawKube) -> None:
    """The serviceaccount controller and the root-ca-cert-publisher put back what they own:
    a new object (new uid) with the same content; an edit of the CA ConfigMap is undone."""
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}})
    for path in (NS + "/fresh/serviceaccounts/default",
                 NS + "/fresh/configmaps/kube-root-ca.crt"):
        before = k.get(path).json()
        assert k("DELETE", path).status_code == 200
        after = k.get(path)
        assert after.status_code == 200, path
        assert after.json()["metadata"]["uid"] != before["metadata"]["uid"]
        content = {key: v for key, v in after.json().items() if key != "metadata"}
        assert content == {key: v for key, v in before.items() if key != "metadata"}
        assert after.json()["metadata"].get("annotations") == \
            before["metadata"].get("annotations")
    root = NS + "/fresh/configmaps/kube-root-ca.crt"
    pem = k.get(root).json()["data"]["ca.crt"]
    edited = k("PATCH", root, {"data": {"ca.crt": "mine", "extra": "x"},
                               "metadata": {"annotations": None}}, ctype=MERGE)
    assert edited.json()["data"] == {"ca.crt": "mine", "extra": "x"}  # the answer to the edit
    restored = k.get(root).json()
    assert restored["data"] == {"ca.crt": pem}
    assert "kubernetes.io/description" in restored["metadata"]["annotations"]
    assert k("DELETE", NS + "/fresh/configmaps/other").status_code == 404
    assert k("DELETE", NS + "/fresh").status_code == 200  # a terminating namespace: not again
    assert gone(k, NS + "/fresh")


def test_defaults_are_not_made_again_in_a_terminating_namespace(k: RawKube) -> None:
    """While a namespace terminates (held by a finalizer), the namespace controller's deletes
    of its ``default`` ServiceAccount and ``kube-root-ca.crt`` stand."""
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ending"}})
    held = configmap("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    k.create(NS + "/ending/configmaps", held)
    assert k("DELETE", NS + "/ending").status_code == 200
    for path in (NS + "/ending/serviceaccounts/default",
                 NS + "/ending/configmaps/kube-root-ca.crt"):
        assert gone(k, path), path
    assert k.get(NS + "/ending").json()["status"]["phase"] == "Terminating"
    assert k.names(NS + "/ending/serviceaccounts") == []
    assert k.names(NS + "/ending/configmaps") == ["held"]
    released = k("PATCH", NS + "/ending/configmaps/held", {"metadata": {"finalizers": None}},
                 ctype=MERGE)
    assert released.status_code == 200, released.text
    assert gone(k, NS + "/ending")


def test_without_those_controllers_deleted_defaults_stay_deleted(
        k: RawKube, kube_server: ApiServer) -> None:
    assert kube_server.restores_defaults is True
    kube_server.restores_defaults = False
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bare"}})
    assert k.names(NS + "/bare/serviceaccounts") == ["default"]  # a new namespace still has it
    for path in (NS + "/bare/serviceaccounts/default", NS + "/bare/configmaps/kube-root-ca.crt"):
        assert k("DELETE", path).status_code == 200
        assert k.get(path).status_code == 404, path
    assert k.names(NS + "/bare/configmaps") == []
    kube_server.restores_defaults = True  # switched back, the next delete is undone again
    k.create(NS + "/bare/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                           "metadata": {"name": "default"}})
    assert k("DELETE", NS + "/bare/serviceaccounts/default").status_code == 200
    assert k.get(NS + "/bare/serviceaccounts/default").status_code == 200


def test_a_pod_needs_its_namespace_default_service_account(k: RawKube,
                                                           kube_server: ApiServer) -> None:
    """The ServiceAccount admission plugin refuses a Pod whose ``default`` account is gone
    (on a server whose controllers do not make it again, as in the recording)."""
    kube_server.restores_defaults = False
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kinds"}})
    assert k("DELETE", NS + "/kinds/serviceaccounts/default").status_code == 200
    entry = kinds_entry("lifecycle/Pod/create-before-default-serviceaccount-exists")
    request = entry["request"]
    same_status(k("POST", request["path"], request["body"], **request["query"]),
                "lifecycle/Pod/create-before-default-serviceaccount-exists")
    k.create(NS + "/kinds/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                             "metadata": {"name": "default"}})
    assert k("POST", request["path"], request["body"], **request["query"]).status_code == 201


def test_root_ca_is_the_servers_ca_under_tls() -> None:
    with ApiServer(tls=True) as server:
        k = RawKube(server)
        k.s.verify = server.ca_file
        pem = k.get(NS + "/default/configmaps/kube-root-ca.crt").json()["data"]["ca.crt"]
        assert pem == Path(str(server.ca_file)).read_text()


def test_a_deleted_namespace_terminates_then_goes(k: RawKube) -> None:
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kinds-doomed"}})
    doomed = NS + "/kinds-doomed"
    k.create(doomed + "/configmaps", configmap("inside", finalizers=["example.com/hold"]))
    k.create(doomed + "/pods", pod("worker", nodeName="node-1"))
    answer = k("DELETE", doomed)
    wanted = kinds_entry("lifecycle/Namespace/delete")["body"]
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"]["phase"], body["spec"]) == ("Terminating", wanted["spec"])
    assert set(body["metadata"]) & set(DELETION) == set(wanted["metadata"]) & set(DELETION)
    same_status(k("POST", doomed + "/configmaps", configmap("late")),
                "lifecycle/Namespace/create-configmap-in-terminating-namespace")
    same_status(k("POST", doomed + "/pods", pod("min")),
                "lifecycle/Namespace/create-pod-in-terminating-namespace")
    same_status(k("POST", NS, {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "kinds-doomed"}}),
                "lifecycle/Namespace/create-namespace-with-same-name-while-terminating")
    assert k("PATCH", doomed + "/configmaps/inside", {"data": {"still": "writable"}},
             ctype=MERGE).status_code == 200
    assert gone(k, doomed + "/pods/worker")  # its content goes, held objects stay
    held = k.get(doomed).json()
    conditions = {c["type"]: c for c in held["status"]["conditions"]}
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances")
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances")
    k("PATCH", doomed + "/configmaps/inside", {"metadata": {"finalizers": None}}, ctype=MERGE)
    assert k.get(doomed).status_code == 404


def test_finalize_subresource_releases_a_namespace(k: RawKube) -> None:
    k.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "held"},
                  "spec": {"finalizers": ["kubernetes", "example.com/ns"]}})
    assert k("DELETE", NS + "/held").status_code == 200
    waiting = k.get(NS + "/held").json()
    assert waiting["spec"] == {"finalizers": ["example.com/ns"]}  # the controller's is gone
    waiting["spec"]["finalizers"] = []
    answer = k("PUT", NS + "/held/finalize", waiting)
    assert answer.status_code == 200 and answer.json()["spec"] == kinds_entry(
        "lifecycle/Namespace/finalize-empty-finalizers")["body"]["spec"]
    assert k.get(NS + "/held").status_code == 404
    assert k("GET", NS + "/default/finalize").status_code == 405


# -- the garbage collector -------------------------------------------------------------------


def _deployment(k: RawKube, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    labels = {"app": name}
    owner = k.create(DEPLOYS, {"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": name},
                               "spec": {"selector": {"matchLabels": labels}, "template": {
                                   "metadata": {"labels": labels},
                                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
           "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    replica_set = k.create(RS, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": f"{name}-rs", "ownerReferences": [ref]}, "spec": {
        "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    return owner, replica_set


def test_foreground_delete_waits_for_dependents(k: RawKube) -> None:
    _deployment(k, "fore")
    answer = k("DELETE", DEPLOYS + "/fore", propagationPolicy="Foreground")
    same_deletion(answer, "lifecycle/Deployment/delete-propagation-Foreground-as-query")
    assert k.get(RS + "/fore-rs").status_code == 404
    assert k.get(DEPLOYS + "/fore").status_code == 404


def test_orphan_delete_strips_owner_references(k: RawKube) -> None:
    _deployment(k, "orph")
    answer = k("DELETE", DEPLOYS + "/orph", {"apiVersion": "v1", "kind": "DeleteOptions",
                                             "propagationPolicy": "Orphan"})
    same_deletion(answer, "lifecycle/Deployment/delete-propagation-Orphan")
    left = k.get(RS + "/orph-rs").json()
    assert "ownerReferences" not in left["metadata"]
    assert k.get(DEPLOYS + "/orph").status_code == 404


def test_background_delete_and_deprecated_orphan_dependents(k: RawKube) -> None:
    _deployment(k, "back")
    answer = k("DELETE", DEPLOYS + "/back", {"apiVersion": "v1", "kind": "DeleteOptions",
                                             "orphanDependents": False})
    assert answer.json()["status"] == "Success"
    assert k.get(RS + "/back-rs").status_code == 404
    _deployment(k, "both")
    same_status(k("DELETE", DEPLOYS + "/both", {"apiVersion": "v1", "kind": "DeleteOptions",
                                                "orphanDependents": True,
                                                "propagationPolicy": "Foreground"}),
                "lifecycle/Deployment/delete-orphanDependents-and-propagationPolicy")


def test_a_job_orphans_its_pods_by_default(k: RawKube) -> None:
    job = k.create("/apis/batch/v1/namespaces/default/jobs", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "c", "image": "busybox"}]}}}})
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": "once",
           "uid": job["metadata"]["uid"], "controller": True}
    worker = pod("once-x")
    worker["metadata"]["ownerReferences"] = [ref]
    k.create(PODS, worker)
    answer = k("DELETE", "/apis/batch/v1/namespaces/default/jobs/once")
    assert answer.json()["metadata"]["finalizers"] == kinds_entry(
        "lifecycle/Job/delete-default-propagation")["body"]["metadata"]["finalizers"]
    assert "ownerReferences" not in k.get(PODS + "/once-x").json()["metadata"]


def test_a_claim_in_use_is_kept_until_its_pod_goes(k: RawKube) -> None:
    claims = "/api/v1/namespaces/default/persistentvolumeclaims"
    k.create(claims, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": "data"},
                      "spec": {"accessModes": ["ReadWriteOnce"],
                               "resources": {"requests": {"storage": "1Gi"}}}})
    user = pod("user")
    user["spec"]["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    k.create(PODS, user)
    assert k("DELETE", claims + "/data").status_code == 200
    assert k.get(claims + "/data").json()["metadata"]["deletionTimestamp"]
    assert k("DELETE", PODS + "/user").status_code == 200
    assert k.get(claims + "/data").status_code == 404


def test_binding_puts_a_pod_on_a_node_and_makes_its_delete_graceful(
        k: RawKube, kube_server: ApiServer) -> None:
    k.create(PODS, pod("later"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "later"},
               "target": {"kind": "Node", "name": "node-1"}}
    answer = k("POST", PODS + "/later/binding", binding)
    assert (answer.status_code, answer.json()["status"]) == (201, "Success")
    assert k.get(PODS + "/later").json()["spec"]["nodeName"] == "node-1"
    assert k("POST", PODS + "/later/binding", binding).status_code == 409
    kube_server.pods.ignore_sigterm("default", "later")
    assert k("DELETE", PODS + "/later").json()["metadata"]["deletionGracePeriodSeconds"] == 30
    assert k.get(PODS + "/later").status_code == 200
