"""The ``dynakube`` command next to kubectl: the same commands against the same embedded
server print the same lines, columns, spacing and errors, and exit with the same codes.

Each test makes its objects (twins where a command changes them: one for kubectl, one for
dynakube), runs kubectl and ``dynakube`` (in-process, through ``main()``) and compares what
they print. Ages are the only cells that may differ between two runs a moment apart, so an
age cell (and the padding after it) is masked in both. Skipped when kubectl is not
installed.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubectlhelp import Kubectl, needs_kubectl

from dynakube.apiserver.server import ApiServer
from dynakube.cli import main

pytestmark = needs_kubectl


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def kubectl(server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(server.kubeconfig_path, str(tmp_path_factory.mktemp("kubectl-cache")))


@pytest.fixture
def ns(kubectl: Kubectl, request: pytest.FixtureRequest) -> str:
    """A fresh namespace named after the test."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].strip("-")
    kubectl.ok("create", "namespace", name)
    return name


@pytest.fixture
def kube(server: ApiServer, tmp_path: Path) -> Iterator[Any]:
    with server.client(cache_dir=str(tmp_path / "cache")) as client:
        yield client


class Both:
    """Runs one command line through kubectl and through dynakube."""

    def __init__(self, server: ApiServer, kubectl: Kubectl, namespace: str):
        self.server = server
        self.k = kubectl.in_namespace(namespace)
        self.namespace = namespace

    def dynakube(self, *args: str, stdin: str = "",
                 env: dict[str, str] | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            for key, value in (env or {}).items():
                mp.setenv(key, value)
            code = main(["--kubeconfig", self.server.kubeconfig_path, "-n", self.namespace,
                         *args], stdout=out, stderr=err, stdin=io.StringIO(stdin))
        return code, out.getvalue(), err.getvalue()

    def kubectl(self, *args: str, stdin: str | None = None,
                env: dict[str, str] | None = None) -> tuple[int, str, str]:
        result = self.k.run(*args, stdin=stdin, env=env)
        return result.code, result.out, result.err

    def same(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        """Assert both print the same (ages masked) and exit alike; returns kubectl's."""
        theirs = self.kubectl(*args, stdin=stdin or None)
        ours = self.dynakube(*args, stdin=stdin)
        assert normalized(ours) == normalized(theirs), (args, ours, theirs)
        return theirs


def normalized(result: tuple[int, str, str]) -> tuple[int, str, str]:
    code, out, err = result
    return code, _mask(out), _mask(err.replace("kubectl", "dynakube"))


_AGE = re.compile(r"(?<!\S)\d{1,3}s(?: +|$)", re.MULTILINE)


def _mask(text: str) -> str:
    """Ages (``5s``, ``42s``) and the padding after them, which follows their width."""
    return _AGE.sub("<age> ", text)


@pytest.fixture
def both(server: ApiServer, kubectl: Kubectl, ns: str) -> Both:
    return Both(server, kubectl, ns)


def _deployment(name: str, replicas: int = 2, labels: dict[str, str] | None = None
                ) -> dict[str, Any]:
    match = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {**match, **(labels or {})}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": match},
                     "template": {"metadata": {"labels": match},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "nginx:1.27"}]}}}}


