"""``dynakube repl``: driven through its stdin, and its completion of resource names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from dynakube.cli.repl import ResourceCompleter, banner, repl_namespace


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
