"""Client-side apply, proven against kubectl: the same steps through ``kubectl apply`` on one
embedded server and ``dynakube apply`` on another end in the same object.

Edits between the applies (``kubectl set env``, ``kubectl patch``, ``kubectl create``) run
through kubectl on both servers, so only the apply differs. The objects are compared whole,
the last-applied annotation byte for byte, minus what two servers cannot share (uids,
timestamps). Skipped when kubectl is not installed.
"""

from __future__ import annotations

import copy
import io
import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubectlhelp import Kubectl, needs_kubectl

from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.apiserver.server import ApiServer
from dynakube.cli.app import main
from dynakube.errors import UnknownResourceError
from dynakube.mergepatch import LAST_APPLIED

pytestmark = needs_kubectl

MANAGER = "kubectl-client-side-apply"  # dynakube applies under kubectl's name here


class Pair:
    """kubectl on server ``a``, dynakube on server ``b``; edits through kubectl on both."""

    def __init__(self, tmp: Path):
        self.a = ApiServer(tls=True).start()
        self.b = ApiServer(tls=True).start()
        self.ka = Kubectl(self.a.kubeconfig_path, str(tmp / "ca"))
        self.kb = Kubectl(self.b.kubeconfig_path, str(tmp / "cb"))

    def close(self) -> None:
        self.a.stop()
        self.b.stop()

    def apply(self, obj: dict[str, Any]) -> tuple[str, str]:
        """Apply on both; the verbs printed must be the same. Returns (line, kubectl's err)."""
        text = json.dumps(obj)
        theirs = self.ka.run("apply", "-f", "-", stdin=text)
        out, err = io.StringIO(), io.StringIO()
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # printed as "Warning: ..." as on a terminal
            code = main(["--kubeconfig", self.b.kubeconfig_path, "apply", "-f", "-",
                         "--field-manager", MANAGER], stdout=out, stderr=err,
                        stdin=io.StringIO(text))
        assert (code, out.getvalue()) == (theirs.code, theirs.out), (theirs, err.getvalue())
        assert ("missing the" in err.getvalue()) == ("missing the" in theirs.err), \
            (theirs.err, err.getvalue())
        return theirs.out, err.getvalue()

    def edit(self, *args: str, stdin: str | None = None) -> None:
        self.ka.ok(*args, stdin=stdin)
        self.kb.ok(*args, stdin=stdin)

    def same(self, *target: str) -> dict[str, Any]:
        """The object on both servers, compared; returns kubectl's."""
        a = _comparable(json.loads(self.ka.ok("get", *target, "-o", "json")))
        b = _comparable(json.loads(self.kb.ok("get", *target, "-o", "json")))
        assert a == b
        return a


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for key in ("uid", "creationTimestamp", "resourceVersion"):
        meta.pop(key, None)
    for entry in meta.get("managedFields") or ():
        entry.pop("time", None)
    return obj


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    both = Pair(tmp_path)
    try:
        yield both
    finally:
        both.close()


def _deployment(containers: list[dict[str, Any]], labels: dict[str, str],
                **spec: Any) -> dict[str, Any]:
    select = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": select}, **spec,
                     "template": {"metadata": {"labels": select},
                                  "spec": {"containers": containers}}}}


WEB = {"name": "web", "image": "nginx:1.27",
       "env": [{"name": "MODE", "value": "fast"}, {"name": "OLD", "value": "1"}],
       "ports": [{"containerPort": 80}, {"containerPort": 81}]}
SIDE = {"name": "side", "image": "busybox:1.36", "args": ["sleep", "1d"]}