def _configmap(name: str, labels: dict[str, str] | None = None,
               data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": data or {}}


def _create(both: Both, *objs: dict[str, Any]) -> None:
    # one document each: kubectl validates a `kind: List` against OpenAPI v2, which the
    # embedded server refuses with 406 (reported)
    both.k.ok("create", "-f", "-", stdin="\n".join(json.dumps(o) for o in objs))


# -- get ------------------------------------------------------------------------------------

def test_get_columns_labels_and_sorting_match_kubectl(both: Both) -> None:
    _create(both, _deployment("web", 3, {"tier": "front"}),
            _deployment("api", 1, {"tier": "back", "team": "core"}),
            _deployment("a-long-named-worker", 2))
    for args in (["get", "deploy"], ["get", "deploy", "--show-labels"],
                 ["get", "deploy", "-L", "tier"], ["get", "deploy", "-L", "tier,team"],
                 ["get", "deploy", "-L", "tier", "-L", "team", "--show-labels"],
                 ["get", "deploy", "--sort-by=.spec.replicas"],
                 ["get", "deploy", "--sort-by={.metadata.name}", "-o", "name"],
                 ["get", "deploy", "-o", "wide", "--sort-by=.metadata.name"],
                 ["get", "deploy", "--no-headers", "-L", "tier"],
                 ["get", "deploy", "web", "api"], ["get", "deploy/web", "deploy/api"],
                 ["get", "deploy", "web", "-n", both.namespace, "api"]):
        code, out, _ = both.same(*args)
        assert code == 0 and out
    # a name not found among found ones: the table, then kubectl's error line, exit 1
    code, _, err = both.same("get", "deploy", "web", "nope")
    assert code == 1 and 'deployments.apps "nope" not found' in err


def test_get_jsonpath_and_custom_columns_match_kubectl(both: Both) -> None:
    _create(both, _configmap("one", {"k": "a"}, {"x": "1", "y": "2"}),
            _configmap("two", {"k": "b"}, {"x": "3"}))
    for template in ("{.items[*].metadata.name}",
                     '{range .items[*]}{.metadata.name}{"\\t"}{.data.x}{"\\n"}{end}',
                     "{.items[?(@.metadata.labels.k=='b')].metadata.name}",
                     "{.items[0].data}", "{.items[-1:].metadata.name}",
                     "{.items[*].metadata.missing}", "{.kind}"):
        code, out, _ = both.same("get", "cm", "one", "two", "-o", f"jsonpath={template}")
        assert code == 0
    both.same("get", "cm", "one", "-o", "jsonpath={.data.x}")
    for spec in ("NAME:.metadata.name,X:.data.x,LABEL:.metadata.labels.k",
                 "N:{.metadata.name}"):  # (not .data.*: Go's map order is random)
        code, out, _ = both.same("get", "cm", "one", "two", "-o", f"custom-columns={spec}")
        assert code == 0 and out.startswith(spec.split(":")[0])
    both.same("get", "cm", "one", "two", "-o", "custom-columns=NAME:.metadata.name",
              "--no-headers", "--sort-by=.data.x")
    # errors: kubectl's words, exit 1
    for bad in (["-o", "jsonpath={.items[*].metadata.name"],
                ["-o", "jsonpath={.nope}", "--allow-missing-template-keys=false"],
                ["-o", "custom-columns=NAME"]):
        code, _, err = both.same("get", "cm", "one", *bad)
        assert code == 1 and err.startswith("error: ")
    # the formats listed differ (no go-template here); the words are kubectl's
    theirs, ours = both.kubectl("get", "cm", "-o", "bogus"), both.dynakube("get", "cm", "-o",
                                                                            "bogus")
    words = 'error: unable to match a printer suitable for the output format "bogus"'
    assert theirs[0] == ours[0] == 1 and ours[2].startswith(words), ours
    assert set(ours[2].split(": ")[-1].strip().split(",")) < \
        set(theirs[2].split(": ")[-1].strip().split(","))


def test_managed_fields_are_hidden_unless_asked_for_as_kubectl(both: Both) -> None:
    _create(both, _deployment("web"))
    for fmt in ("yaml", "json"):
        _, out, _ = both.same("get", "deploy", "web", "-o", fmt)
        assert "managedFields" not in out
        _, out, _ = both.same("get", "deploy", "web", "-o", fmt, "--show-managed-fields")
        assert "managedFields" in out
    _, out, _ = both.same("get", "deploy", "-o", "yaml")
    assert "managedFields" not in out and "kind: List" in out


def test_get_errors_match_kubectl(both: Both) -> None:
    for args, words in ((["get", "deploy", "nope"],
                         'Error from server (NotFound): deployments.apps "nope" not found'),
                        (["get", "nosuchthing"], "the server doesn't have a resource type"),
                        (["get", "deploy", "--bogus"], "unknown flag: --bogus"),
                        (["get", "deploy", "-o"], "flag needs an argument")):
        code, _, err = both.same(*args)
        assert code == 1 and words in err


# -- label, annotate, scale -----------------------------------------------------------------

def test_label_and_annotate_sequences_match_kubectl(both: Both) -> None:
    _create(both, _configmap("k"), _configmap("d"))
    steps = [["label", "cm", "NAME", "team=a"],
             ["label", "cm", "NAME", "team=b"],  # refused without --overwrite
             ["label", "cm", "NAME", "team=b", "--overwrite"],
             ["label", "cm", "NAME", "team=b"],  # the same value: no change
             ["label", "cm", "NAME", "team-"],
             ["label", "cm", "NAME", "team-"],  # not there
             ["label", "cm", "NAME", "a=1", "a-"],
             ["label", "cm", "NAME", "bad key=x"],
             ["annotate", "cm", "NAME", "note=x", "other=y"],
             ["annotate", "cm", "NAME", "note=z"],  # refused
             ["annotate", "cm", "NAME", "note=z", "--overwrite"],
             ["annotate", "cm", "NAME", "note-"],
             ["annotate", "cm/NAME"],
             ["label", "cm", "nope", "a=b"]]
    for step in steps:
        theirs = both.kubectl(*[w.replace("NAME", "k") for w in step])
        ours = both.dynakube(*[w.replace("NAME", "d") for w in step])
        fix = normalized((ours[0], ours[1].replace("/d ", "/k "),
                          ours[2].replace("cm/d", "cm/k").replace('"d"', '"k"')))
        assert fix == normalized(theirs), (step, ours, theirs)
    k = json.loads(both.k.ok("get", "cm", "k", "-o", "json"))["metadata"]
    d = json.loads(both.k.ok("get", "cm", "d", "-o", "json"))["metadata"]
    assert (k.get("labels"), k.get("annotations")) == (d.get("labels"), d.get("annotations"))
    assert d["annotations"] == {"other": "y"}
    # several objects by selector, with --all, and the usage errors
    for args in (["label", "cm", "-l", "team!=x", "KEY=red"],
                 ["label", "cm", "--all", "KEY=blue", "--overwrite"]):
        theirs = both.kubectl(*[a.replace("KEY", "color") for a in args])
        ours = both.dynakube(*[a.replace("KEY", "shade") for a in args])
        assert ours == theirs and theirs[1].count(" labeled\n") == 3, (args, ours, theirs)
    for usage in (["label"], ["label", "cm"], ["label", "cm", "x=y"], ["annotate"]):
        code, _, _ = both.same(*usage)
        assert code == 1


def test_scale_matches_kubectl(both: Both) -> None:
    _create(both, _deployment("web", 1), _deployment("api", 1))
    for args in (["scale", "deploy", "web", "--replicas=3"],
                 ["scale", "deploy/web", "--replicas=2", "--current-replicas=1"],
                 ["scale", "deploy/web", "deploy/api", "--replicas=4"],
                 ["scale", "deploy", "nope", "--replicas=1"],
                 ["scale", "deploy", "web", "--replicas=-1"],
                 ["scale", "deploy", "--replicas=1"],
                 ["scale", "--replicas=1"], ["scale", "deploy", "web"]):
        theirs = both.kubectl(*args)
        both.k.ok("scale", "deploy", "web", "api", "--replicas=1")
        ours = both.dynakube(*args)
        assert ours[:2] == theirs[:2], (args, ours, theirs)
        if "required" not in theirs[2]:  # cobra's "required flag" goes through klog
            assert normalized(ours)[2] == normalized(theirs)[2], (args, ours, theirs)
        both.k.ok("scale", "deploy", "web", "api", "--replicas=1")
    both.dynakube("scale", "deploy", "web", "--replicas=5")
    assert both.k.jsonpath(["deploy", "web"], "{.spec.replicas}") == "5"


# -- delete ---------------------------------------------------------------------------------

def test_delete_lines_and_usage_errors_match_kubectl(both: Both) -> None:
    _create(both, *[_configmap(n, {"set": s}) for n, s in
                    (("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("e", "z"), ("f", "z"))])
    for args in (["delete", "cm", "nope"], ["delete", "cm", "nope", "--ignore-not-found"],
                 ["delete", "cm", "a", "--dry-run=server"],
                 ["delete", "cm/a", "cm/b", "--dry-run=client"],
                 ["delete", "cm", "-l", "set=x", "--dry-run=server"],
                 ["delete", "cm", "--all", "--dry-run=server"],
                 ["delete", "cm", "-l", "set=nothing"],
                 ["delete"], ["delete", "cm"], ["delete", "cm/a", "b"],
                 ["delete", "cm", "a", "--all"], ["delete", "cm", "--all", "-l", "set=x"],
                 ["delete", "cm", "a", "--cascade=sometimes"],
                 ["delete", "cm", "a", "--dry-run=maybe"],
                 ["delete", "cm", "a", "--grace-period=x"]):
        both.same(*args)
    assert both.k.ok("get", "cm", "-o", "name").count("\n") == 7  # nothing deleted yet
    theirs = both.kubectl("delete", "cm", "a", "c", "--cascade=orphan")
    ours = both.dynakube("delete", "cm", "b", "d", "--cascade=foreground")
    assert ours == (0, theirs[1].replace('"a"', '"b"').replace('"c"', '"d"'), "")
    theirs = both.kubectl("delete", "cm", "-l", "set=z", "--grace-period=0", "--force")
    assert theirs[0] == 0
    _create(both, _configmap("e", {"set": "z"}), _configmap("f", {"set": "z"}))
    assert normalized(both.dynakube("delete", "cm", "-l", "set=z", "--grace-period=0",
                                    "--force")) == normalized(theirs)
    assert both.k.ok("get", "cm", "-o", "name") == "configmap/kube-root-ca.crt\n"


# -- wait -----------------------------------------------------------------------------------

def test_wait_lines_and_errors_match_kubectl(both: Both) -> None:
    _create(both, _configmap("a", {"app": "w"}, {"phase": "Ready"}),
            _configmap("b", {"app": "w"}, {"phase": "Ready"}))
    for args in (["wait", "cm/a", "--for=create", "--timeout=5s"],
                 ["wait", "cm/a", "cm/b", "--for=jsonpath={.data.phase}=Ready"],
                 ["wait", "cm", "a", "b", "--for=jsonpath={.data.phase}"],
                 ["wait", "cm", "-l", "app=w", "--for=jsonpath={.data.phase}=Ready"],
                 ["wait", "cm", "--all", "--for=create"],
                 ["wait", "cm/gone", "--for=delete", "--timeout=5s"],
                 ["wait", "cm", "-l", "app=none", "--for=delete"],
                 ["wait", "cm/a", "--for=jsonpath={.data.phase}=Broken", "--timeout=1s"],
                 ["wait", "cm/a", "--for=condition=Ready", "--timeout=0"],
                 ["wait", "cm/missing", "--for=condition=Ready", "--timeout=1s"],
                 ["wait", "cm/a", "--for=sometime"], ["wait", "cm/a"], ["wait"],
                 ["wait", "cm", "--for=delete"],
                 ["wait", "cm", "-l", "app=none", "--for=create", "--timeout=1s"],
                 ["wait", "cm/a", "--for=delete", "--timeout=bogus"]):
        both.same(*args)


# -- events ---------------------------------------------------------------------------------

def _event(name: str, about: dict[str, str], reason: str, message: str, when: str,
           kind: str = "Normal") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
            "involvedObject": about, "reason": reason, "message": message, "type": kind,
            "firstTimestamp": when, "lastTimestamp": when, "count": 1,
            "source": {"component": "test"}}


def test_events_sorted_by_time_and_for_one_object_match_kubectl(both: Both) -> None:
    web = {"kind": "Deployment", "apiVersion": "apps/v1", "name": "web",
           "namespace": both.namespace}
    api = {**web, "name": "api"}
    _create(both, _deployment("web"), _deployment("api"),
            _event("e3", web, "ScalingReplicaSet", "Scaled up to 2", "2026-01-01T10:03:00Z"),
            _event("e1", api, "Started", "started the api", "2026-01-01T10:01:00Z"),
            _event("e2", web, "BackOff", "back-off restarting", "2026-01-01T10:02:00Z",
                   "Warning"))
    code, out, _ = both.same("events")
    assert code == 0 and out.index("started the api") < out.index("back-off")
    for args in (["events", "--for", "deploy/web"], ["events", "--for", "deployment/api"],
                 ["events", "--types=Warning"], ["events", "--no-headers"],
                 ["events", "--for", "deploy/nothing"], ["events", "--for", "deploy"]):
        both.same(*args)


# -- rollout status ---------------------------------------------------------------------------

def _set_status(kube: Any, plural: str, namespace: str, name: str,
                status: dict[str, Any]) -> None:
    """Write status as a controller would (the embedded server runs none)."""
    resource = kube.resource(plural)
    obj = resource.get(name, namespace)
    generation = obj["metadata"].get("generation", 1)
    resource.status.patch(name, {"status": {"observedGeneration": generation, **status}},
                          namespace)


def test_rollout_status_reads_the_status_as_kubectl(both: Both, kube: Any) -> None:
    labels = {"app": "s"}
    pod = {"metadata": {"labels": labels},
           "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    _create(both, _deployment("web", 3),
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
             "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": labels},
                      "template": pod}},
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
             "spec": {"selector": {"matchLabels": labels}, "template": pod}})
    ns = both.namespace
    for target in ("deploy/web", "sts/db", "ds/agent"):  # no status yet: not observed
        both.same("rollout", "status", target, "--watch=false")
    steps: list[tuple[str, str, dict[str, Any]]] = [
             ("deployments", "web", {"replicas": 3, "updatedReplicas": 1}),
             ("deployments", "web", {"replicas": 4, "updatedReplicas": 3}),
             ("deployments", "web", {"replicas": 3, "updatedReplicas": 3,
                                     "availableReplicas": 2}),
             ("deployments", "web", {"replicas": 3, "updatedReplicas": 3,
                                     "availableReplicas": 3}),
             ("statefulsets", "db", {"replicas": 2, "readyReplicas": 1}),
             ("statefulsets", "db", {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 1,
                                     "currentRevision": "db-1", "updateRevision": "db-2"}),
             ("statefulsets", "db", {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
                                     "currentReplicas": 2, "currentRevision": "db-2",
                                     "updateRevision": "db-2"}),
             ("daemonsets", "agent", {"desiredNumberScheduled": 3,
                                      "updatedNumberScheduled": 1, "numberAvailable": 1,
                                      "currentNumberScheduled": 3, "numberMisscheduled": 0,
                                      "numberReady": 1}),
             ("daemonsets", "agent", {"desiredNumberScheduled": 3,
                                      "updatedNumberScheduled": 3, "numberAvailable": 2,
                                      "currentNumberScheduled": 3, "numberMisscheduled": 0,
                                      "numberReady": 2}),
             ("daemonsets", "agent", {"desiredNumberScheduled": 3,
                                      "updatedNumberScheduled": 3, "numberAvailable": 3,
                                      "currentNumberScheduled": 3, "numberMisscheduled": 0,
                                      "numberReady": 3})]
    seen = set()
    for plural, name, status in steps:
        _set_status(kube, plural, ns, name, status)
        _, out, _ = both.same("rollout", "status", f"{plural}/{name}", "--watch=false")
        seen.add(out)
    assert len(seen) == len(steps)  # each step is a different line
    both.same("rollout", "status", "deploy")  # every Deployment, done: no waiting
    for bad in (["rollout", "status", "deploy/nope"], ["rollout", "status", "cm/x"],
                ["rollout", "status"]):
        code, _, _ = both.same(*bad)
        assert code == 1


