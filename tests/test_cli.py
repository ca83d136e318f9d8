"""The ``dynakube`` command, run as users run it: a subprocess against an embedded server.

One seeded server serves the whole module (each test uses its own names); variants of a
command already covered by a subprocess run in-process through ``main()`` to keep the
suite quick. Outputs are checked to the character where kubectl's format is the contract.
"""

from __future__ import annotations

import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dynakube.cli import main, printing
from dynakube.errors import NotFoundError

GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
data:
  a: "1"
---
apiVersion: example.dynakube.io/v1
kind: Widget
metadata:
  name: {name}
  namespace: {ns}
spec:
  size: small
"""

BAD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
  namespace: {ns}
---
apiVersion: example.dynakube.io/v1
kind: Widget
metadata:
  name: broken
  namespace: {ns}
spec:
  size: huge
  replicas: 500
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: typo
  namespace: {ns}
dta: {{}}
"""


@pytest.fixture(scope="module")
def server(seeded_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The seeded server, plus a namespace for each kind of test that writes."""
    with seeded_server.client(cache_dir=str(tmp_path_factory.mktemp("cache"))) as kube:
        for ns in ("applied", "watched", "deleted", "checked"):
            kube.resource("namespaces").create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    return seeded_server


@pytest.fixture
def kube(server: Any, tmp_path: Path) -> Iterator[Any]:
    with server.client(cache_dir=str(tmp_path / "cache")) as client:
        yield client


def run(*args: str, server: Any = None, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dynakube"]
    if server is not None:
        argv += ["--kubeconfig", server.kubeconfig_path]
    return subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def call(server: Any, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """``main()`` in-process (same code path, no interpreter start-up)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["--kubeconfig", server.kubeconfig_path, *args], stdout=out, stderr=err,
                stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


# -- flags, usage ---------------------------------------------------------------------------

def test_version_and_usage_errors() -> None:
    import dynakube

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dynakube {dynakube.__version__}"
    result = run("get")  # kubectl's usage errors exit 1, with kubectl's text
    assert result.returncode == 1
    assert "\nerror: Required resource not specified.\n" in result.stderr
    for argv in (["get", "cm", "-o", "bogus"], ["frobnicate"], ["api-resources", "--namespaced",
                                                                 "maybe"]):
        err = io.StringIO()
        assert main(argv, stdout=io.StringIO(), stderr=err) == 1, argv
    assert main([], stdout=io.StringIO(), stderr=io.StringIO()) == 0  # the help, as kubectl
    assert main(["get", "cm", "x", "-l", "a=b"], stdout=io.StringIO(),
                stderr=(err := io.StringIO())) == 1
    assert err.getvalue() == "error: name cannot be provided when a selector is specified\n"
    assert main(["get", "cm", "x", "-A"], stdout=io.StringIO(),
                stderr=(err := io.StringIO())) == 1
    assert err.getvalue() == ("error: a resource cannot be retrieved by name across all "
                              "namespaces\n")


# -- api-resources --------------------------------------------------------------------------

def test_api_resources_prints_like_kubectl(server: Any) -> None:
    result = run("api-resources", server=server)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"NAME +SHORTNAMES +APIVERSION +NAMESPACED +KIND", lines[0])
    header = lines[0]
    configmaps = next(line for line in lines if line.startswith("configmaps "))
    assert configmaps.split() == ["configmaps", "cm", "v1", "true", "ConfigMap"]
    # every column starts where its header starts (tabwriter alignment, 3 spaces)
    for title, value in (("APIVERSION", "v1"), ("KIND", "ConfigMap")):
        assert configmaps.index(" " + value) + 1 == header.index(title)
    widgets = next(line for line in lines if line.startswith("widgets "))
    assert widgets.split() == ["widgets", "wd,wdg", "example.dynakube.io/v1", "true", "Widget"]
    column = header.index("APIVERSION")
    versions = [line[column:].split()[0] for line in lines[1:]]
    groups = [v for v in versions if "/" in v]
    assert versions[0] == "v1" and groups == sorted(groups, key=lambda g: g.split("/")[0])

    # VERBS in the server's order (a real server lists a CRD's verbs in this order too)
    code, out, _ = call(server, "api-resources", "-o", "wide", "--api-group",
                        "example.dynakube.io")
    assert code == 0
    head, row = out.splitlines()
    assert head.split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS",
                            "CATEGORIES", "DEPRECATED"]
    assert row.split() == ["widgets", "wd,wdg", "example.dynakube.io/v1", "true", "Widget",
                           "delete,deletecollection,get,list,patch,create,update,watch",
                           "all,gadgets", "v1beta1"]
    code, out, _ = call(server, "api-resources", "--namespaced", "false", "--no-headers")
    names = [line.split()[0] for line in out.splitlines()]
    assert "namespaces" in names and "configmaps" not in names and "NAME" not in names
    code, out, _ = call(server, "api-resources", "--api-group", "", "-o", "name")
    assert "configmaps" in out.split() and all("." not in n for n in out.split())


