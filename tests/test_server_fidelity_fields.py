"""Field selectors as kube-apiserver 1.36 converts and matches them, per kind and version.

``events.k8s.io/v1`` Events have their own labels (``regarding.*``, ``reportingController``)
that select the stored core Event's fields; each kind refuses an unknown label with its own
conversion function's words.
"""

from __future__ import annotations

from typing import Any

import pytest
from rawhttp import RawKube

from dynakube.testing import ApiServer

_EVENTS_V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
_CORE_EVENTS = "/api/v1/namespaces/default/events"


def _event(name: str, kind: str, reason: str) -> dict[str, Any]:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
            "eventTime": "2026-01-01T00:00:00.000000Z", "action": "Scaling", "reason": reason,
            "type": "Normal", "reportingController": "example.com/recorder",
            "reportingInstance": "recorder-1",
            "regarding": {"apiVersion": "apps/v1", "kind": kind, "name": "web",
                          "namespace": "default"}}


@pytest.fixture
def kube(kube_server: ApiServer) -> RawKube:
    raw = RawKube(kube_server)
    raw.create(_EVENTS_V1, _event("deploy.1", "Deployment", "ScaledUp"))
    raw.create(_EVENTS_V1, _event("rs.1", "ReplicaSet", "SuccessfulCreate"))
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "kubelet.1"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Pulled", "type": "Normal", "source": {"component": "kubelet"}}
    raw.create(_CORE_EVENTS, core)
    return raw


@pytest.mark.parametrize(("selector", "names"), [
    ("regarding.kind=Deployment", ["deploy.1"]),
    ("regarding.kind!=Deployment,regarding.name=web", ["rs.1"]),
    ("reportingController=example.com/recorder", ["deploy.1", "rs.1"]),
    ("source=example.com/recorder", ["deploy.1", "rs.1"]),  # falls back to the controller
    ("source=kubelet", ["kubelet.1"]),
    ("reason=Pulled,type=Normal", ["kubelet.1"]),
    ("metadata.name=rs.1", ["rs.1"]),
])
def test_events_k8s_io_selects_by_its_own_field_names(kube: RawKube, selector: str,
                                                      names: list[str]) -> None:
    assert sorted(kube.names(_EVENTS_V1, fieldSelector=selector)) == names


@pytest.mark.parametrize(("path", "selector", "message"), [
    (_EVENTS_V1, "involvedObject.kind=Pod", "field label not supported: involvedObject.kind"),
    (_EVENTS_V1, "reportingComponent=x", "field label not supported: reportingComponent"),
    (_CORE_EVENTS, "regarding.kind=Pod", "field label not supported: regarding.kind"),
    ("/apis/batch/v1/namespaces/default/jobs", "spec.parallelism=1",
     'field label "spec.parallelism" not supported for batchv1.Job'),
    ("/api/v1/namespaces", "metadata.namespace=x",
     "field label not supported: metadata.namespace"),
    ("/apis/apps/v1/namespaces/default/replicasets", "status.replicas=1",
     '"status.replicas" is not a known field selector: only "metadata.name", '
     '"metadata.namespace"'),
])
def test_each_kind_refuses_unknown_labels_in_its_own_words(kube: RawKube, path: str,
                                                           selector: str, message: str) -> None:
    answer = kube.get(path, fieldSelector=selector)
    assert (answer.status_code, answer.json()["message"]) == (400, message)


def test_core_events_select_the_reporting_component(kube: RawKube) -> None:
    assert sorted(kube.names(_CORE_EVENTS, fieldSelector="reportingComponent=example.com/"
                                                         "recorder")) == ["deploy.1", "rs.1"]
    assert kube.names(_CORE_EVENTS, fieldSelector="involvedObject.kind=Pod") == ["kubelet.1"]


def test_kind_specific_fields(kube: RawKube) -> None:
    pods = "/api/v1/namespaces/default/pods"
    for name, host_network in (("host", True), ("plain", False)):
        kube.create(pods, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                           "spec": {"hostNetwork": host_network,
                                    "containers": [{"name": "c", "image": "nginx"}]}})
    assert kube.names(pods, fieldSelector="spec.hostNetwork=true") == ["host"]
    assert kube.names(pods, fieldSelector="spec.hostNetwork=false") == ["plain"]
    assert kube.names(pods, fieldSelector="spec.host=") == ["host", "plain"]
    services = "/api/v1/namespaces/default/services"
    kube.create(services, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                           "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert kube.names(services, fieldSelector="spec.type=NodePort") == ["np"]
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    kube.create(jobs, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                       "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                           {"name": "c", "image": "busybox"}]}}}})
    assert kube.names(jobs, fieldSelector="status.successful=0") == ["j"]
