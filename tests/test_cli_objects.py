"""The commands that act on live objects and then wait or follow them, over the real wire:
``delete`` (``--wait``, ``--cascade``, ``--grace-period``), ``wait``, ``rollout status``
(following a status written through the status subresource, as a controller would),
``edit`` (an editor script; an invalid result re-opened) and ``get --watch-only``.

The command runs in a thread (``main()``) or a subprocess while the test changes the
objects; every wait on it is bounded, so a broken command fails instead of hanging.
"""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dynakube.apiserver.server import ApiServer
from dynakube.cli import main
from dynakube.errors import NotFoundError

BOUND = 60  # seconds: a guard against hanging, never a timing assertion


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    from dynakube.apiserver.seed import seed

    with ApiServer() as srv:
        with srv.client() as client:
            seed(client)
        yield srv


@pytest.fixture
def kube(server: ApiServer, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A client whose namespace is a fresh one named after the test."""
    name = request.node.name.lower().replace("_", "-")[5:45].strip("-")
    with server.client(cache_dir=str(tmp_path / "cache"), namespace=name) as client:
        client.resource("namespaces").create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        yield client


def call(kube: Any, server: ApiServer, *args: str,
         env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        code = main(["--kubeconfig", server.kubeconfig_path, "-n", kube.namespace, *args],
                    stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


class _Lines(io.StringIO):
    """stdout that also hands each line written to a queue, for the test to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.lines.put(line)
        return super().write(text)


class Background:
    """``main()`` in a thread: the test changes objects while the command waits."""

    def __init__(self, kube: Any, server: ApiServer, *args: str):
        self.result: tuple[int, str, str] | None = None
        self.out = _Lines()
        self.thread = threading.Thread(target=self._run, args=(kube, server, args),
                                       daemon=True)
        self.thread.start()

    def _run(self, kube: Any, server: ApiServer, args: tuple[str, ...]) -> None:
        err = io.StringIO()
        code = main(["--kubeconfig", server.kubeconfig_path, "-n", kube.namespace, *args],
                    stdout=self.out, stderr=err)
        self.result = code, self.out.getvalue(), err.getvalue()

    def line(self) -> str:
        """The next line the command prints."""
        return self.out.lines.get(timeout=BOUND)

    def done(self) -> tuple[int, str, str]:
        self.thread.join(BOUND)
        assert self.result is not None, "the command did not finish"
        return self.result


def _configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}


def _until_terminating(cms: Any, name: str) -> None:
    """Watch until the object has a deletionTimestamp: the delete has reached the server."""
    with cms.watch(field_selector=f"metadata.name={name}", include_existing=True,
                   timeout=BOUND) as stream:
        for event in stream:
            if (event.object.get("metadata") or {}).get("deletionTimestamp"):
                return
    raise AssertionError(f"{name} never started terminating")


# -- delete ---------------------------------------------------------------------------------

def test_delete_waits_for_finalizers_by_default(kube: Any, server: ApiServer) -> None:
    cms = kube.resource("configmaps")
    cms.create(_configmap("held", finalizers=["example.com/hold"]))
    running = Background(kube, server, "delete", "cm", "held")
    _until_terminating(cms, "held")
    assert running.thread.is_alive()  # still waiting: the finalizer holds it
    cms.patch("held", {"metadata": {"finalizers": None}})
    assert running.done() == (0, 'configmap "held" deleted\n', "")
    with pytest.raises(NotFoundError):
        cms.get("held")


def test_delete_wait_false_and_its_timeout(kube: Any, server: ApiServer) -> None:
    cms = kube.resource("configmaps")
    cms.create(_configmap("a", finalizers=["example.com/hold"]))
    cms.create(_configmap("b", finalizers=["example.com/hold"]))
    assert call(kube, server, "delete", "cm", "a", "--wait=false") == \
        (0, 'configmap "a" deleted\n', "")
    assert cms.get("a")["metadata"]["deletionTimestamp"]
    code, out, err = call(kube, server, "delete", "cm", "b", "--timeout=1s")
    assert (code, out) == (1, 'configmap "b" deleted\n')
    assert err == "error: timed out waiting for the condition on configmaps/b\n"
    code, _, err = call(kube, server, "delete", "cm", "b", "--timeout=soon")
    assert code == 1 and err.startswith('Error: invalid argument "soon" for "--timeout"')
    for name in ("a", "b"):
        cms.patch(name, {"metadata": {"finalizers": None}})


