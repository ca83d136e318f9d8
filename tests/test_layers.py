"""The layer contract, checked by a machine (kopf's ``.importlinter`` is the model).

Every module of the package is read with ``ast`` (subpackages and imports inside functions
included) into a graph of which module imports which. The graph must have no cycle, every
import must point down (or sideways inside one layer) in ``LAYERS``, only the layers named in
``EMBEDDED_SERVER_USERS`` may import the embedded server, and only ``transport/http.py`` may
import ``requests``. Imports under ``if TYPE_CHECKING:`` count like any other: a type hint that
needs a higher layer is a sign that the lower one wants a ``Protocol`` instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dynakube"

# Lowest first; a module may import its own layer and any below it, never one above.
# Layers in one tuple are peers: neither may import the other. The schema layer sits above
# discovery because it reads the registry's pure ``ResourceInfo`` (``explain`` names fields of
# a resolved resource); discovery never needs schemas.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("base",),
    ("config",),
    ("transport",),
    ("discovery",),
    ("schema",),
    ("controller",),
    ("client",),
    ("apiserver",),
    ("testing",),
    ("cli",),
    ("main",),
)

# Which layer each module is in: the first prefix that matches (longest first).
LAYER_OF_PREFIX = {
    "dynakube.__main__": "main",
    "dynakube.config": "config",
    "dynakube.transport": "transport",
    "dynakube.schema": "schema",
    "dynakube.discovery": "discovery",
    "dynakube.controller": "controller",
    "dynakube.watch": "controller",
    "dynakube.client": "client",
    "dynakube.resource": "client",
    "dynakube.apply": "client",
    "dynakube.aio": "client",
    "dynakube.apiserver": "apiserver",
    "dynakube.testing": "testing",
    "dynakube.cli": "cli",
    # the facade (``dynakube/__init__``) loads the client's names lazily; the REPL binds it
    "dynakube": "client",
}
BASE = {"dynakube._version", "dynakube._record", "dynakube._pattern", "dynakube.errors",
        "dynakube.request", "dynakube.meta", "dynakube.watchevent", "dynakube.backoff",
        "dynakube.cache", "dynakube.selector", "dynakube.deprecation", "dynakube.jsonpath",
        "dynakube.mergepatch", "dynakube.channels", "dynakube.bulkjson"}
EMBEDDED_SERVER_USERS = {"apiserver", "testing", "cli", "main"}
ONLY_REQUESTS_IMPORTER = "dynakube.transport.http"

Graph = Mapping[str, Iterable[str]]


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    for prefix in sorted(LAYER_OF_PREFIX, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYER_OF_PREFIX[prefix]
    raise AssertionError(f"{module} is in no layer: add it to LAYER_OF_PREFIX or BASE")


def _rank(layer: str) -> int:
    return next(i for i, peers in enumerate(LAYERS) if layer in peers)


# -- reading the package ------------------------------------------------------------------

def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in package.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts).removesuffix(".__init__")] = path
    return out


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """Every module ``module`` imports, anywhere in its text; package-internal ones resolved."""
    known = set(known)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return found


def package_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, path, files) for name, path in files.items()}


# -- the rules (pure functions over a graph, so a synthetic graph can test them) ----------

def cycles(graph: Graph) -> list[list[str]]:
    """Each import cycle among the graph's own modules, once (Tarjan's strongly connected sets)."""
    nodes = set(graph)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(set(graph.get(node, ())) & nodes):
            if nxt == node:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def layer_violations(graph: Graph) -> list[str]:
    """Imports that point up the layers, between peers, or into the embedded server."""
    bad = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module)
        for target in sorted(set(targets)):
            if target not in graph or target == module:
                continue
            there = layer_of(target)
            if there in ("apiserver", "testing") and here not in EMBEDDED_SERVER_USERS:
                bad.append(f"{module} imports the embedded server ({target})")
            elif _rank(there) > _rank(here):
                bad.append(f"{module} ({here}) imports {target} ({there}), a higher layer")
            elif _rank(there) == _rank(here) and there != here:
                bad.append(f"{module} ({here}) imports its peer {target} ({there})")
    return bad


def requests_importers(graph: Graph) -> list[str]:
    return sorted(m for m, targets in graph.items() if m != ONLY_REQUESTS_IMPORTER
                  and any(t == "requests" or t.startswith("requests.") for t in targets))


# -- the package keeps the contract ---------------------------------------------------------

def test_the_package_has_no_import_cycle() -> None:
    assert cycles(package_graph()) == []


def test_every_import_points_down_the_layers() -> None:
    assert layer_violations(package_graph()) == []


def test_only_transport_http_imports_requests() -> None:
    assert requests_importers(package_graph()) == []


def test_every_module_is_in_a_layer() -> None:
    for module in package_graph():
        layer_of(module)


def test_lazy_and_type_checking_imports_are_seen() -> None:
    graph = package_graph()
    assert "dynakube.client" in graph["dynakube"]  # the facade's lazy table is real imports
    assert "requests" in graph[ONLY_REQUESTS_IMPORTER]


# -- the checker itself fails on wrong graphs ---------------------------------------------

def test_a_cycle_is_found() -> None:
    graph = {"dynakube.cli.a": {"dynakube.cli.b"}, "dynakube.cli.b": {"dynakube.cli.c"},
             "dynakube.cli.c": {"dynakube.cli.a"}, "dynakube.cli.d": {"dynakube.cli.a"}}
    assert cycles(graph) == [["dynakube.cli.a", "dynakube.cli.b", "dynakube.cli.c"]]
    assert cycles({"dynakube.errors": {"dynakube.errors"}}) == []


@pytest.mark.parametrize(("importer", "imported", "why"), [
    ("dynakube.transport.http", "dynakube.client", "a higher layer"),
    ("dynakube.config.load", "dynakube.transport.http", "a higher layer"),
    ("dynakube.discovery.loader", "dynakube.schema.store", "a higher layer"),
    ("dynakube.errors", "dynakube.config.load", "a higher layer"),
    ("dynakube.client", "dynakube.apiserver.seed", "embedded server"),
    ("dynakube.controller.informer", "dynakube.testing.pytest_plugin", "embedded server"),
])
def test_a_wrong_import_is_refused(importer: str, imported: str, why: str) -> None:
    graph: dict[str, set[str]] = {importer: {imported}, imported: set()}
    problems = layer_violations(graph)
    assert len(problems) == 1 and why in problems[0]


def test_peers_may_not_import_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "LAYERS", (("base",), ("client", "controller")))
    problems = layer_violations({"dynakube.client": {"dynakube.controller.store"},
                                 "dynakube.controller.store": set()})
    assert problems == ["dynakube.client (client) imports its peer dynakube.controller.store "
                        "(controller)"]


@pytest.mark.parametrize(("importer", "imported"), [
    ("dynakube.cli.app", "dynakube.apiserver.server"),
    ("dynakube.testing.pytest_plugin", "dynakube.apiserver.server"),
    ("dynakube.client", "dynakube.controller.informer"),
    ("dynakube.controller.reflector", "dynakube.watch"),
    ("dynakube.transport.http", "dynakube.config.load"),
    ("dynakube.resource", "dynakube.errors"),
])
def test_a_right_import_passes(importer: str, imported: str) -> None:
    assert layer_violations({importer: {imported}, imported: set()}) == []


def test_requests_outside_the_transport_is_refused() -> None:
    graph = {"dynakube.discovery.loader": {"requests.adapters"},
             ONLY_REQUESTS_IMPORTER: {"requests"}}
    assert requests_importers(graph) == ["dynakube.discovery.loader"]


def test_imports_inside_functions_and_type_checking_are_read(tmp_path: Path) -> None:
    pkg = tmp_path / "dynakube"
    (pkg / "controller").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "controller" / "__init__.py").write_text("")
    (pkg / "controller" / "store.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..client import Client\n"
        "def f():\n    from ..cli import app\n    import requests\n")
    files = module_files(pkg)
    found = imports_of("dynakube.controller.store", files["dynakube.controller.store"], files)
    assert {"dynakube.client", "dynakube.cli", "requests"} <= found
    graph = {"dynakube.controller.store": found, "dynakube.client": set(), "dynakube.cli": set()}
    assert len(layer_violations(graph)) == 2