# -- diff, edit -----------------------------------------------------------------------------

def _diff_body(text: str) -> str:
    """The diff without its temporary paths and file times."""
    text = re.sub(r"^(---|\+\+\+) (\S+)\t?.*$", r"\1 \2", text, flags=re.MULTILINE)
    text = re.sub(r"(uid|creationTimestamp|resourceVersion): .*", r"\1: <masked>", text)
    return re.sub(r"\S*(LIVE|MERGED)-\w+/(\S+)", r"\1/\2", text)


def test_diff_matches_kubectl(both: Both, tmp_path: Path) -> None:
    _create(both, _configmap("settings", {"app": "x"}, {"mode": "fast"}))
    same = tmp_path / "same.yaml"
    changed = tmp_path / "changed.yaml"
    added = tmp_path / "added.yaml"
    same.write_text(json.dumps(_configmap("settings", {"app": "x"}, {"mode": "fast"})))
    changed.write_text(json.dumps(_configmap("settings", {"app": "x"},
                                             {"mode": "slow", "extra": "1"})))
    added.write_text(json.dumps(_configmap("newone", data={"a": "b"})))
    for path in (same, changed, added):
        theirs = both.kubectl("diff", "-f", str(path))
        ours = both.dynakube("diff", "-f", str(path))
        assert ours[0] == theirs[0], (path, ours, theirs)
        assert _diff_body(ours[1]) == _diff_body(theirs[1]), (path, ours[1], theirs[1])
    # created without the last-applied annotation, an unchanged file still differs (as
    # kubectl: `annotations: {}`); once applied, it does not
    assert both.k.run("apply", "-f", str(same)).code == 0  # warns of the annotation
    assert both.kubectl("diff", "-f", str(same)) == both.dynakube("diff", "-f", str(same)) \
        == (0, "", "")
    code, out, _ = both.dynakube("diff", "-f", str(changed))
    assert code == 1 and "-  mode: fast\n+  extra: \"1\"\n+  mode: slow\n" in out
    for bad in (["diff"], ["diff", "-f", str(tmp_path / "nope.yaml")]):
        code, _, _ = both.same(*bad)
        assert code == 2  # kubectl diff: above 1 is an error
    assert both.k.ok("get", "cm", "settings", "-o", "jsonpath={.data.mode}") == "fast"


