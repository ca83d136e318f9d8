"""Applying manifests: every document read before any is sent, bounded, counted right.

YAML is hostile input: aliases can stand for billions of nodes, a syntax error can hide the
documents after it, and a key given twice silently wins. These go over the real wire to the
embedded server (or a cluster, for tests that only take ``kube``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from dynakube import errors
from dynakube.apply import MAX_ALIAS_NODES, MAX_DOCUMENT_NODES, load_documents
from dynakube.client import Client


def _cm(name: str, extra: str = "") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}"


def _bomb(levels: int) -> str:
    """The billion laughs: each level's list holds nine aliases of the level below."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "data:\n" + "\n".join("  " + line for line in lines) + "\n"


# -- alias bombs and node counts ------------------------------------------------------------

def test_an_alias_bomb_is_refused_while_composing_and_named() -> None:
    bomb = _bomb(7)  # ~500 bytes standing for 9**8 (43 million) nodes
    assert len(bomb) < 600 and 9 ** 8 > MAX_ALIAS_NODES
    text = "\n---\n".join([_cm("before"), _cm("bomb", bomb), _cm("after")])
    docs, failures = load_documents(text)
    assert [d.obj["metadata"]["name"] for d in docs] == ["before", "after"]
    assert [s for s, _ in failures] == ["<text>#2"]
    error = failures[0][1]
    assert isinstance(error, errors.ManifestError) and isinstance(error,
                                                                 errors.InvalidArgumentError)
    assert error.source == "<text>#2"
    assert "alias" in str(error) and f"{MAX_ALIAS_NODES:,}" in str(error)


def test_kube_apply_of_an_alias_bomb_is_an_apply_error_and_the_rest_still_go(
        kube: Client) -> None:
    # 9**7 nodes: past the bound, yet small enough that a regression fails, not swaps
    text = "\n---\n".join([_cm("bomb-neighbour"), _cm("bomb", _bomb(6))])
    with pytest.raises(errors.ApplyError) as info:
        kube.apply(text)
    assert [(f.source, type(f.error)) for f in info.value.failures] == [
        ("<text>#2", errors.ManifestError)]
    assert [r["metadata"]["name"] for r in info.value.results] == ["bomb-neighbour"]


def test_aliases_within_the_bounds_still_load() -> None:
    text = _cm("shared", "data: &d {a: '1'}\nbinaryData: {}\n") + (
        "---\n" + _cm("merged", "data:\n  <<: &base {a: '1', b: '2'}\n  b: '3'\n"))
    docs, failures = load_documents(text)
    assert failures == []
    assert docs[0].obj["data"] == {"a": "1"}
    assert docs[1].obj["data"] == {"a": "1", "b": "3"}  # a merge key is no duplicate


def test_many_small_bombs_share_one_budget_per_source() -> None:
    # each document alone stays under the per-document bound; together they do not
    one = _bomb(4)  # 9**5 = 59,049 nodes through aliases
    count = MAX_ALIAS_NODES // 9 ** 5 + 2
    assert 9 ** 5 < MAX_DOCUMENT_NODES
    docs, failures = load_documents("\n---\n".join(_cm(f"b{i}", one) for i in range(count)))
    assert len(docs) + len(failures) == count
    assert failures and all(isinstance(e, errors.ManifestError) for _, e in failures)
    assert failures[0][0] == f"<text>#{len(docs) + 1}"


def test_a_self_referencing_alias_is_refused() -> None:
    docs, failures = load_documents(_cm("loop", "data: &loop\n  x: *loop\n"))
    assert docs == []
    assert [s for s, _ in failures] == ["<text>#1"]
    assert "contains it" in str(failures[0][1])


# -- syntax errors do not hide the other documents --------------------------------------------

def _five_with_a_broken_third() -> str:
    parts = [_cm("doc-1"), _cm("doc-2"), "apiVersion: v1\nkind: [ConfigMap\nmetadata: {}\n",
             _cm("doc-4"), _cm("doc-5")]
    return "---\n".join(parts)