# -- get ------------------------------------------------------------------------------------

def test_get_table_from_the_server(server: Any) -> None:
    result = run("get", "widgets", "-A", server=server)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"NAMESPACE +NAME +SIZE +REPLICAS +AGE", lines[0])
    rows = [line.split()[:4] for line in lines[1:]]
    assert ["default", "gamma", "medium", "1"] in rows
    assert ["shop", "beta", "large", "12"] in rows
    assert result.stderr == ""

    result = run("get", "cm", "-n", "nowhere", server=server)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "No resources found in nowhere namespace.\n"

    code, out, err = call(server, "get", "deploy", "-n", "shop")
    assert out.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    code, out, err = call(server, "get", "deploy", "-n", "shop", "-o", "wide")
    assert out.splitlines()[0].split()[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert out.splitlines()[1].split()[5:] == ["web", "nginx:1.27", "app=web"]
    code, out, err = call(server, "get", "gadgets", "-n", "shop", "--no-headers")
    assert [line.split()[0] for line in out.splitlines()] == ["alpha", "beta"]
    code, out, err = call(server, "get", "all", "-n", "shop")
    assert "deployment.apps/web" in out and "widget.example.dynakube.io/alpha" in out
    code, out, err = call(server, "get", "cm", "-A", "-l", "seed=yes", "-o", "name")
    assert out.splitlines() == ["configmap/features", "configmap/settings", "configmap/prices"]
    code, out, err = call(server, "get", "ns", "--field-selector", "metadata.name=shop")
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "shop"]
    code, out, err = call(server, "get", "cm", "-A", "-l", "seed=nope")
    assert (code, out, err) == (0, "", "No resources found\n")


def test_get_yaml_json_and_missing_names(server: Any) -> None:
    result = run("get", "cm", "settings", "-o", "yaml", server=server)
    assert result.returncode == 0
    assert result.stdout.startswith("apiVersion: v1\ndata:\n  name: settings\n  owner: dynakube\n"
                                    "kind: ConfigMap\n")
    assert '  labels:\n    seed: "yes"\n' in result.stdout  # Go-style double quotes

    import json

    code, out, _ = call(server, "get", "wd", "-n", "shop", "-o", "json")
    doc = json.loads(out)
    assert doc["kind"] == "List" and {i["metadata"]["name"] for i in doc["items"]} == {
        "alpha", "beta"}
    assert all(i["kind"] == "Widget" for i in doc["items"])
    code, out, err = call(server, "get", "cm", "settings", "ghost", "features")
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "settings", "features"]
    assert err == 'Error from server (NotFound): configmaps "ghost" not found\n'


def test_yaml_json_and_name_print_what_kubectl_prints_when_nothing_is_found(
        server: Any) -> None:
    # nothing matched: -o json/yaml still print a (empty) List, and no "No resources found"
    code, out, err = call(server, "get", "cm", "-l", "seed=nope", "-o", "json")
    assert (code, err) == (0, "")
    assert out == ('{\n    "apiVersion": "v1",\n    "items": [],\n    "kind": "List",\n'
                   '    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    code, out, err = call(server, "get", "cm", "-l", "seed=nope", "-o", "yaml")
    assert (code, out, err) == (
        0, 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n', "")
    assert call(server, "get", "cm", "-l", "seed=nope", "-o", "name") == (0, "", "")
    # one name that is not there: only the error, no empty List
    for output in ("yaml", "json", "name"):
        assert call(server, "get", "cm", "ghost", "-o", output) == (
            1, "", 'Error from server (NotFound): configmaps "ghost" not found\n')


def test_yaml_and_json_quote_and_escape_like_go() -> None:
    doc = {"data": {"app.conf": "a: 1\nb: 2\n", "motd": "one\ntwo", "flag": "yes",
                    "page": "<p>&</p>"}}
    assert printing.to_yaml(doc) == ('data:\n  app.conf: |\n    a: 1\n    b: 2\n'
                                     '  flag: "yes"\n  motd: |-\n    one\n    two\n'
                                     '  page: <p>&</p>\n')
    assert printing.to_json(doc["data"]["page"]) == '"\\u003cp\\u003e\\u0026\\u003c/p\\u003e"\n'
    assert printing.to_json({"é": "\u2028"}) == '{\n    "é": "\\u2028"\n}\n'


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], predicate: Any, seen: list[str]) -> str:
    while True:
        line = lines.get(timeout=30)  # a guard against hanging, not a timing assertion
        seen.append(line)
        if predicate(line):
            return line