def test_delete_all_and_cascade(kube: Any, server: ApiServer) -> None:
    cms = kube.resource("configmaps")
    owners = {}
    for name in ("orphaner", "foreground", "background"):
        owners[name] = cms.create(_configmap(name, labels={"role": "owner"}))
        uid = owners[name]["metadata"]["uid"]
        cms.create(_configmap(f"{name}-child", labels={"role": "child"}, ownerReferences=[
            {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid}]))
    assert call(kube, server, "delete", "cm", "orphaner", "--cascade=orphan")[0] == 0
    child = cms.get("orphaner-child")
    assert not child["metadata"].get("ownerReferences")  # orphaned, not deleted
    assert call(kube, server, "delete", "cm", "foreground", "--cascade=foreground",
                "--wait=false")[0] == 0
    code, out, err = call(kube, server, "delete", "cm", "background")  # the default
    assert (code, out, err) == (0, 'configmap "background" deleted\n', "")
    # foreground: the owner stays (finalizer foregroundDeletion) until its child is gone, or
    # is gone already if the server collected the child at once
    try:
        held = cms.get("foreground")["metadata"]
    except NotFoundError:
        held = None
    assert held is None or "foregroundDeletion" in held.get("finalizers", [])
    code, out, _ = call(kube, server, "delete", "cm", "--all", "--wait=false")
    assert code == 0 and 'configmap "orphaner-child" deleted\n' in out
    remaining = {o["metadata"]["name"] for o in cms.list()["items"]
                 if not o["metadata"].get("deletionTimestamp")}
    assert remaining <= {"kube-root-ca.crt"}


def test_delete_grace_period_reaches_the_server(kube: Any, server: ApiServer) -> None:
    pods = kube.resource("pods")
    pods.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 300,
                          "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    assert call(kube, server, "delete", "pod", "p", "--grace-period=120", "--wait=false") \
        == (0, 'pod "p" deleted\n', "")
    assert pods.get("p")["metadata"]["deletionGracePeriodSeconds"] == 120
    code, out, err = call(kube, server, "delete", "pod", "p", "--grace-period=0", "--force")
    assert (code, out) == (0, 'pod "p" force deleted\n')
    assert err.startswith("Warning: Immediate deletion does not wait")
    with pytest.raises(NotFoundError):
        pods.get("p")


# -- wait -----------------------------------------------------------------------------------

def _deployment(kube: Any, name: str, replicas: int = 2) -> Any:
    labels = {"app": name}
    deployments = kube.resource("deployments")
    deployments.create({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": name},
                        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                                 "template": {"metadata": {"labels": labels}, "spec": {
                                     "containers": [{"name": "c", "image": "nginx"}]}}}})
    return deployments


def test_wait_for_a_condition_written_later(kube: Any, server: ApiServer) -> None:
    deployments = _deployment(kube, "web")
    assert call(kube, server, "wait", "deploy/web", "--for=condition=Available",
                "--timeout=0") == (1, "", "error: condition not met for deployments/web\n")
    running = Background(kube, server, "wait", "deploy/web", "--for=condition=available",
                         "--timeout=60s")
    for status in ("False", "True"):
        deployments.status.patch("web", {"status": {"conditions": [
            {"type": "Available", "status": status, "reason": "Test"}]}})
    assert running.done() == (0, "deployment.apps/web condition met\n", "")
    assert call(kube, server, "wait", "deploy/web", "--for=condition=Available=False",
                "--timeout=1s") == \
        (1, "", "error: timed out waiting for the condition on deployments/web\n")