def test_a_yaml_error_in_document_3_of_5_counts_all_five() -> None:
    docs, failures = load_documents(_five_with_a_broken_third())
    assert [d.source for d in docs] == ["<text>#1", "<text>#2", "<text>#4", "<text>#5"]
    assert [s for s, _ in failures] == ["<text>#3"]
    assert len(docs) + len(failures) == 5
    # the line is the file's (document 3 starts on line 11), not the document's
    assert "line 13, column 9" in str(failures[0][1])


def test_kube_apply_with_a_yaml_error_in_document_3_applies_and_reports_the_rest(
        kube: Client) -> None:
    with pytest.raises(errors.ApplyError) as info:
        kube.apply(_five_with_a_broken_third())
    assert [f.source for f in info.value.failures] == ["<text>#3"]
    assert [r["metadata"]["name"] for r in info.value.results] == [
        "doc-1", "doc-2", "doc-4", "doc-5"]
    assert kube.resource("configmaps").get("doc-5")


def test_stop_on_error_sends_nothing_when_a_document_does_not_parse(kube: Client) -> None:
    with pytest.raises(errors.ApplyError) as info:
        kube.apply(_five_with_a_broken_third(), stop_on_error=True)
    assert info.value.results == []
    with pytest.raises(errors.NotFoundError):
        kube.resource("configmaps").get("doc-1")


def test_documents_are_numbered_as_yaml_numbers_them() -> None:
    text = ("# a comment is no document\n---\n" + _cm("one") + "---\n---\n" + _cm("three")
            + "--- # a separator with a comment\n" + _cm("four"))
    docs, failures = load_documents(text)
    assert failures == []
    assert [d.source for d in docs] == ["<text>#1", "<text>#3", "<text>#4"]


def test_a_file_names_its_documents_by_path(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(_five_with_a_broken_third())
    docs, failures = load_documents(path)
    assert [s for s, _ in failures] == [f"{path}#3"]
    assert str(failures[0][1]).startswith(f"{path}#3: YAML does not parse at line 13")
    assert len(docs) == 4


# -- duplicate keys ----------------------------------------------------------------------------

def test_a_duplicate_key_warns_naming_the_key_line_and_document() -> None:
    text = _cm("first") + "---\n" + _cm("dup", "data:\n  a: '1'\n  a: '2'\n")
    with pytest.warns(errors.ManifestWarning) as record:
        docs, failures = load_documents(text)
    assert failures == []
    assert docs[1].obj["data"] == {"a": "2"}  # the last value wins, as in kubectl
    assert [str(w.message) for w in record] == [
        '<text>#2: line 12: key "a" already set in map (at line 11); the last value is used']


def test_kube_apply_warns_on_a_duplicate_key_and_applies_the_last_value(kube: Client) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n  name: once\n"
    with pytest.warns(errors.ManifestWarning, match='key "name" already set in map'):
        results = kube.apply(text)
    assert [r["metadata"]["name"] for r in results] == ["once"]


def test_the_same_key_in_different_mappings_is_no_duplicate() -> None:
    text = _cm("fine", "data:\n  name: x\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs, _ = load_documents(text)
    assert docs[0].obj["data"] == {"name": "x"}


# -- a validator that cannot validate says so ---------------------------------------------------

def _deep_crd(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "deeps.example.dynakube.io"},
            "spec": {"group": "example.dynakube.io", "scope": "Namespaced",
                     "names": {"plural": "deeps", "kind": "Deep"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}}],
                     "unknown": 1}}


def test_validation_that_cannot_run_is_an_error_never_valid(kube: Client) -> None:
    problems = kube.validate(_deep_crd(600))  # deeper than the validator can follow
    assert [p.severity for p in problems] == ["error"]
    assert "could not be validated" in problems[0].message
    assert "validate=False" in problems[0].message
    with pytest.raises(errors.ValidationError, match="could not be validated"):
        kube.validate(_deep_crd(600), raise_errors=True)