def test_get_watch_streams_changes(server: Any, kube: Any) -> None:
    widgets = kube.resource("widgets")
    widgets.create({"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                    "metadata": {"name": "first", "namespace": "watched"},
                    "spec": {"size": "small"}})
    argv = [sys.executable, "-m", "dynakube", "--kubeconfig", server.kubeconfig_path, "get",
            "widgets", "-n", "watched", "-w"]
    table = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    names = subprocess.Popen([*argv, "-o", "name"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    docs = subprocess.Popen([*argv, "-o", "yaml"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        table_lines, name_lines, doc_lines = _reader(table), _reader(names), _reader(docs)
        seen: list[str] = []
        header = _wait_for(table_lines, lambda s: s.startswith("NAME"), seen)
        _wait_for(table_lines, lambda s: s.startswith("first"), seen)
        _wait_for(name_lines, lambda s: s == "widget.example.dynakube.io/first", [])
        # YAML documents: "---" between them, as kubectl, not before the first
        assert doc_lines.get(timeout=30) == "apiVersion: example.dynakube.io/v1"
        _wait_for(doc_lines, lambda s: s == "  name: first", [])
        widgets.create({"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                        "metadata": {"name": "second", "namespace": "watched"},
                        "spec": {"size": "large", "replicas": 7}})
        widgets.delete("first", "watched")
        added = _wait_for(table_lines, lambda s: s.startswith("second"), seen)
        assert added.split()[:3] == ["second", "large", "7"]
        assert header.split() == ["NAME", "SIZE", "REPLICAS", "AGE"]
        deleted = _wait_for(table_lines, lambda s: s.startswith("first"), seen)
        assert deleted.split()[:2] == ["first", "small"]  # last row known for the deleted one
        _wait_for(name_lines, lambda s: s.endswith("/second"), [])
        _wait_for(name_lines, lambda s: s.endswith("/first"), [])
        between = _wait_for(doc_lines, lambda s: s.startswith(("---", "  name: ")), [])
        assert between == "---"
        _wait_for(doc_lines, lambda s: s == "  name: second", [])
    finally:
        errors = []
        for proc in (table, names, docs):
            proc.send_signal(signal.SIGINT)
        for proc in (table, names, docs):
            try:
                errors.append(proc.communicate(timeout=30)[1])
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    assert (table.returncode, names.returncode, docs.returncode) == (1, 1, 1)  # as kubectl
    assert all("Traceback" not in err for err in errors), errors


# -- explain --------------------------------------------------------------------------------

def test_explain(server: Any) -> None:
    result = run("explain", "widgets.spec.size", server=server)
    assert result.returncode == 0, result.stderr
    assert "KIND:       Widget" in result.stdout
    assert "size <string>" in result.stdout and "How big the widget is." in result.stdout
    code, out, _ = call(server, "explain", "wd", "--recursive")
    assert code == 0 and "replicas" in out and "ports" in out
    code, out, err = call(server, "explain", "widgets.spec.nope")
    assert code == 1 and out == "" and err.startswith("error: ") and "nope" in err


# -- apply, delete, validate ---------------------------------------------------------------

def test_apply_files_directories_and_stdin(server: Any, kube: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "good.yaml"
    manifest.write_text(GOOD.replace("  namespace: {ns}\n", "").format(name="one"))
    result = run("apply", "-n", "applied", "-f", str(manifest), server=server)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ("configmap/one created\n"
                             "widget.example.dynakube.io/one created\n")
    code, out, err = call(server, "apply", "-f", str(tmp_path), "-n", "applied")
    assert (code, out, err) == (0, "configmap/one unchanged\nwidget.example.dynakube.io/one "
                                   "unchanged\n", "")
    changed = manifest.read_text().replace('a: "1"', 'a: "2"')
    result = run("-n", "applied", "apply", "-f", "-", server=server, stdin=changed)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "configmap/one configured"
    assert kube.resource("cm").get("one", "applied")["data"] == {"a": "2"}

    code, out, err = call(server, "apply", "-f", "-", "--server-side", "--dry-run",
                          stdin=GOOD.format(name="dry", ns="applied"))
    assert (code, err) == (0, "")
    assert out == ("configmap/dry serverside-applied (server dry run)\n"
                   "widget.example.dynakube.io/dry serverside-applied (server dry run)\n")
    with pytest.raises(NotFoundError):
        kube.resource("cm").get("dry", "applied")
    code, out, _ = call(server, "apply", "-f", "-", "--server-side", "--field-manager", "me",
                        stdin=GOOD.format(name="ssa", ns="applied"))
    assert code == 0 and out.startswith("configmap/ssa serverside-applied\n")
    managers = {m["manager"] for m in kube.resource("cm").get("ssa", "applied")
                ["metadata"]["managedFields"]}
    assert managers == {"me"}


def test_client_side_apply_updates_in_the_documents_namespace(server: Any) -> None:
    text = GOOD.format(name="elsewhere", ns="applied")
    assert call(server, "apply", "-f", "-", stdin=text)[0] == 0
    code, out, err = call(server, "apply", "-f", "-", stdin=text)
    assert (code, err) == (0, "")
    assert out == ("configmap/elsewhere unchanged\n"
                   "widget.example.dynakube.io/elsewhere unchanged\n")


def test_apply_stops_on_client_side_validation(server: Any, kube: Any,
                                               tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD.format(ns="applied"))
    writes_before = server.requests.count(method="POST") + server.requests.count(method="PATCH")
    result = run("apply", "-f", str(bad), server=server)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert f'error: {bad}#2: Widget "broken": spec.size: unsupported value "huge"' in errors
    assert any(e.startswith(f'error: {bad}#2: Widget "broken": spec.replicas: ')
               for e in errors)
    assert any(e.startswith(f'error: {bad}#3: ConfigMap "typo": dta: unknown field')
               for e in errors)
    assert errors[-1] == "error: nothing was applied: 2 of 3 document(s) have problems"
    writes_after = server.requests.count(method="POST") + server.requests.count(method="PATCH")
    assert writes_after == writes_before
    with pytest.raises(NotFoundError):
        kube.resource("cm").get("fine", "applied")

    # warn: unknown fields are warnings; the schema violation still stops everything
    code, out, err = call(server, "apply", "-f", str(bad), "--validate", "warn")
    assert code == 1 and out == ""
    assert f'Warning: {bad}#3: ConfigMap "typo": dta: unknown field' in err
    # ignore: nothing checked here, the server refuses the widget, the others are applied
    code, out, err = call(server, "apply", "-f", str(bad), "--validate", "ignore")
    assert code == 1
    assert out == "configmap/fine created\nconfigmap/typo created\n"
    assert err.startswith(f"Error from server (Invalid): {bad}#2: ")
    # a YAML error is reported with its document and line
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n")
    code, out, err = call(server, "apply", "-f", str(broken))
    assert code == 1 and f"error: {broken}#1: YAML does not parse at line" in err
    # metadata that is not a mapping is a problem of that document, not a crash
    odd = tmp_path / "odd.yaml"
    odd.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: odd\n")
    code, out, err = call(server, "apply", "-f", str(odd))
    assert code == 1 and "invalid" not in out
    assert err.startswith(f"error: {odd}#1: ") and "metadata" in err.splitlines()[0]
    code, out, err = call(server, "validate", "-f", str(odd))  # a problem like any other
    assert code == 1 and "  error: metadata: expected object, found string\n" in out
    assert call(server, "delete", "-f", str(odd)) == (
        1, "", f"error: {odd}#1: the document has no metadata.name\n")
    # stdin that is not UTF-8
    err_stream = io.StringIO()
    undecodable = io.TextIOWrapper(io.BytesIO(b"kind: \xff\n"), encoding="utf-8")
    assert main(["--kubeconfig", server.kubeconfig_path, "apply", "-f", "-"],
                stdout=io.StringIO(), stderr=err_stream, stdin=undecodable) == 1
    assert err_stream.getvalue().startswith("error: <stdin>: cannot read <stdin>: 'utf-8' ")


def test_apply_progress_bar_only_on_a_terminal(server: Any) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    docs = "---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many-{i}\n  namespace: applied\n"
        for i in range(6))
    out, err = io.StringIO(), Terminal()
    code = main(["--kubeconfig", server.kubeconfig_path, "apply", "-f", "-"], stdout=out,
                stderr=err, stdin=io.StringIO(docs))
    assert code == 0
    assert out.getvalue().splitlines() == [f"configmap/many-{i} created" for i in range(6)]
    drawn = err.getvalue()
    assert "\r[" in drawn and "] 6/6 ConfigMap/many-5" in drawn
    assert drawn.endswith("\r")  # erased before the result lines
    code, out_text, err_text = call(server, "apply", "-f", "-",
                                    stdin=docs.replace("many-", "few-"))
    assert (code, err_text) == (0, "")  # not a terminal: no bar at all

    bar = printing.ProgressBar(Terminal(), width=10)
    bar.update(1, 4, "x")
    assert bar.stream.getvalue() == "\r[##........] 1/4 x"  # type: ignore[attr-defined]


def test_delete_by_name_selector_and_file(server: Any, kube: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "d.yaml"
    manifest.write_text(GOOD.format(name="gone", ns="deleted"))
    assert call(server, "apply", "-f", str(manifest))[0] == 0
    result = run("delete", "-f", str(manifest), server=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ('widget.example.dynakube.io "gone" deleted\n'
                             'configmap "gone" deleted\n')
    result = run("delete", "cm", "gone", "-n", "deleted", server=server)
    assert result.returncode == 1
    assert result.stderr == 'Error from server (NotFound): configmaps "gone" not found\n'
    assert call(server, "delete", "-f", str(manifest), "--ignore-not-found")[:2] == (0, "")
    for name in ("a", "b"):
        kube.resource("cm").create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": name, "namespace": "deleted", "labels": {"drop": "me"}}})
    code, out, _ = call(server, "delete", "cm", "-n", "deleted", "-l", "drop=me", "--dry-run")
    assert out == ('configmap "a" deleted (server dry run)\n'
                   'configmap "b" deleted (server dry run)\n')
    code, out, _ = call(server, "delete", "cm", "-n", "deleted", "-l", "drop=me")
    assert code == 0 and kube.resource("cm").list("deleted", label_selector="drop")["items"] == []
    assert call(server, "delete", "cm")[0] == 1  # a usage error: 1, as kubectl
    # a directory without manifests is an error for every verb that reads them
    (tmp_path / "empty").mkdir()
    for verb, what in (("delete", "no objects passed to delete"),
                       ("apply", "no objects passed to apply"),
                       ("validate", "no documents found to validate")):
        assert call(server, verb, "-f", str(tmp_path / "empty")) == (1, "", f"error: {what}\n")


def test_validate_checks_without_writing(server: Any, tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD.format(name="ok", ns="checked"))
    (tmp_path / "bad.yaml").write_text(BAD.format(ns="checked"))
    writes = server.requests.count(method="POST") + server.requests.count(method="PATCH")
    result = run("validate", "-f", str(tmp_path), server=server)
    assert result.returncode == 1
    bad = tmp_path / "bad.yaml"
    lines = result.stdout.splitlines()
    assert lines[0] == f'{bad}#1: ConfigMap "fine" is valid'
    assert lines[1] == f'{bad}#2: Widget "broken" is invalid'
    assert '  error: spec.size: unsupported value "huge"' in lines
    assert f'{tmp_path / "good.yaml"}#2: Widget "ok" is valid' in lines
    assert result.stderr == "error: 2 of 5 document(s) have problems\n"
    code, out, err = call(server, "validate", "-f", str(tmp_path / "good.yaml"))
    assert (code, err) == (0, "")
    code, out, err = call(server, "validate", "-f", str(bad), "--validate", "warn")
    assert code == 1 and "  warning: dta: unknown field 'dta'" in out
    assert server.requests.count(method="POST") + server.requests.count(method="PATCH") == writes


# -- --embedded, -v and the errors people meet --------------------------------------------

def test_embedded_server_runs_the_command() -> None:
    result = run("--embedded", "get", "widgets", "-n", "shop", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("widget.example.dynakube.io/alpha\n"
                             "widget.example.dynakube.io/beta\n")


def test_verbose_logs_requests_without_credentials(server: Any) -> None:
    result = run("-v", "get", "ns", "shop", server=server)
    assert result.returncode == 0
    assert re.search(r"GET http://127\.0\.0\.1:\d+/api/v1/namespaces/shop\S* 200", result.stderr)
    assert server.token not in result.stderr
    # in-process, the logging ends with the command: a later one logs nothing into it
    first = io.StringIO()
    assert main(["--kubeconfig", server.kubeconfig_path, "-v", "get", "ns", "shop"],
                stdout=io.StringIO(), stderr=first) == 0
    logged = first.getvalue()
    assert "/api/v1/namespaces/shop" in logged
    assert call(server, "get", "ns", "shop")[::2] == (0, "")
    assert first.getvalue() == logged


def test_a_reader_leaving_early_is_not_an_error(server: Any) -> None:
    """``dynakube get ... | head -1``: no traceback, no "Exception ignored" at exit."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)  # buffered stdout, as people run it
    proc = subprocess.Popen([sys.executable, "-m", "dynakube", "--kubeconfig",
                             server.kubeconfig_path, "get", "cm", "-A"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    proc.stdout.close()  # gone before the command writes a thing
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (0, "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_expected_errors_are_one_line_never_a_traceback(server: Any, tmp_path: Path) -> None:
    result = run("get", "widgetz", server=server)
    assert result.returncode == 1
    assert result.stderr == ('error: the server doesn\'t have a resource type "widgetz"\n'
                             "  note: did you mean 'widgets'?\n")
    result = run("--kubeconfig", str(tmp_path / "missing"), "get", "pods")
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "missing" in result.stderr and len(result.stderr.splitlines()) == 1

    garbled = tmp_path / "garbled"
    garbled.write_text("apiVersion: v1\nclusters: [\n")
    code, out, err = call(server, "--kubeconfig", str(garbled), "get", "pods")
    assert code == 1 and err.startswith("error: ") and "garbled" in err
    assert len(err.splitlines()) == 1

    refused = tmp_path / "refused"
    refused.write_text(Path(server.kubeconfig_path).read_text().replace(
        server.url, f"http://127.0.0.1:{_free_port()}"))
    result = run("--kubeconfig", str(refused), "get", "pods")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to http://127.0.0.1:")
    assert_no_traceback(result)

    readonly = tmp_path / "readonly"
    readonly.write_text(Path(server.kubeconfig_path).read_text().replace(
        server.token, server.forbidden_token))
    code, _, err = call(server, "--kubeconfig", str(readonly), "delete", "cm", "settings")
    assert code == 1 and err.startswith('Error from server (Forbidden): configmaps "settings" '
                                        "is forbidden: ")
    code, _, err = call(server, "--embedded", "get", "pods")
    assert code == 1 and "--embedded" in err


# -- failing closed, counting right, going on ----------------------------------------------

def _billion_laughs() -> str:
    """A ConfigMap whose nine nested aliases stand for 9**9 strings (the "billion laughs")."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: laughs", "data:",
             '  a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_validate_fails_on_an_alias_bomb(server: Any, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_billion_laughs())
    assert len(bomb.read_bytes()) < 600
    result = run("validate", "-f", str(bomb), server=server)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "valid" not in result.stdout
    assert_no_traceback(result)
    assert result.stderr.startswith(f"error: {bomb}#1: ")
    assert result.stderr.count(f"{bomb}#1") == 1  # named once, not twice
    assert result.stderr.endswith("error: 1 of 1 document(s) have problems\n")
    code, out, err = call(server, "apply", "-f", str(bomb))
    assert (code, out) == (1, "") and "nothing was applied: 1 of 1" in err


def test_validate_fails_closed_without_a_schema(kube_server_factory: Any,
                                                tmp_path: Path) -> None:
    """No OpenAPI v3 on the server: nothing can be checked, so nothing is called valid."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(GOOD.split("---")[0].format(name="plain", ns="default"))
    with kube_server_factory(openapi_v3=False) as bare, warnings.catch_warnings():
        warnings.simplefilter("default")  # as on a terminal: warnings are printed, no more
        code, out, err = call(bare, "validate", "-f", str(manifest))
        assert (code, out) == (1, "")
        errors = [line for line in err.splitlines() if not line.startswith("Warning: ")]
        assert errors == [f'error: {manifest}#1: ConfigMap "plain" cannot be validated: the '
                          "server publishes no schema for v1 ConfigMap",
                          "error: 1 of 1 document(s) have problems"]
        # apply leaves the check to the server then (fieldValidation), as kubectl does
        assert call(bare, "apply", "-f", str(manifest)) == (0, "configmap/plain created\n", "")


def test_validate_fails_on_objects_of_a_crd_not_served_yet(server: Any, tmp_path: Path) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gizmos.later.dynakube.io"},
           "spec": {"group": "later.dynakube.io", "scope": "Namespaced",
                    "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                        "openAPIV3Schema": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}}]}}
    import json

    manifest = tmp_path / "crd-and-cr.yaml"
    manifest.write_text(json.dumps(crd) + "\n---\napiVersion: later.dynakube.io/v1\n"
                        "kind: Gizmo\nmetadata:\n  name: g\n  namespace: checked\n")
    code, out, err = call(server, "validate", "-f", str(manifest))
    assert code == 1
    assert out == (f'{manifest}#1: CustomResourceDefinition "gizmos.later.dynakube.io" '
                   "is valid\n")
    assert err.startswith(f'error: {manifest}#2: Gizmo "g" cannot be validated yet: ')
    assert err.endswith("error: 1 of 2 document(s) have problems\n")


def test_a_yaml_error_in_one_document_is_counted_among_all(server: Any,
                                                           tmp_path: Path) -> None:
    docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: count-{i}\n"
            "  namespace: checked\n" for i in range(1, 6)]
    docs[2] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [count-3\n"
    manifest = tmp_path / "five.yaml"
    manifest.write_text("---\n".join(docs))
    code, out, err = call(server, "apply", "-f", str(manifest))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {manifest}#3: YAML does not parse at line ")
    assert err.endswith("error: nothing was applied: 1 of 5 document(s) have problems\n")
    code, out, err = call(server, "validate", "-f", "-", stdin=manifest.read_text())
    assert code == 1
    assert out.splitlines() == [f'<stdin>#{i}: ConfigMap "count-{i}" is valid'
                                for i in (1, 2, 4, 5)]
    assert err.startswith("error: <stdin>#3: YAML does not parse at line ")
    assert "<text>" not in err and err.count("#3") == 1
    assert err.endswith("error: 1 of 5 document(s) have problems\n")


def test_delete_from_files_goes_on_past_a_server_error(server: Any, kube: Any,
                                                       tmp_path: Path) -> None:
    manifest = tmp_path / "three.yaml"
    manifest.write_text("---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep-going-{i}\n"
        "  namespace: deleted\n" for i in range(3)))
    assert call(server, "apply", "-f", str(manifest))[0] == 0  # discovery is cached now
    deletes = server.requests.count(method="DELETE")
    server.faults.fail_next(1, status=500)  # the first DELETE (of the last document) fails
    code, out, err = call(server, "delete", "-f", str(manifest))
    assert server.requests.count(method="DELETE") == deletes + 3
    assert code == 1
    assert out == 'configmap "keep-going-1" deleted\nconfigmap "keep-going-0" deleted\n'
    assert err.startswith(f"Error from server (InternalError): {manifest}#3: ")
    assert len(err.splitlines()) == 1
    assert [c["metadata"]["name"] for c in kube.resource("cm").list("deleted")["items"]
            if c["metadata"]["name"].startswith("keep-going-")] == ["keep-going-2"]
    # a document that names nothing the server serves is reported, and the rest deleted
    manifest.write_text(manifest.read_text() + "---\napiVersion: nowhere.dynakube.io/v1\n"
                        "kind: Phantom\nmetadata:\n  name: boo\n")
    code, out, err = call(server, "delete", "-f", str(manifest), "--ignore-not-found")
    assert code == 1
    assert out == 'configmap "keep-going-2" deleted\n'
    assert err.startswith(f"error: {manifest}#4: ") and "Phantom" in err