def test_wait_for_create_delete_selector_and_all(kube: Any, server: ApiServer) -> None:
    cms = kube.resource("configmaps")
    running = Background(kube, server, "wait", "cm/later", "--for=create", "--timeout=60s")
    cms.create(_configmap("later", labels={"app": "x"}))
    assert running.done() == (0, "configmap/later condition met\n", "")
    cms.create(_configmap("held", labels={"app": "x"}, finalizers=["example.com/hold"]))
    running = Background(kube, server, "wait", "cm", "-l", "app=x",
                         "--for=jsonpath={.metadata.labels.app}=x", "--timeout=60s")
    assert running.done() == (0, "configmap/held condition met\nconfigmap/later condition "
                                 "met\n", "")
    code, out, _ = call(kube, server, "wait", "cm", "--all", "-A", "--for=create")
    assert code == 0 and "configmap/held condition met\n" in out
    cms.delete("held")
    _until_terminating(cms, "held")
    assert call(kube, server, "wait", "cm/held", "--for=delete", "--timeout=1s") == \
        (1, "", "error: timed out waiting for the condition on configmaps/held\n")
    running = Background(kube, server, "wait", "cm/held", "--for=delete", "--timeout=60s")
    cms.patch("held", {"metadata": {"finalizers": None}})
    # gone: "condition met", or nothing if it was gone before the wait looked (as kubectl)
    assert running.done() in ((0, "configmap/held condition met\n", ""), (0, "", ""))


# -- rollout status -----------------------------------------------------------------------------

