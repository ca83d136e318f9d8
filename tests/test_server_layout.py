"""The floor plan inside the embedded server: http → verbs → rules → merge → call → storage /
kinds, with ``objects.py`` and ``status.py`` at the bottom (issue 14).

The package-wide contract (``test_layers.py``) keeps the server above the client; this keeps
its own sub-packages in order, so that a kind rule never reaches back into a verb, nor a verb
into the HTTP handler. It reads the same ``ast`` graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest
from test_layers import package_graph

PREFIX = "dynakube.apiserver"

# Lowest first; a module may import its own tier and those below it. The top tier is the
# product face (ApiServer, serve, seed, tlsfiles, the package itself).
TIERS: tuple[tuple[str, ...], ...] = (
    ("status",),
    ("kinds",),
    ("objects", "storage"),
    ("call", "yamlbody"),
    ("merge",),
    ("rules",),
    ("verbs",),
    ("http",),
    ("", "server", "serve", "seed", "tlsfiles", "__main__"),
)


def tier_of(module: str) -> int:
    rest = module.removeprefix(PREFIX).lstrip(".")
    head = rest.split(".", 1)[0]
    for rank, names in enumerate(TIERS):
        if head in names:
            return rank
    raise AssertionError(f"{module} is in no tier of the embedded server: add it to TIERS")


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Each import inside the server that points to a higher tier."""
    found = []
    for module, targets in sorted(graph.items()):
        if not module.startswith(PREFIX):
            continue
        for target in sorted(targets):
            if target.startswith(PREFIX + ".") and tier_of(target) > tier_of(module):
                found.append(f"{module} imports {target}")
    return found


def test_the_server_imports_only_downwards() -> None:
    assert upward_imports(package_graph()) == []


@pytest.mark.parametrize(("module", "target"), [
    ("dynakube.apiserver.rules.validating", "dynakube.apiserver.verbs.crud"),
    ("dynakube.apiserver.http.openapi", "dynakube.apiserver.server"),
    ("dynakube.apiserver.storage.store", "dynakube.apiserver.call"),
])
def test_an_upward_import_is_caught(module: str, target: str) -> None:
    assert upward_imports({module: {target}}) == [f"{module} imports {target}"]


def test_the_testing_package_is_only_the_pytest_face() -> None:
    modules = {m for m in package_graph() if m.startswith("dynakube.testing")}
    assert modules == {"dynakube.testing", "dynakube.testing.__main__",
                       "dynakube.testing.pytest_plugin"}