def test_a_deployment_through_edits_ends_the_same(pair: Pair) -> None:
    first = _deployment([WEB], {"app": "web", "tier": "front"}, strategy={"type": "Recreate"})
    assert pair.apply(first)[0] == "deployment.apps/web created\n"
    live = pair.same("deploy", "web")
    assert live["metadata"]["annotations"][LAST_APPLIED].endswith("}\n")
    assert pair.apply(first)[0] == "deployment.apps/web unchanged\n"

    # another manager adds an env var; a changed file must keep it, as kubectl keeps it
    pair.edit("set", "env", "deployment/web", "-c", "web", "EXTRA=from-set-env")
    web = {**WEB, "image": "nginx:1.28", "env": [{"name": "MODE", "value": "safe"}],
           "ports": [{"containerPort": 81}, {"containerPort": 8080}]}
    second = _deployment([SIDE, web], {"app": "web"},
                         strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}})
    assert pair.apply(second)[0] == "deployment.apps/web configured\n"
    live = pair.same("deploy", "web")
    containers = live["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["side", "web"]
    assert [e["name"] for e in containers[1]["env"]] == ["MODE", "EXTRA"]  # OLD removed
    assert "tier" not in live["metadata"]["labels"]
    pair.apply(second)  # kubectl says "configured" again here (retainKeys): so must we

    # back to one container, reordered lists, a removed field (the sidecar's args)
    third = _deployment([{**web, "ports": [{"containerPort": 8080}, {"containerPort": 81}]},
                         {"name": "side", "image": "busybox:1.36"}], {"app": "web"})
    assert pair.apply(third)[0] == "deployment.apps/web configured\n"
    live = pair.same("deploy", "web")
    assert "args" not in live["spec"]["template"]["spec"]["containers"][1]


def test_first_apply_on_an_object_created_without_the_annotation(pair: Pair) -> None:
    pair.edit("create", "configmap", "settings", "--from-literal=a=1", "--from-literal=b=2")
    line, err = pair.apply({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "settings"}, "data": {"a": "9"}})
    assert line == "configmap/settings configured\n"
    assert err.startswith("Warning: resource configmaps/settings is missing the "
                          f"{LAST_APPLIED} annotation")
    assert pair.same("cm", "settings")["data"] == {"a": "9", "b": "2"}  # b was never applied
    assert pair.apply({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "settings"}}) == ("configmap/settings configured\n",
                                                              "")
    assert "data" not in pair.same("cm", "settings")  # data was applied: the whole map goes


def test_service_ports_merge_by_port_and_finalizers_as_a_set(pair: Pair) -> None:
    def service(ports: list[int], finalizers: list[str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "svc", "finalizers": finalizers},
                "spec": {"selector": {"app": "web"},
                         "ports": [{"name": f"p{p}", "port": p} for p in ports]}}

    pair.apply(service([80, 443], ["example.com/a", "example.com/b"]))
    pair.edit("patch", "service", "svc", "--type=json", "-p",
              '[{"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/theirs"}]')
    pair.apply(service([443, 8443], ["example.com/b"]))
    live = pair.same("svc", "svc")
    assert [p["port"] for p in live["spec"]["ports"]] == [443, 8443]
    assert live["metadata"]["finalizers"] == ["example.com/b", "example.com/theirs"]
    pair.edit("patch", "service", "svc", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')


def _serve_widgets(server: ApiServer) -> None:
    with server.client() as kube:
        kube.resource("customresourcedefinitions").create(copy.deepcopy(WIDGET_CRD))
        deadline = time.monotonic() + 30
        while True:
            kube.invalidate()
            try:
                kube.resource("widgets")
                return
            except UnknownResourceError:
                assert time.monotonic() < deadline
                time.sleep(0.05)


def test_a_custom_resource_gets_a_json_merge_patch(pair: Pair) -> None:
    _serve_widgets(pair.a)
    _serve_widgets(pair.b)
    first = widget("w", "small", replicas=2)
    assert pair.apply(first)[0] == "widget.example.dynakube.io/w created\n"
    pair.edit("patch", "widget", "w", "--type=merge", "-p", '{"spec":{"color":"#00ff00"}}')
    second = widget("w", "large")  # replicas removed (defaulted again), size changed
    assert pair.apply(second)[0] == "widget.example.dynakube.io/w configured\n"
    spec = pair.same("widget", "w")["spec"]
    assert spec["size"] == "large" and spec["color"] == "#00ff00"
    assert pair.apply(second)[0] == "widget.example.dynakube.io/w unchanged\n"
