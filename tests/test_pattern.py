"""LazyPattern: a regular expression compiled on its first use, then used as compiled."""

from __future__ import annotations

import re

import pytest

from dynakube._pattern import LazyPattern


def test_nothing_is_compiled_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda p, f=0: compiled.append(p) or real(p, f))
    pattern = LazyPattern(r"^v(\d+)$")
    assert compiled == []
    assert pattern.match("v12")[1] == "12"  # type: ignore[index]
    assert pattern.fullmatch("x") is None and pattern.sub("#", "v1") == "#"
    assert compiled == [r"^v(\d+)$"]  # once, whatever is used after


def test_it_answers_as_the_compiled_pattern() -> None:
    text = "a---\n---  # two\nb\n"
    lazy, real = LazyPattern(r"^---[ \t]*(?:#.*)?$", re.MULTILINE), re.compile(
        r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.split(text) == real.split(text) and lazy.groups == real.groups == 0
    assert "LazyPattern" in repr(LazyPattern("x"))


def test_a_bad_pattern_fails_where_it_is_first_used() -> None:
    broken = LazyPattern("(")
    with pytest.raises(re.error):
        broken.search("x")
    with pytest.raises(AttributeError):
        broken.__wrapped__  # noqa: B018 (dunder lookups never compile)
