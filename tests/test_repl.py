"""``dynakube repl``: driven through its stdin, and its completion of resource names."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dynakube.cli.repl import Console, ResourceCompleter, banner, repl_namespace
from dynakube.errors import NotFoundError


def test_repl_reads_python_from_stdin(seeded_server: Any) -> None:
    script = "\n".join([
        "kube.namespace",
        'w = kube.resource("wd")',
        'sorted(o["metadata"]["name"] for o in w.list(namespace=ALL)["items"])',
        '"widgets" in dir(kube.resources), "configmaps" in dir(kube.resources)',
        "1/0",
        "print('still here')",
        "",
    ])
    result = subprocess.run(
        [sys.executable, "-m", "dynakube", "--kubeconfig", seeded_server.kubeconfig_path,
         "-n", "shop", "repl"], input=script, capture_output=True, text=True, timeout=120,
        env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert "'shop'" in result.stdout
    assert "['alpha', 'beta', 'gamma']" in result.stdout
    assert "(True, True)" in result.stdout
    assert "still here" in result.stdout
    # the banner says where the console is connected; a user's error is shown, not fatal
    assert f"server {seeded_server.url}, context dynakube-embedded, namespace shop" in result.stderr
    assert "ZeroDivisionError" in result.stderr


def test_completion_of_attributes_and_quoted_names(seeded_server: Any, tmp_path: Path) -> None:
    with seeded_server.client(cache_dir=str(tmp_path)) as kube:
        namespace = repl_namespace(kube)
        line = [""]
        completer = ResourceCompleter(namespace, kube, lambda: line[0])

        def all_matches(text: str) -> list[str]:
            out: list[str] = []
            while (match := completer.complete(text, len(out))) is not None:
                out.append(match)
            return out

        assert "kube.resources.widgets" in all_matches("kube.resources.wid")
        assert "kube.resources.deployments" in all_matches("kube.resources.dep")
        line[0] = 'kube.resource("'
        assert all_matches("wid") == ["widget", "widgets", "widgets.example.dynakube.io"]
        line[0] = "kube.resources['"
        assert "configmaps" in all_matches("config")
        assert "Widget" in all_matches("Wi")
        text = banner(kube)
        assert kube.config.server in text and "dynakube-embedded" in text


def _console(kube: Any) -> tuple[Any, io.StringIO, io.StringIO]:
    """A console bound to ``kube`` whose results and errors are captured."""
    out, err = io.StringIO(), io.StringIO()
    console = Console(repl_namespace(kube), kube, out)
    console.write = err.write  # type: ignore[method-assign,assignment]
    return console, out, err


def test_objects_show_as_yaml_without_managed_fields(seeded_server: Any,
                                                     tmp_path: Path) -> None:
    with seeded_server.client(cache_dir=str(tmp_path)) as kube:
        console, out, _ = _console(kube)
        console.push('w = kube.resource("widgets").get("alpha", "shop")')
        console.push("w")
        shown = out.getvalue()
        live = kube.resource("widgets").get("alpha", "shop")
        assert live["metadata"].get("managedFields")  # the server keeps them; not shown
        assert "managedFields" not in shown
        assert shown.startswith("apiVersion: example.dynakube.io/v1\n")
        assert "  name: alpha\n" in shown and "  namespace: shop\n" in shown
        out.truncate(0)
        out.seek(0)
        console.push('"plain"')  # anything else: as Python shows it
        assert out.getvalue() == "'plain'\n"


def test_a_list_shows_as_kubectls_table(seeded_server: Any, tmp_path: Path) -> None:
    with seeded_server.client(cache_dir=str(tmp_path)) as kube:
        console, out, _ = _console(kube)
        console.push('kube.resource("widgets").list(namespace="shop")')
        lines = out.getvalue().splitlines()
        assert lines[0].split() == ["NAME", "SIZE", "REPLICAS", "AGE"]
        assert [line.split()[:3] for line in lines[1:]] == [["alpha", "small", "1"],
                                                            ["beta", "large", "12"]]
        assert lines[0].index("SIZE") == lines[1].index("small")  # columns line up
        out.truncate(0)
        out.seek(0)
        console.push('kube.resource("widgets").list(namespace=ALL)')
        lines = out.getvalue().splitlines()
        assert lines[0].split()[:2] == ["NAMESPACE", "NAME"] and len(lines) == 4


def test_an_error_is_one_line_and_the_traceback_one_command_away(
        seeded_server: Any, tmp_path: Path) -> None:
    with seeded_server.client(cache_dir=str(tmp_path)) as kube:
        console, _, err = _console(kube)
        console.push('kube.resource("widgets").get("nope", "shop")')
        line = err.getvalue()
        assert line.count("\n") == 1 and line.startswith("NotFoundError: ")
        assert '"nope" not found' in line and "%tb" in line
        assert isinstance(kube.last_error, NotFoundError)
        err.truncate(0)
        err.seek(0)
        console.push("%tb")
        traceback = err.getvalue()
        assert traceback.startswith("Traceback (most recent call last):")
        assert traceback.rstrip().splitlines()[-1].startswith("dynakube.errors.NotFoundError")
        err.truncate(0)
        err.seek(0)
        console.push('kube.resource("gizmos")')  # the hint (did you mean) on the same line
        assert err.getvalue().count("\n") == 1


def test_ipython_shows_results_and_errors_the_same_way(
        seeded_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from dynakube.cli.repl import setup_ipython

    with seeded_server.client(cache_dir=str(tmp_path)) as kube:
        shell = InteractiveShell.instance(user_ns=repl_namespace(kube))
        try:
            setup_ipython(shell, kube)
            shown = shell.display_formatter.format(
                kube.resource("widgets").get("alpha", "shop"))[0]["text/plain"]
            assert shown.startswith("apiVersion: example.dynakube.io/v1")
            assert "managedFields" not in shown
            with pytest.raises(NotFoundError) as caught:
                kube.resource("widgets").get("nope", "shop")
            error = caught.value
            shell.run_cell('kube.resource("widgets").get("nope", "shop")')
            assert capsys.readouterr().err == f"NotFoundError: {error}  (%tb: traceback)\n"
            assert isinstance(kube.last_error, NotFoundError)
            assert kube.last_error is not error  # the one the cell raised
        finally:
            InteractiveShell.clear_instance()
