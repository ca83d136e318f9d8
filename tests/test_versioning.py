"""Versioning: one version string everywhere, and the deprecation policy's helpers."""

from __future__ import annotations

import configparser
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import dynakube
from dynakube.deprecation import deprecated, renamed_parameter
from dynakube.transport import USER_AGENT

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_one_string_from_source_to_installed_metadata() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert parser["metadata"]["version"] == "attr: dynakube._version.__version__"
    assert dynakube.__version__ == metadata.version("dynakube")
    assert USER_AGENT.startswith(f"dynakube/{dynakube.__version__} python/")


def test_changelog_has_an_unreleased_section_and_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert f"## [{dynakube.__version__}]" in text


def test_deprecated_function_still_works_and_names_its_replacement() -> None:
    @deprecated(since="0.2", replacement="new_thing()")
    def old_thing(x: int) -> int:
        return x + 1

    with pytest.warns(DeprecationWarning, match=r"old_thing\(\) is deprecated since "
                                                r"dynakube 0.2; use new_thing\(\) instead"):
        assert old_thing(1) == 2


def test_renamed_parameter_accepts_the_old_name_with_a_warning() -> None:
    @renamed_parameter("chunk", "chunk_size", since="0.2")
    def page(*, chunk_size: int = 1) -> int:
        return chunk_size

    assert page(chunk_size=3) == 3
    with pytest.warns(DeprecationWarning, match="'chunk' argument"):
        assert page(chunk=5) == 5
    with pytest.raises(TypeError):
        page(chunk=1, chunk_size=2)


def test_names_removed_from_use_still_work_with_a_deprecation_warning(kube: Any) -> None:
    """0.1.0's public names keep working for a minor release (the README's policy)."""
    from dynakube.watch import WatchDecoder

    with pytest.warns(DeprecationWarning, match="WatchDecoder"):
        decoder = WatchDecoder()
    events = decoder.feed(b'{"type":"ADDED","object":{"kind":"X"}}\n{"type":"DEL')
    events += decoder.feed(b'ETED","object":{"kind":"X"}}')
    events += decoder.finish()
    assert [e.type for e in events] == ["ADDED", "DELETED"]

    informer = kube.informer("configmaps")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}
    with pytest.warns(DeprecationWarning, match="resource_version"):
        informer.replace([cm], "12")
    assert informer.store.keys() == ["n/a"]


def test_every_moved_module_path_still_imports_with_a_warning() -> None:
    """0.1.0's module paths give the module at its new home, and say where that is."""
    import importlib
    import sys

    moved = dynakube._MOVED  # type: ignore[attr-defined]
    assert "dynakube.workqueue" in moved and "dynakube.testing.seed" in moved
    for old, new in moved.items():
        sys.modules.pop(old, None)
        with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated .* use {new}"):
            module = importlib.import_module(old)
        assert module is importlib.import_module(new), old
        assert module.__all__, old


def test_a_moved_path_warns_at_the_importing_line() -> None:
    import sys

    sys.modules.pop("dynakube.workqueue", None)
    with pytest.warns(DeprecationWarning) as caught:
        import dynakube.workqueue  # noqa: F401
    assert caught[0].filename == __file__