def _editor(tmp_path: Path, name: str, body: str) -> str:
    """An editor: a script that runs ``body`` (Python) on the file it is given."""
    script = tmp_path / f"{name}.py"
    script.write_text("import sys, pathlib\npath = pathlib.Path(sys.argv[1])\n"
                      "text = path.read_text()\n" + body)
    import sys
    return f"{sys.executable} {script}"


def test_edit_matches_kubectl(both: Both, tmp_path: Path) -> None:
    _create(both, _configmap("k", data={"mode": "fast"}), _configmap("d", data={"mode": "fast"}))
    change = _editor(tmp_path, "change",
                     "path.write_text(text.replace('mode: fast', 'mode: slow'))\n")
    nothing = _editor(tmp_path, "nothing", "pass\n")
    for editor, target in ((change, "cm/NAME"), (nothing, "cm/NAME")):
        env = {"KUBE_EDITOR": editor}
        theirs = both.kubectl("edit", target.replace("NAME", "k"), env=env)
        ours = both.dynakube("edit", target.replace("NAME", "d"), env=env)
        assert (ours[0], ours[1].replace("/d ", "/k "), ours[2]) == theirs, \
            (editor, ours, theirs)
    for name in ("k", "d"):
        assert both.k.ok("get", "cm", name, "-o", "jsonpath={.data.mode}") == "slow"
    code, _, _ = both.same("edit", "cm/nope")
    assert code == 1