def test_rollout_status_follows_the_status_until_done(kube: Any, server: ApiServer) -> None:
    deployments = _deployment(kube, "web")
    running = Background(kube, server, "rollout", "status", "deploy/web", "--timeout=60s")
    assert running.line() == "Waiting for deployment spec update to be observed..."
    steps = [({"replicas": 2, "updatedReplicas": 1},
              'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have '
              'been updated...'),
             ({"replicas": 3, "updatedReplicas": 2},
              'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
              'termination...'),
             ({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
              'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are '
              'available...'),
             ({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
              'deployment "web" successfully rolled out')]
    for status, line in steps:
        deployments.status.patch("web", {"status": {"observedGeneration": 1, **status}})
        assert running.line() == line
    assert running.done()[0::2] == (0, "")
    assert call(kube, server, "rollout", "status", "deploy/web", "--timeout=1s") == \
        (0, 'deployment "web" successfully rolled out\n', "")
    deployments.patch("web", {"spec": {"replicas": 3}})
    code, out, err = call(kube, server, "rollout", "status", "deploy/web", "--timeout=1s")
    assert (code, err) == (1, "error: timed out waiting for the condition\n")
    assert out == "Waiting for deployment spec update to be observed...\n"


# -- edit -----------------------------------------------------------------------------------

def _editor(tmp_path: Path, body: str) -> str:
    """A script editor: Python ``body`` runs with ``text`` (the file), ``path`` and ``n``
    (how many times it ran before)."""
    script = tmp_path / "editor.py"
    count = tmp_path / "count"
    script.write_text(
        "import pathlib, sys\n"
        f"count = pathlib.Path({str(count)!r})\n"
        "n = int(count.read_text()) if count.exists() else 0\n"
        "count.write_text(str(n + 1))\n"
        "path = pathlib.Path(sys.argv[1])\ntext = path.read_text()\n"
        f"pathlib.Path({str(tmp_path / 'seen')!r} + str(n)).write_text(text)\n" + body)
    return f"{sys.executable} {script}"


def test_edit_reopens_an_invalid_result_with_the_reasons(kube: Any, server: ApiServer,
                                                         tmp_path: Path) -> None:
    cms = kube.resource("configmaps")
    cms.create({**_configmap("settings"), "data": {"mode": "fast"}})
    editor = _editor(tmp_path, (
        "if n == 0:\n    path.write_text(text.replace('mode: fast', 'mode: [broken'))\n"
        "elif n == 1:\n    path.write_text(text.replace('mode: [broken', 'mode: [1, 2]'))\n"
        "else:\n    path.write_text(text.replace('mode: [1, 2]', 'mode: slow'))\n"))
    code, out, err = call(kube, server, "edit", "cm", "settings", env={"KUBE_EDITOR": editor})
    assert (code, out, err) == (0, "configmap/settings edited\n", "")
    first, second, third = ((tmp_path / f"seen{i}").read_text() for i in range(3))
    assert first.startswith("# Please edit the object below.")
    assert "managedFields" not in first and "mode: fast" in first
    assert "syntax error" in second and "mode: [broken" in second  # the edits are kept
    assert "is invalid" in third or "was not valid" in third
    assert cms.get("settings")["data"] == {"mode": "slow"}


def test_edit_gives_up_when_an_invalid_result_is_saved_again(
        kube: Any, server: ApiServer, tmp_path: Path) -> None:
    cms = kube.resource("configmaps")
    cms.create({**_configmap("settings"), "data": {"mode": "fast"}})
    editor = _editor(tmp_path, "path.write_text(text.replace('mode: fast', 'mode: [x'))\n")
    code, out, err = call(kube, server, "edit", "cm/settings", env={"EDITOR": editor,
                                                                    "KUBE_EDITOR": ""})
    assert (code, out) == (1, "")
    assert 'A copy of your changes has been stored to "' in err
    assert err.endswith("error: Edit cancelled, no valid changes were saved.\n")
    copy = err.split('"')[1]
    assert "mode: [x" in Path(copy).read_text()
    os.unlink(copy)
    assert cms.get("settings")["data"] == {"mode": "fast"}


# -- get --watch-only -----------------------------------------------------------------------

def test_get_watch_only_prints_the_changes_only(kube: Any, server: ApiServer) -> None:
    cms = kube.resource("configmaps")
    cms.create(_configmap("a-rather-long-existing-name"))
    proc = subprocess.Popen([sys.executable, "-m", "dynakube", "--kubeconfig",
                             server.kubeconfig_path, "-n", kube.namespace, "get", "cm",
                             "--watch-only"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ.copy())
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        # the watch starts after its listing; an object made now is seen as a change, and
        # is made again until the command shows it (it may have started after the first)
        seen = []
        for attempt in range(20):
            cms.create(_configmap(f"new{attempt}"))
            try:
                seen.append(lines.get(timeout=3))
            except queue.Empty:
                continue
            break
        seen.append(lines.get(timeout=BOUND))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=BOUND)
    assert seen[0].split() == ["NAME", "DATA", "AGE"]
    assert seen[0].startswith("NAME   ")  # widths of the change, not the long name's
    assert seen[1].startswith("new")
    assert proc.returncode == 1 and "Traceback" not in err  # ^C: exit 1, as kubectl


# -- positionals among the flags --------------------------------------------------------------

@pytest.mark.parametrize(("argv", "field", "expected"), [
    (["get", "deploy", "-n", "shop", "api", "-o", "name", "web"], "names", ["api", "web"]),
    (["label", "cm", "-n", "x", "a", "k=v", "--overwrite", "old-"], "words",
     ["a", "k=v", "old-"]),
    (["port-forward", "pod/p", "-n", "x", "8080:80", "9090"], "ports", ["8080:80", "9090"]),
    (["exec", "p", "-n", "x", "-c", "main", "--", "sh", "-c", "echo -n hi"], "cmd",
     ["--", "sh", "-c", "echo -n hi"]),
])
def test_positionals_may_follow_flags_as_in_kubectl(argv: list[str], field: str,
                                                    expected: list[str]) -> None:
    from dynakube.cli import build_parser

    parsed, extra = build_parser().parse_known_args(argv)
    assert (getattr(parsed, field), extra) == (expected, [])
    assert parsed.namespace in ("shop", "x")


def test_edit_of_several_objects_is_one_list(kube: Any, server: ApiServer,
                                             tmp_path: Path) -> None:
    cms = kube.resource("configmaps")
    for name in ("one", "two"):
        cms.create({**_configmap(name), "data": {"mode": "fast"}})
    editor = _editor(tmp_path, "path.write_text(text.replace('mode: fast', 'mode: slow', 1))\n")
    code, out, err = call(kube, server, "edit", "cm", env={"KUBE_EDITOR": editor})
    assert (code, out, err) == (0, "configmap/one edited\n", "")
    seen = (tmp_path / "seen0").read_text()
    assert "kind: List\n" in seen and seen.count("- apiVersion: v1\n") == 3  # kube-root too
    assert [cms.get(n)["data"]["mode"] for n in ("one", "two")] == ["slow", "fast"]
    (tmp_path / "count").unlink()
    code, out, err = call(kube, server, "edit", "cm", "one", "two",
                          env={"KUBE_EDITOR": _editor(tmp_path, "pass\n")})
    assert (code, out, err) == (0, "", "Edit cancelled, no changes made.\n")
