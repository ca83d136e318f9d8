"""The Deployment, Pod, Service, Job and CronJob examples of ``fixtures/examples/`` on the
embedded server, and their invalid twins.

Every example is a complete object as the Kubernetes documentation writes them (probes,
security contexts, affinity, tolerations...): it must apply, client-side and server-side,
with dynakube and with kubectl, without a single warning, and ``dynakube validate`` must call
it valid. Every twin in ``fixtures/examples/invalid/`` differs from its example by one
mistake that only the server's semantic checks see; the server must refuse it with the
message a real kube-apiserver 1.36 gives (checked against ``kinds.json`` when
``../shared`` is present).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubectlhelp import Kubectl, needs_kubectl

from dynakube.apiserver.server import ApiServer
from dynakube.cli import main
from dynakube.client import Client
from dynakube.errors import ApiError, InvalidError

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
VALID = sorted(EXAMPLES.glob("*.yaml"))
NAMESPACE = "examples"


@dataclass(frozen=True)
class Twin:
    """An invalid twin, the real server's message for it, and where that was recorded.

    ``recorded`` is the ``kinds.json`` key of the same mistake; ``renamed`` maps what differs
    between that recording's object and the twin (the name, a label value) to the twin's.
    """

    file: str
    message: str
    recorded: str
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return EXAMPLES / "invalid" / self.file


_SELECTOR = "`selector` does not match template `labels`"
TWINS = [
    Twin("cronjob-schedule-invalid.yaml",
         'CronJob.batch "hello" is invalid: spec.schedule: Invalid value: "every minute": '
         "expected exactly 5 fields, found 2: [every minute]",
         "invalid/CronJob/schedule-invalid", {'"cj"': '"hello"'}),
    Twin("deployment-missing-selector.yaml",
         'Deployment.apps "nginx-deployment" is invalid: [spec.selector: Required value, '
         f'spec.template.metadata.labels: Invalid value: {{"app":"nginx"}}: {_SELECTOR}]',
         "invalid/Deployment/missing-selector",
         {'"d"': '"nginx-deployment"', '{"app":"d"}': '{"app":"nginx"}'}),
    Twin("deployment-replicas-negative.yaml",
         'Deployment.apps "nginx-deployment" is invalid: spec.replicas: Invalid value: -1: '
         "must be greater than or equal to 0",
         "invalid/Deployment/replicas-negative", {'"d"': '"nginx-deployment"'}),
    Twin("deployment-selector-mismatch.yaml",
         'Deployment.apps "nginx-deployment" is invalid: spec.template.metadata.labels: '
         f'Invalid value: {{"app":"other"}}: {_SELECTOR}',
         "invalid/Deployment/selector-does-not-match-template-labels",
         {'"d"': '"nginx-deployment"'}),
    Twin("job-restartpolicy-always.yaml",
         'Job.batch "pi" is invalid: spec.template.spec.restartPolicy: Required value: '
         'valid values: "OnFailure", "Never"',
         "invalid/Job/restartPolicy-Always", {'"j"': '"pi"'}),
    Twin("pod-container-without-image.yaml",
         'Pod "command-demo" is invalid: spec.containers[0].image: Required value',
         "invalid/Pod/container-without-image", {'"p"': '"command-demo"'}),
    Twin("pod-restartpolicy-invalid.yaml",
         'Pod "command-demo" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": '
         'supported values: "Always", "OnFailure", "Never"',
         "invalid/Pod/restartPolicy-invalid", {'"p"': '"command-demo"'}),
    Twin("service-nodeport-80.yaml",
         'Service "nginx-nodeport" is invalid: spec.ports[0].nodePort: Invalid value: 80: '
         "provided port is not in the valid range. The range of valid ports is 30000-32767",
         "invalid/Service/nodePort-out-of-range-real-create", {'"np80"': '"nginx-nodeport"'}),
    Twin("service-ports-without-names.yaml",
         'Service "nginx-nodeport" is invalid: '
         "[spec.ports[0].name: Required value, spec.ports[1].name: Required value]",
         "invalid/Service/multiple-ports-without-names", {'"s"': '"nginx-nodeport"'}),
]


def _doc(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _missing(sent: Any, live: Any, where: str) -> list[str]:
    """Where ``live`` lacks or changed what ``sent`` had: defaults may add fields, and list
    items at the end (a Pod's ``kube-api-access`` volume and mounts), never change any."""
    if isinstance(sent, dict) and isinstance(live, dict):
        return [m for key, value in sent.items()
                for m in (_missing(value, live[key], f"{where}.{key}") if key in live
                          else [f"{where}.{key}"])]
    if isinstance(sent, list) and isinstance(live, list) and len(sent) <= len(live):
        return [m for i, (a, b) in enumerate(zip(sent, live[:len(sent)], strict=True))
                for m in _missing(a, b, f"{where}[{i}]")]
    return [] if sent == live else [where]


def _printed(doc: dict[str, Any]) -> str:
    """``kind.group/name`` as kubectl and ``dynakube apply`` print an object."""
    group = str(doc["apiVersion"]).rpartition("/")[0]
    kind = str(doc["kind"]).lower()
    return f"{kind}.{group}/{doc['metadata']['name']}" if group else (
        f"{kind}/{doc['metadata']['name']}")


@pytest.fixture
def server() -> Iterator[ApiServer]:
    """A fresh HTTPS server per test (node ports are cluster-wide), with the namespace."""
    with ApiServer(tls=True) as srv:
        with srv.client() as admin:
            admin.resource("namespaces").create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        yield srv


@pytest.fixture
def kube(server: ApiServer) -> Iterator[Client]:
    with server.client(namespace=NAMESPACE) as client:
        yield client


def _cli(server: ApiServer, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--kubeconfig", server.kubeconfig_path, "-n", NAMESPACE, *args],
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_every_kind_has_an_example_and_every_example_a_twin() -> None:
    kinds = {_doc(p)["kind"] for p in VALID}
    assert kinds == {"Deployment", "Pod", "Service", "Job", "CronJob"}
    twinned = {_doc(t.path)["kind"] for t in TWINS}
    assert twinned == kinds
    assert sorted(p.name for p in (EXAMPLES / "invalid").glob("*.yaml")) == sorted(
        t.file for t in TWINS)


# -- the valid examples ---------------------------------------------------------------------

@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_example_validates_cleanly(server: ApiServer, path: Path) -> None:
    doc = _doc(path)
    code, out, err = _cli(server, "validate", "-f", str(path))
    assert (code, err) == (0, ""), out + err
    assert out == f'{path}#1: {doc["kind"]} "{doc["metadata"]["name"]}" is valid\n'


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_example_applies_with_dynakube_without_warnings(
        server: ApiServer, kube: Client, path: Path, server_side: bool) -> None:
    doc = _doc(path)
    flags = ["--server-side"] if server_side else []
    code, out, err = _cli(server, "apply", *flags, "-f", str(path))
    verb = "serverside-applied" if server_side else "created"
    assert (code, out, err) == (0, f"{_printed(doc)} {verb}\n", "")
    code, out, err = _cli(server, "apply", *flags, "-f", str(path))
    assert (code, out, err) == (0, f"{_printed(doc)} {_reapplied(doc, server_side)}\n", "")
    live = kube.resource(doc["kind"], api_version=doc["apiVersion"]).get(
        doc["metadata"]["name"])
    assert _missing(doc["spec"], live["spec"], "spec") == []  # every field was kept as sent


def _reapplied(doc: dict[str, Any], server_side: bool) -> str:
    """What applying an unchanged file again prints. Client-side, kubectl's three-way patch
    of a Pod whose containers mount volumes carries ``$setElementOrder`` for them (admission
    added the token volume's mount to each container), so it is sent: "configured"."""
    if server_side:
        return "serverside-applied"
    spec = doc.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    mounts = doc["kind"] == "Pod" and any(c.get("volumeMounts") for c in containers)
    return "configured" if mounts else "unchanged"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_example_get_then_replace_is_warning_free(kube: Client, path: Path) -> None:
    """The server's defaults are all in its own schema: a get → replace warns of nothing
    (pytest turns any warning into an error)."""
    doc = _doc(path)
    resource = kube.resource(doc["kind"], api_version=doc["apiVersion"])
    created = resource.create(doc, field_validation="Strict")
    live = resource.get(doc["metadata"]["name"])
    replaced = resource.replace(live, field_validation="Strict")
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert replaced["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


@needs_kubectl
@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_example_applies_with_kubectl_without_warnings(
        server: ApiServer, tmp_path: Path, path: Path, server_side: bool) -> None:
    k = Kubectl(server.kubeconfig_path, str(tmp_path / "cache"), NAMESPACE)
    doc = _doc(path)
    flags = ["--server-side"] if server_side else []
    verb = "serverside-applied" if server_side else "created"
    assert k.ok("apply", *flags, "-f", str(path)) == f"{_printed(doc)} {verb}\n"
    again = k.ok("apply", *flags, "-f", str(path))
    assert again == f"{_printed(doc)} {_reapplied(doc, server_side)}\n"
    assert k.ok("get", "-f", str(path), "-o", "name") == f"{_printed(doc)}\n"
    same = k.run("diff", *flags, "-f", str(path))  # diff as the same kind of apply
    assert (same.code, same.out) == (0, ""), str(same)


# -- the invalid twins ----------------------------------------------------------------------

def _refusal(kube: Client, twin: Twin, server_side: bool) -> ApiError:
    doc = _doc(twin.path)
    resource = kube.resource(doc["kind"], api_version=doc["apiVersion"])
    with pytest.raises(InvalidError) as info:
        if server_side:
            resource.apply(doc, field_manager="examples", validate=False)
        else:
            resource.create(doc, validate=False)
    return info.value


@pytest.mark.parametrize("server_side", [False, True], ids=["create", "server-side-apply"])
@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.path.stem)
def test_twin_is_refused_with_the_real_message(kube: Client, twin: Twin,
                                               server_side: bool) -> None:
    error = _refusal(kube, twin, server_side)
    assert (error.code, error.reason, error.message) == (422, "Invalid", twin.message)
    doc = _doc(twin.path)
    details = error.status["details"]
    assert (details["kind"], details["name"]) == (doc["kind"], doc["metadata"]["name"])
    resource = kube.resource(doc["kind"], api_version=doc["apiVersion"])
    assert resource.list()["items"] == []  # nothing was stored


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.path.stem)
def test_twin_is_refused_by_dynakube_apply(server: ApiServer, twin: Twin) -> None:
    # --validate ignore: the server, not the client-side schema check, must refuse it
    code, out, err = _cli(server, "apply", "--validate", "ignore", "-f", str(twin.path))
    assert (code, out) == (1, "")
    # kubectl's wording of a server's refusal, naming the document; the message is the real one
    assert err == f"Error from server (Invalid): {twin.path}#1: {twin.message}\n"


@needs_kubectl
@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.path.stem)
def test_twin_is_refused_by_kubectl_apply(server: ApiServer, tmp_path: Path, twin: Twin,
                                          server_side: bool, kube: Client) -> None:
    k = Kubectl(server.kubeconfig_path, str(tmp_path / "cache"), NAMESPACE)
    flags = ["--server-side"] if server_side else []
    result = k.fails("apply", *flags, "-f", str(twin.path))
    doc = _doc(twin.path)
    causes = [f"{c['field']}: {c['message']}" for c in _refusal(kube, twin, False).causes]
    # kubectl prints the Status's details: one cause on the line, several as a list
    head = f'The {doc["kind"]} "{doc["metadata"]["name"]}" is invalid: '
    expected = head + causes[0] if len(causes) == 1 else head + "".join(
        f"\n* {c}" for c in causes)
    assert result.err.strip() == expected.strip()


def test_twin_messages_are_the_recorded_ones(shared_api: Path, kube: Client) -> None:
    """What the twins expect is what kube-apiserver 1.36 answered to the same mistake."""
    kinds = json.loads((shared_api / "v1.36" / "kinds.json").read_text())
    for twin in TWINS:
        recorded = kinds[twin.recorded]
        text = json.dumps(recorded["body"])
        for old, new in sorted(twin.renamed.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])  # in messages
        body = json.loads(text)
        body["details"]["name"] = _doc(twin.path)["metadata"]["name"]
        assert (recorded["status"], body["reason"]) == (422, "Invalid"), twin.file
        assert body["message"] == twin.message, twin.file
        served = _refusal(kube, twin, False).status
        assert served["details"] == body["details"], twin.file
        assert {k: served[k] for k in ("kind", "apiVersion", "status", "reason", "code")} == {
            k: body[k] for k in ("kind", "apiVersion", "status", "reason", "code")}
