"""``dynakube tour``: end to end on its own embedded server, and on a given cluster."""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dynakube.cli.tour import NAMESPACE, run_tour
from dynakube.errors import NotFoundError, UnknownResourceError


def test_tour_runs_end_to_end_without_a_cluster() -> None:
    result = subprocess.run([sys.executable, "-m", "dynakube", "tour"], capture_output=True,
                            text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    steps = [line for line in out.splitlines() if line.startswith("== ")]
    assert [s.split()[1] for s in steps[:10]] == [f"{i}/10" for i in range(1, 11)]
    assert steps[-1] == "== The same, in Python =="
    # discovery, then the CRD appearing in it
    assert "Before: the server does not serve a resource called 'widgets'" in out
    assert "After:  widgets.example.dynakube.io is served: kind Widget" in out
    assert "example.dynakube.io/v1beta1 is served too, deprecated" in out
    assert "In category 'gadgets': widgets.example.dynakube.io" in out
    # a created widget, shown with the CRD's printer columns
    assert "the server defaulted spec.replicas to 1" in out
    # validation stopped the bad one with the exact field and reason, and nothing was sent
    assert "dynakube.errors.ValidationError: 3 problem(s):" in out
    assert 'spec.size: unsupported value "huge"' in out
    assert "spec.replicas: invalid value 500: must be at most 100" in out
    assert "spec.colour: unknown field 'colour' (did you mean 'color'?)" in out
    assert "The server never saw it" in out
    # the YAML file applied, the watch events, the explained field, the Python
    assert "widget.example.dynakube.io/epsilon serverside-applied" in out
    events = [line.split()[:3] for line in out.splitlines()
              if line.strip().startswith(("ADDED", "MODIFIED", "DELETED"))]
    assert events == [["MODIFIED", "widget", "demo"], ["ADDED", "widget", "zeta"],
                      ["DELETED", "widget", "zeta"]]
    # the wait saw the scale happen; the diff showed it without changing anything
    assert "widget.example.dynakube.io/demo condition met (after" in out
    assert "-  replicas: 12\n    +  replicas: 20\n" in out
    assert "Nothing was changed: epsilon still has 12 replicas." in out
    assert "replicas <integer>" in out and "How many copies to run." in out
    assert 'kube.resource("customresourcedefinitions").apply(WIDGET_CRD)' in out


def test_tour_on_a_given_cluster_cleans_up_after_itself(tmp_path: Path) -> None:
    from dynakube.testing import ApiServer

    with ApiServer() as server, server.client(cache_dir=str(tmp_path)) as kube:
        out = io.StringIO()
        assert run_tour(kube, out=out, embedded=False) == 0
        assert f"against {server.url}." in out.getvalue()
        assert f"Cleaned up: deleted namespace {NAMESPACE}." in out.getvalue()
        assert "deleted CustomResourceDefinition widgets.example.dynakube.io" in out.getvalue()
        kube.invalidate()
        with pytest.raises(UnknownResourceError):
            kube.resource("widgets")


def test_cleanup_removes_the_crd_even_when_the_namespace_is_gone(tmp_path: Path) -> None:
    from dynakube.apiserver.seed import WIDGET_CRD
    from dynakube.cli.tour import _Tour
    from dynakube.testing import ApiServer

    with ApiServer() as server, server.client(cache_dir=str(tmp_path)) as kube:
        crds = kube.resource("customresourcedefinitions")
        crds.apply(copy.deepcopy(WIDGET_CRD), field_manager="test")
        out = io.StringIO()
        _Tour(kube, out).cleanup(created_crd=True)  # namespace dynakube-tour never existed
        assert out.getvalue() == ("\nCleaned up: deleted CustomResourceDefinition "
                                  "widgets.example.dynakube.io.\n")
        with pytest.raises(NotFoundError):
            crds.get("widgets.example.dynakube.io")


def test_the_python_the_tour_prints_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from dynakube.apiserver.seed import TOUR_MANIFEST
    from dynakube.cli.tour import PYTHON_STEPS
    from dynakube.testing import ApiServer

    (tmp_path / "tour.yaml").write_text(TOUR_MANIFEST)
    monkeypatch.chdir(tmp_path)
    code = PYTHON_STEPS.replace("kube = dynakube.Client()", "kube = given  #")
    code = code.replace("timeout=10", "timeout=1")  # nothing changes after the list
    assert code != PYTHON_STEPS
    with ApiServer() as server, server.client(cache_dir=str(tmp_path / "cache")) as given:
        exec(compile(code, "<tour python>", "exec"), {"given": given})
        assert given.resource("widgets").get("delta", NAMESPACE)["spec"]["size"] == "medium"
    printed = capsys.readouterr().out
    assert "spec.size" in printed and "How many copies to run." in printed
