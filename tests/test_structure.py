"""The architecture, checked by a machine: layering, the public surface, lint and types."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dynakube"

# Pure modules: no I/O libraries, no sockets, no subprocesses, no transport.
PURE = ("discovery/registry", "discovery/documents", "request", "meta", "selector", "backoff",
        "watchevent", "controller/store", "controller/workqueue", "controller/retry", "errors",
        "transport/ratelimit", "schema/openapi", "jsonpath", "mergepatch", "channels",
        "bulkjson")
IO_MODULES = {"requests", "urllib3", "socket", "subprocess", "http", "urllib.request"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(base + a.name if node.module is None else f"{base}.{a.name}"
                         for a in node.names)
    return names


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io(name: str) -> None:
    path = PACKAGE / f"{name}.py"
    assert path.exists(), f"{name}.py is listed as pure but does not exist"
    imported = _imports(path)
    bad = {n for n in imported if any(n == m or n.startswith(m + ".") for m in IO_MODULES)}
    bad |= {n for n in imported if n.lstrip(".").startswith(("transport", "client"))
            and not n.lstrip(".").startswith("transport.ratelimit")}
    assert bad == set()


def test_import_dynakube_stays_light() -> None:
    code = ("import sys, dynakube; heavy = {'requests', 'yaml', 'jsonschema', 'urllib3'} "
            "& set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_sync_client_does_not_import_what_only_streams_or_asyncio_need() -> None:
    """``asyncio`` alone costs about 30 ms: only ``dynakube.aio`` may bring it in."""
    code = ("import sys, dynakube; dynakube.Client; dynakube.Client.resource; "
            "print(sorted({'asyncio', 'wsproto', 'h11', 'tarfile'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_module_declares_all() -> None:
    missing = []
    for path in _modules():
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        if not hasattr(module, "__all__"):
            missing.append(name)
            continue
        for attr in module.__all__:
            assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which is missing"
    assert missing == []


def test_top_level_names_resolve() -> None:
    import dynakube

    for name in dynakube.__all__:
        assert getattr(dynakube, name) is not None


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "dynakube", "tests", "bench"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