def test_a_missing_file_is_kubectls_one_line(both: Both, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    for verb, code in (("apply", 1), ("delete", 1), ("diff", 2)):
        result = both.same(verb, "-f", missing)
        assert result == (code, "", f'error: the path "{missing}" does not exist\n')


# -- get -w ---------------------------------------------------------------------------------

def _follow(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str],
                                                            queue.Queue[str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


@pytest.mark.parametrize("flags", [[], ["--output-watch-events"],
                                   ["--output-watch-events", "-L", "changed"]])
def test_get_watch_prints_what_kubectl_prints(both: Both, server: ApiServer,
                                              flags: list[str]) -> None:
    _create(both, _configmap("first", data={"a": "1"}), _configmap("second"))
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    assert both.k.kubeconfig == server.kubeconfig_path
    common = ["--kubeconfig", server.kubeconfig_path, "-n", both.namespace, "get", "cm",
              "-w", *flags]
    kubectl_argv = [str(shutil.which("kubectl")), "--cache-dir", both.k.cache_dir, *common]
    runs = [_follow(argv, env) for argv in
            (kubectl_argv, [sys.executable, "-m", "dynakube", *common])]
    try:
        initial = []  # the header and the three objects there now (kube-root-ca.crt too)
        for _, lines in runs:
            initial.append([_mask(lines.get(timeout=60)) for _ in range(4)])
        assert initial[0] == initial[1] and "NAME  " in initial[0][0]
        cms = both.k
        cms.ok("create", "configmap", "a-third-one-with-a-long-name", "--from-literal=x=y")
        cms.ok("label", "cm", "first", "changed=yes")
        cms.ok("delete", "cm", "second")
        printed = []
        for _, lines in runs:  # ADDED, MODIFIED, DELETED: one line each
            printed.append([lines.get(timeout=60) for _ in range(3)])
    finally:
        for proc, _ in runs:
            proc.send_signal(signal.SIGINT)
        for proc, _ in runs:
            proc.communicate(timeout=60)
    theirs, ours = printed
    assert [_mask(line) for line in ours] == [_mask(line) for line in theirs], (ours, theirs)
    assert [proc.returncode for proc, _ in runs][1] == 1  # ^C: exit 1


def test_yaml_quotes_and_folds_as_kubectl(both: Both) -> None:
    tricky = {k: v for k, v in enumerate(
        ["yes", "", "An RGB #x", "y", "N", "1", "key: v", "*x", "- x", " lead", "null",
         "1.5", "1e3", "0x1F", "~", "on", "it's", "trailing ", "%x", "@at", "a\nb",
         "<p>&</p>", "é"])}
    long = " ".join(["a long annotation that Go's YAML folds at eighty columns"] * 4)
    _create(both, {**_configmap("quotes", data={f"k{k}": v for k, v in tricky.items()}),
                   "metadata": {"name": "quotes", "annotations": {"note": long}}})
    for fmt in ("yaml", "json"):
        code, out, _ = both.same("get", "cm", "quotes", "-o", fmt)
        assert code == 0 and "k12" in out
