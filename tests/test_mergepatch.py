"""The pure three-way patches of client-side apply, case by case (strategicpatch's rules).

Each case states what apimachinery's ``CreateThreeWayMergePatch`` (or
``CreateThreeWayJSONMergePatch``) gives for an original (last applied), a modified (the new
file) and a current (live) document; the schema is a small table of patch strategies.
tests/test_kubectl_apply.py proves the same against kubectl itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynakube.errors import InvalidArgumentError
from dynakube.mergepatch import (
    LAST_APPLIED,
    NO_SCHEMA,
    PatchMeta,
    PatchSchema,
    go_json,
    modified_configuration,
    original_configuration,
    three_way_merge_patch,
    three_way_strategic_patch,
)


class TableSchema:
    """Patch metadata from ``{"spec.containers": ("merge", "name"), ...}`` (items transparent)."""

    def __init__(self, table: dict[str, tuple[str, str]], path: str = ""):
        self.table = table
        self.path = path

    def lookup(self, key: str) -> tuple[PatchMeta, PatchSchema]:
        path = f"{self.path}.{key}" if self.path else key
        strategy, merge_key = self.table.get(path, ("", ""))
        return PatchMeta(tuple(strategy.split(",")) if strategy else (), merge_key), \
            TableSchema(self.table, path)


POD = TableSchema({
    "spec.containers": ("merge", "name"),
    "spec.containers.env": ("merge", "name"),
    "spec.containers.ports": ("merge", "containerPort"),
    "spec.volumes": ("merge,retainKeys", "name"),
    "spec.strategy": ("retainKeys", ""),
    "spec.selector": ("replace", ""),
    "metadata.finalizers": ("merge", ""),
})


def smp(original: Any, modified: Any, current: Any, schema: PatchSchema = POD) -> Any:
    return three_way_strategic_patch(original, modified, current, schema)


# -- maps -----------------------------------------------------------------------------------

def test_an_unchanged_file_is_an_empty_patch() -> None:
    doc = {"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}]}}
    live = {**doc, "status": {"ready": 1}, "metadata": {"uid": "u"}}
    assert smp(doc, doc, live) == {}


def test_changed_and_added_fields_are_sent_and_what_others_set_is_kept() -> None:
    original = {"data": {"a": "1"}}
    modified = {"data": {"a": "2", "b": "3"}}
    current = {"data": {"a": "1", "other": "x"}}  # "other" was set by someone else
    assert smp(original, modified, current) == {"data": {"a": "2", "b": "3"}}


def test_a_key_removed_from_the_file_is_deleted_only_when_the_file_had_set_it() -> None:
    original = {"data": {"a": "1", "gone": "2"}}
    modified = {"data": {"a": "1"}}
    current = {"data": {"a": "1", "gone": "2", "other": "x"}}
    assert smp(original, modified, current) == {"data": {"gone": None}}
    assert smp(None, modified, current) == {}  # no annotation: nothing is known to remove


def test_numbers_compare_as_json_numbers_and_true_is_not_one() -> None:
    assert smp({"a": 1}, {"a": 1.0}, {"a": 1}) == {}
    assert smp({"a": 1}, {"a": True}, {"a": 1}) == {"a": True}


def test_a_map_with_the_replace_strategy_is_sent_whole() -> None:
    selector = {"matchLabels": {"app": "x"}}
    assert smp({"spec": {"selector": selector}}, {"spec": {"selector": selector}},
               {"spec": {"selector": selector}}) == {"spec": {"selector": selector}}


def test_retain_keys_lists_the_fields_the_file_keeps() -> None:
    original = {"spec": {"strategy": {"type": "Recreate"}}}
    modified = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    current = {"spec": {"strategy": {"type": "Recreate"}}}
    assert smp(original, modified, current) == {"spec": {"strategy": {
        "$retainKeys": ["rollingUpdate", "type"], "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1}}}}


def test_retain_keys_is_sent_to_clear_a_field_the_server_has() -> None:
    modified = {"spec": {"strategy": {"type": "Recreate"}}}
    current = {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}}
    assert smp(modified, modified, current) == {
        "spec": {"strategy": {"$retainKeys": ["type"]}}}


# -- lists ------------------------------------------------------------------------------------

def test_lists_of_maps_merge_by_key_with_deletions_and_element_order() -> None:
    original = {"spec": {"containers": [
        {"name": "web", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}}
    modified = {"spec": {"containers": [
        {"name": "side", "image": "s"},
        {"name": "web", "env": [{"name": "B", "value": "3"}]}]}}
    current = {"spec": {"containers": [
        {"name": "web", "image": "w", "env": [{"name": "A", "value": "1"},
                                              {"name": "B", "value": "2"},
                                              {"name": "C", "value": "by kubectl set env"}]}]}}
    assert smp(original, modified, current) == {"spec": {
        "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
        "containers": [
            {"name": "side", "image": "s"},
            {"name": "web", "$setElementOrder/env": [{"name": "B"}],
             "env": [{"name": "B", "value": "3"}, {"$patch": "delete", "name": "A"}]}]}}


def test_a_reordered_list_sends_only_the_order() -> None:
    original = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    modified = {"spec": {"containers": [{"name": "b"}, {"name": "a"}]}}
    assert smp(original, modified, original) == {"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}


def test_merge_keys_may_be_numbers() -> None:
    original = {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80},
                                                                {"containerPort": 8080}]}]}}
    modified = {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 8080}]}]}}
    assert smp(original, modified, original) == {"spec": {
        "$setElementOrder/containers": [{"name": "a"}],  # sent with any change in the list
        "containers": [{"name": "a", "$setElementOrder/ports": [{"containerPort": 8080}],
                        "ports": [{"$patch": "delete", "containerPort": 80}]}]}}


def test_a_set_of_scalars_deletes_from_the_primitive_list() -> None:
    original = {"metadata": {"finalizers": ["a/x", "b/y"]}}
    modified = {"metadata": {"finalizers": ["b/y", "c/z"]}}
    current = {"metadata": {"finalizers": ["a/x", "b/y", "d/other"]}}
    assert smp(original, modified, current) == {"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["a/x"],
        "$setElementOrder/finalizers": ["b/y", "c/z"],
        "finalizers": ["c/z"]}}


def test_a_list_without_a_strategy_is_replaced_whole() -> None:
    original = {"spec": {"containers": [{"name": "a", "args": ["1", "2"]}]}}
    modified = {"spec": {"containers": [{"name": "a", "args": ["2"]}]}}
    assert smp(original, modified, original) == {"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "a", "args": ["2"]}]}}
    assert smp({"l": [1, 2]}, {"l": [2]}, {"l": [1, 2]}, NO_SCHEMA) == {"l": [2]}


def test_volumes_retain_keys_per_item() -> None:
    original = {"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}
    modified = {"spec": {"volumes": [{"name": "v", "configMap": {"name": "c"}}]}}
    assert smp(original, modified, original) == {"spec": {
        "$setElementOrder/volumes": [{"name": "v"}],
        "volumes": [{"name": "v", "$retainKeys": ["configMap", "name"],
                     "configMap": {"name": "c"}, "emptyDir": None}]}}


def test_an_item_without_its_merge_key_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="does not contain declared merge key: name"):
        smp({"spec": {"containers": [{"name": "a"}]}}, {"spec": {"containers": [{"image": "x"}]}},
            {"spec": {"containers": [{"name": "a"}]}})


# -- JSON merge patch (custom resources) ----------------------------------------------------

def test_json_merge_three_way() -> None:
    original = {"kind": "W", "spec": {"a": 1, "gone": 2, "list": [1, 2]}}
    modified = {"kind": "W", "spec": {"a": 5, "list": [1], "new": {}}}
    current = {"kind": "W", "spec": {"a": 1, "gone": 2, "list": [1, 2], "theirs": 3},
               "status": {"x": 1}}
    assert three_way_merge_patch(original, modified, current) == {
        "spec": {"a": 5, "gone": None, "list": [1], "new": {}}}
    assert three_way_merge_patch(modified, modified, {**current, "spec": modified["spec"]}) == {}


def test_json_merge_refuses_a_file_naming_another_object() -> None:
    with pytest.raises(InvalidArgumentError, match="metadata.name"):
        three_way_merge_patch(None, {"metadata": {"name": "b"}}, {"metadata": {"name": "a"}})


# -- the annotation ---------------------------------------------------------------------------

def test_go_json_matches_encoding_json() -> None:
    assert go_json({"b": [1, 2.5, True, None], "a": "<&>\u2028é\n"}) == \
        '{"a":"\\u003c\\u0026\\u003e\\u2028é\\n","b":[1,2.5,true,null]}'
    assert go_json([1.0, 1e21, 1e-7, 0.000001, 123456789.125]) == \
        "[1,1e+21,1e-7,0.000001,123456789.125]"


def test_modified_configuration_is_what_kubectl_stores() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"},
           "data": {"k": "v"}}
    annotated = modified_configuration(obj)
    text = annotated["metadata"]["annotations"][LAST_APPLIED]
    assert text == ('{"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap",'
                    '"metadata":{"annotations":{},"name":"c"}}\n')
    # applied again: the old annotation is not nested, the others stay
    again = modified_configuration({**annotated, "metadata": {
        **annotated["metadata"], "annotations": {**annotated["metadata"]["annotations"],
                                                 "team": "a"}}})
    assert json.loads(again["metadata"]["annotations"][LAST_APPLIED])["metadata"] == {
        "annotations": {"team": "a"}, "name": "c"}
    assert original_configuration(annotated) == json.loads(text)
    assert original_configuration({"metadata": {"annotations": {LAST_APPLIED: "{no"}}}) is None
