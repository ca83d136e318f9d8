"""managedFields and server-side apply, checked against what kube-apiserver recorded."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rawhttp import RawKube, behaviour

from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS
from dynakube.apiserver.merge.fieldmanager import (
    ApplyConflictError,
    check_field_manager,
    default_manager,
    format_time,
    server_side_apply,
    update_managed_fields,
)
from dynakube.apiserver.merge.fieldset import (
    BUILTIN_FIELD_RULES,
    MISSING,
    FieldRules,
    SchemaFieldRules,
    builtin_field_rules,
    fields_to_set,
    object_field_set,
    path_string,
    rules_from_schema,
    set_to_fields,
)
from dynakube.apiserver.merge.patching import (
    BUILTIN_MERGE_KEYS,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from dynakube.testing import ApiServer

T0 = "2026-11-22T02:26:13Z"
T1 = "2026-11-22T02:30:00Z"
CM = BUILTIN_FIELD_RULES["ConfigMap"]
WIDGET_RULES = FieldRules({("spec", "tags"): ()})


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


def _with(obj: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["managedFields"] = entries
    return out


def _configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "ns", "uid": "u", "resourceVersion": "1",
                         "creationTimestamp": T0},
            "data": dict(data)}


# --- FieldsV1 ---------------------------------------------------------------------------------

def test_fields_v1_round_trip_and_order() -> None:
    fields = {"f:spec": {".": {}, "f:a": {}, "f:tags": {".": {}, 'v:"a"': {}, "v:2": {}},
                         "f:containers": {'k:{"name":"b"}': {".": {}, "f:image": {}},
                                          'k:{"name":"a"}': {}}}}
    paths = fields_to_set(fields)
    assert ("f:spec",) in paths and ("f:spec", "f:tags", 'v:"a"') in paths
    encoded = set_to_fields(paths)
    assert encoded == fields
    assert list(encoded["f:spec"]) == [".", "f:a", "f:containers", "f:tags"]
    assert list(encoded["f:spec"]["f:tags"]) == [".", "v:2", 'v:"a"']  # numbers before strings
    assert list(encoded["f:spec"]["f:containers"]) == ['k:{"name":"a"}', 'k:{"name":"b"}']


def test_object_field_set_uses_list_rules_and_strips_identity_fields() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "n", "labels": {"a": "1"},
                        "finalizers": ["x"]},
           "spec": {"containers": [{"name": "web", "image": "i", "args": ["-v"],
                                    "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}
    fields = set_to_fields(object_field_set(pod, BUILTIN_FIELD_RULES["Pod"]))
    assert fields == {
        "f:metadata": {"f:finalizers": {'v:"x"': {}}, "f:labels": {"f:a": {}}},
        "f:spec": {"f:containers": {'k:{"name":"web"}': {
            ".": {}, "f:args": {}, "f:image": {}, "f:name": {},
            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {
                ".": {}, "f:containerPort": {}, "f:protocol": {}}}}}},
    }


def test_path_string() -> None:
    assert path_string(("f:data", "f:x")) == ".data.x"
    assert path_string(("f:spec", "f:containers", 'k:{"name":"web"}', "f:image")) == \
        '.spec.containers[name="web"].image'
    assert path_string(("f:spec", "f:tags", 'v:"a"')) == '.spec.tags[="a"]'


def test_rules_from_schema() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object"}},
        "sel": {"type": "object", "x-kubernetes-map-type": "atomic"}}}}}
    rules = rules_from_schema(schema)
    assert rules.list_keys(("spec", "tags")) == ()
    assert rules.list_keys(("spec", "ports")) == ("name",)
    assert rules.list_keys(("spec", "other")) is None
    assert rules.is_atomic(("spec", "sel"))



def test_list_map_key_defaults_identify_items_without_owning_the_key() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["port", "protocol"],
                  "items": {"type": "object", "properties": {
                      "port": {"type": "integer"},
                      "protocol": {"type": "string", "default": "TCP"}}}}}}}}
    applied = {"spec": {"ports": [{"port": 80}]}}
    item = 'k:{"port":80,"protocol":"TCP"}'
    expected = {("f:spec", "f:ports", item), ("f:spec", "f:ports", item, "f:port")}
    assert object_field_set(applied, rules_from_schema(schema)) == expected
    pod = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}
    assert ("f:spec", "f:containers", 'k:{"name":"c"}', "f:ports",
            'k:{"containerPort":80,"protocol":"TCP"}') in object_field_set(
        pod, BUILTIN_FIELD_RULES["Pod"])
    no_default = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "ports": schema["properties"]["spec"]["properties"]["ports"] | {"items": {}}}}}}
    assert object_field_set(applied, rules_from_schema(no_default)) == {("f:spec", "f:ports")}

# --- Update -----------------------------------------------------------------------------------

def test_recorded_create_configmap_and_namespace() -> None:
    rec = behaviour()
    body = rec["create_configmap"]["body"]
    assert update_managed_fields(None, _bare(body), manager="python-requests", api_version="v1",
                                 time=T0, rules=CM) == body["metadata"]["managedFields"]
    ns = _bare(rec["create_namespace"]["body"])
    expected = rec["create_namespace"]["body"]["metadata"]["managedFields"]
    del ns["spec"], ns["status"]  # set by the namespace strategy after the field manager ran
    assert update_managed_fields(None, ns, manager="python-requests", api_version="v1",
                                 time=T0) == expected


def test_recorded_dry_run_generate_name() -> None:
    body = behaviour()["create_configmap_dry_run"]["body"]
    assert update_managed_fields(None, _bare(body), manager="python-requests", api_version="v1",
                                 time=T0, rules=CM) == body["metadata"]["managedFields"]


def test_recorded_create_widget_with_defaults_and_set_list() -> None:
    rec = behaviour()
    for name in ("create_widget", "create_widget_deprecated_version"):
        body = rec[name]["body"]
        obj = _bare(body)
        if name.endswith("deprecated_version"):
            # v1beta1 has no default for replicas: it comes from the storage version (v1),
            # after the field manager ran on the object in the request's version.
            del obj["spec"]["replicas"]
        assert update_managed_fields(None, obj, manager="python-requests",
                                     api_version=body["apiVersion"], time=T0,
                                     rules=WIDGET_RULES) == body["metadata"]["managedFields"]


def test_recorded_patch_sequence_keeps_one_entry() -> None:
    rec = behaviour()
    live = rec["create_configmap"]["body"]
    steps = [
        ("replace_configmap", lambda obj, body: body),
        ("json_patch_configmap", apply_json_patch),
        ("merge_patch_configmap", apply_merge_patch),
        ("strategic_patch_configmap",
         lambda obj, body: apply_strategic_merge_patch(obj, body, BUILTIN_MERGE_KEYS["ConfigMap"])),
    ]
    for name, patch in steps:
        new = patch(live, rec[name]["request"]["body"])
        entries = update_managed_fields(live, new, manager="python-requests", api_version="v1",
                                        time=T0, rules=CM)
        assert entries == rec[name]["body"]["metadata"]["managedFields"], name
        live = _with(new, entries)
        assert live["data"] == rec[name]["body"]["data"]


def test_recorded_scale_subresource_entry() -> None:
    rec = behaviour()
    widget = rec["create_widget"]["body"]
    scaled = copy.deepcopy(widget)
    scaled["spec"]["replicas"] = rec["patch_widget_scale"]["request"]["body"]["spec"]["replicas"]
    entries = update_managed_fields(widget, scaled, manager="python-requests",
                                    api_version="example.dynakube.io/v1", time=None,
                                    subresource="scale", rules=WIDGET_RULES)
    row = rec["list_widgets_as_table"]["body"]["rows"][0]["object"]
    assert entries == row["metadata"]["managedFields"]


def test_update_moves_ownership_and_drops_removed_fields() -> None:
    live = _configmap(a="1", b="2")
    live = _with(live, update_managed_fields(None, live, manager="alice", api_version="v1",
                                             time=T0, rules=CM))
    new = _configmap(a="changed")
    entries = update_managed_fields(live, new, manager="bob", api_version="v1", time=T1,
                                    rules=CM)
    assert [(e["manager"], e["fieldsV1"], e["time"]) for e in entries] == [
        ("alice", {"f:data": {}}, T0),  # still owns the map itself; b was removed
        ("bob", {"f:data": {"f:a": {}}}, T1),
    ]


def test_update_that_changes_nothing_records_nothing() -> None:
    live = _configmap(a="1")
    live = _with(live, update_managed_fields(None, live, manager="alice", api_version="v1",
                                             time=T0, rules=CM))
    entries = update_managed_fields(live, _bare(live), manager="bob", api_version="v1", time=T1)
    assert [e["manager"] for e in entries] == ["alice"]
    assert entries[0]["time"] == T0


def test_managed_fields_sent_in_the_request() -> None:
    live = _configmap(a="1")
    live = _with(live, update_managed_fields(None, live, manager="alice", api_version="v1",
                                             time=T0, rules=CM))
    reset = _with(_configmap(a="1", b="2"), [])
    entries = update_managed_fields(live, reset, manager="bob", api_version="v1", time=T1)
    assert [e["manager"] for e in entries] == ["bob"]
    assert entries[0]["fieldsV1"] == {"f:data": {"f:b": {}}}
    omitted = _configmap(a="1", b="2")
    entries = update_managed_fields(live, omitted, manager="bob", api_version="v1", time=T1)
    assert [e["manager"] for e in entries] == ["alice", "bob"]



@pytest.mark.parametrize("fields", [{"f:data": {"k:notjson": {}}}, {"f:data": {"v:{": {}}},
                                    {"f:data": {"k:[1]": {}}}, {"f:data": {"i:x": {}}},
                                    {"f:data": {"x:a": {}}}, {"f:data": 5}])
def test_undecodable_managed_fields_in_the_request_keep_the_live_ones(fields: Any) -> None:
    live = _configmap(a="1")
    live = _with(live, update_managed_fields(None, live, manager="alice", api_version="v1",
                                             time=T0, rules=CM))
    sent = _with(_configmap(a="1", b="2"), [
        {"manager": "mallory", "operation": "Update", "apiVersion": "v1",
         "fieldsType": "FieldsV1", "fieldsV1": fields}])
    entries = update_managed_fields(live, sent, manager="bob", api_version="v1", time=T1,
                                    rules=CM)
    assert [e["manager"] for e in entries] == ["alice", "bob"]
    assert entries[1]["fieldsV1"] == {"f:data": {"f:b": {}}}
    with pytest.raises(ValueError):
        fields_to_set(fields, strict=True)
    assert fields_to_set({"f:data": {"k:notjson": {}, "f:a": {}}}) == {("f:data", "f:a")}

def test_ignored_fields_are_not_recorded() -> None:
    new = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
           "spec": {"a": 1}, "status": {"b": 2}}
    entries = update_managed_fields(None, new, manager="m", api_version="v1", time=T0,
                                    ignore_fields=[("status",)])
    assert entries[0]["fieldsV1"] == {"f:spec": {".": {}, "f:a": {}}}
    with pytest.raises(ValueError):
        update_managed_fields(None, new, manager="m", api_version="v1", time=T0,
                              operation="Apply")


def test_at_most_ten_update_managers_the_oldest_merge_into_ancient_changes() -> None:
    live: dict[str, Any] | None = None
    for i in range(12):  # twelve managers, each adding its own key, a minute apart
        new = copy.deepcopy(live) if live is not None else _configmap()
        new["data"][f"k{i}"] = "v"
        managed = update_managed_fields(live, new, manager=f"m{i}", api_version="v1",
                                        time=f"2026-11-22T03:{i:02}:00Z", rules=CM)
        live = _with(new, managed)
    assert live is not None
    obj = live
    entries = obj["metadata"]["managedFields"]
    assert len(entries) == 10
    ancient = next(e for e in entries if e["manager"] == "ancient-changes")
    assert ancient["operation"] == "Update" and ancient["apiVersion"] == "v1"
    assert ancient["fieldsV1"] == {"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}}
    assert ancient["time"] == "2026-11-22T03:02:00Z"  # the last one merged
    assert [e["manager"] for e in entries if e is not ancient] == [f"m{i}" for i in range(3, 12)]
    # an apply entry does not count, and the cap holds after an apply too
    applied = server_side_apply(obj, {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "cm"}, "data": {"a": "b"}},
                                manager="applier", force=False, api_version="v1", time=T1,
                                rules=CM)
    assert len(applied["metadata"]["managedFields"]) == 11


def test_the_first_apply_to_an_object_without_managed_fields() -> None:
    """What is there belongs to ``before-first-apply`` first: changing it conflicts, and a
    forced apply takes it."""
    live = _configmap(a="1", b="2")
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
               "data": {"a": "changed"}}
    with pytest.raises(ApplyConflictError) as raised:
        server_side_apply(live, applied, manager="me", force=False, api_version="v1",
                          time=T1, rules=CM)
    assert raised.value.conflicts == [(".data.a", '"before-first-apply" using v1')]
    result = server_side_apply(live, applied, manager="me", force=True, api_version="v1",
                               time=T1, rules=CM)
    entries = {e["manager"]: e for e in result["metadata"]["managedFields"]}
    assert entries["before-first-apply"]["operation"] == "Update"
    assert entries["before-first-apply"]["fieldsV1"] == {"f:data": {".": {}, "f:b": {}}}
    assert entries["me"]["fieldsV1"] == {"f:data": {"f:a": {}}}
    same = server_side_apply(live, {**applied, "data": {"a": "1"}}, manager="me", force=False,
                             api_version="v1", time=T1, rules=CM)  # no change: no conflict
    assert {e["manager"] for e in same["metadata"]["managedFields"]} == {
        "before-first-apply", "me"}


def test_entries_sort_like_kube_apiserver() -> None:
    live = _configmap(a="1")
    live = _with(live, update_managed_fields(None, live, manager="zed", api_version="v1",
                                             time=T1, rules=CM))
    live = server_side_apply(live, {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "cm"}, "data": {"b": "2"}},
                             manager="applier", force=False, api_version="v1", time=T1, rules=CM)
    new = copy.deepcopy(live)
    new["data"]["c"] = "3"
    entries = update_managed_fields(live, new, manager="early", api_version="v1", time=T0,
                                    rules=CM)
    assert [(e["operation"], e["manager"]) for e in entries] == [
        ("Apply", "applier"), ("Update", "early"), ("Update", "zed")]
    assert list(entries[1]) == ["apiVersion", "fieldsType", "fieldsV1", "manager", "operation",
                                "time"]


# --- Apply ------------------------------------------------------------------------------------

def _apply(live: dict[str, Any] | None, data: dict[str, str], manager: str, *,
           force: bool = False, time: str = T0) -> dict[str, Any]:
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
               "data": data}
    return server_side_apply(live, applied, manager=manager, force=force, api_version="v1",
                             time=time, rules=CM)


def test_recorded_apply_create_and_conflict() -> None:
    rec = behaviour()
    created = server_side_apply(None, rec["apply_configmap"]["request"]["body"],
                                manager="recorder", force=False, api_version="v1", time=T0)
    body = rec["apply_configmap"]["body"]
    assert created["data"] == body["data"]
    assert created["metadata"]["managedFields"] == body["metadata"]["managedFields"]
    with pytest.raises(ApplyConflictError) as info:
        server_side_apply(body, rec["apply_configmap_conflict"]["request"]["body"],
                          manager="other", force=False, api_version="v1", time=T1)
    assert info.value.status() == rec["apply_configmap_conflict"]["body"]
    assert info.value.conflicts == [(".data.x", '"recorder"')]


def test_recorded_missing_field_manager() -> None:
    expected = behaviour()["apply_without_field_manager"]["body"]
    assert check_field_manager(None, apply=True) == expected
    assert check_field_manager("", apply=True) == expected


def test_field_manager_checks() -> None:
    assert check_field_manager("kubectl", apply=True) is None
    assert check_field_manager(None, apply=False) is None
    status = check_field_manager("m" * 129, apply=False, options_kind="UpdateOptions")
    assert status is not None and status["code"] == 422
    assert status["details"]["causes"][0]["reason"] == "FieldValueTooLong"
    assert default_manager(None, "python-requests/2.32.3") == "python-requests"
    assert default_manager("mine", "kubectl/v1.36") == "mine"


def test_apply_with_same_value_shares_ownership() -> None:
    live = _apply(None, {"x": "y"}, "a")
    shared = _apply(live, {"x": "y"}, "b")
    owners = {e["manager"]: e["fieldsV1"] for e in shared["metadata"]["managedFields"]}
    assert owners == {"a": {"f:data": {"f:x": {}}}, "b": {"f:data": {"f:x": {}}}}


def test_forced_apply_takes_the_field() -> None:
    live = _apply(None, {"x": "y", "keep": "1"}, "a")
    forced = _apply(live, {"x": "z"}, "b", force=True, time=T1)
    assert forced["data"] == {"x": "z", "keep": "1"}
    owners = {e["manager"]: e["fieldsV1"] for e in forced["metadata"]["managedFields"]}
    assert owners == {"a": {"f:data": {"f:keep": {}}}, "b": {"f:data": {"f:x": {}}}}


def test_conflicts_with_update_managers_and_several_fields() -> None:
    live = _configmap(a="1", b="2")
    live = _with(live, update_managed_fields(None, live, manager="kubectl", api_version="v1",
                                             time=T0, rules=CM))
    with pytest.raises(ApplyConflictError) as info:
        _apply(live, {"a": "9", "b": "9"}, "ci")
    assert info.value.message == ('Apply failed with 2 conflicts: conflicts with "kubectl" using '
                                  'v1:\n- .data.a\n- .data.b')
    causes = info.value.status()["details"]["causes"]
    assert [c["field"] for c in causes] == [".data.a", ".data.b"]
    assert causes[0]["message"] == 'conflict with "kubectl" using v1'


def test_apply_removes_fields_the_manager_stopped_applying() -> None:
    live = _apply(None, {"x": "1", "y": "2"}, "a")
    live = _apply(live, {"y": "2"}, "b")
    pruned = _apply(live, {}, "a", time=T1)
    assert pruned["data"] == {"y": "2"}  # x owned by a alone is removed; y is still b's
    owners = [e["manager"] for e in pruned["metadata"]["managedFields"]]
    assert owners == ["b"]


def test_apply_merges_keyed_lists_and_keeps_live_items() -> None:
    rules = BUILTIN_FIELD_RULES["Deployment"]
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "side", "image": "s"}, {"name": "web", "image": "w:1"}]}}}}
    live = _with(live, update_managed_fields(None, live, manager="kubectl",
                                             api_version="apps/v1", time=T0, rules=rules))
    applied = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"template": {"spec": {"containers": [
                   {"name": "web", "image": "w:2"}, {"name": "new", "image": "n"}]}}}}
    result = server_side_apply(live, applied, manager="ci", force=True,
                               api_version="apps/v1", time=T1, rules=rules)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "side", "image": "s"}, {"name": "web", "image": "w:2"},
                          {"name": "new", "image": "n"}]
    ci = [e for e in result["metadata"]["managedFields"] if e["manager"] == "ci"][0]
    assert ci["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"] == {
        'k:{"name":"new"}': {".": {}, "f:image": {}, "f:name": {}},
        'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}},
    }


def test_noop_apply_keeps_time_and_applied_managed_fields_are_refused() -> None:
    live = _apply(None, {"x": "y"}, "a", time=T0)
    again = _apply(live, {"x": "y"}, "a", time=T1)
    assert again["metadata"]["managedFields"][0]["time"] == T0
    with pytest.raises(PatchError) as info:
        server_side_apply(live, live, manager="a", force=False, api_version="v1", time=T1)
    assert info.value.code == 400


def test_format_time() -> None:
    assert format_time(1795314373) == "2026-11-22T02:26:13Z"
    assert len(format_time()) == len(T0)


def test_apply_list_order_follows_structured_merge_diff() -> None:
    rules = FieldRules({("spec", "items"): ("name",)})
    live = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
            "spec": {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}}
    applied = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
               "spec": {"items": [{"name": "c"}, {"name": "a", "v": 1}], "gone": None}}
    result = server_side_apply(live, applied, manager="m", force=False, api_version="v1",
                               time=T0, rules=rules)
    assert result["spec"] == {"items": [{"name": "b"}, {"name": "c"}, {"name": "a", "v": 1}]}


def test_apply_with_another_version_is_refused() -> None:
    applied = {"apiVersion": "v2", "kind": "X", "metadata": {"name": "x"}}
    with pytest.raises(PatchError) as info:
        server_side_apply(None, applied, manager="m", force=False, api_version="v1", time=T0)
    assert info.value.message == ("Incorrect version specified in apply patch. Specified patch "
                                  "version: v2, expected: v1")


def test_conflict_error_built_from_conflicts_alone() -> None:
    err = ApplyConflictError([(".a", '"m"'), (".b", '"m"')])
    assert err.message == 'Apply failed with 2 conflicts: conflicts with "m":\n- .a\n- .b'
    assert str(ApplyConflictError([(".a", '"m"')])) == \
        'Apply failed with 1 conflict: conflict with "m": .a'


# --- built-in kinds: rules from their schemas, compared with the zero object -------------------

DEPLOYMENT_RULES = builtin_field_rules("io.k8s.api.apps.v1.Deployment")
POD_SPEC = ("spec", "template", "spec")


def test_schema_rules_read_list_types_atomic_maps_and_key_defaults() -> None:
    rules = DEPLOYMENT_RULES
    assert rules.list_keys(POD_SPEC + ("containers",)) == ("name",)
    assert rules.list_keys(POD_SPEC + ("containers", "ports")) == ("containerPort", "protocol")
    assert rules.elements(POD_SPEC + ("containers", "ports"), [{"containerPort": 80}]) == [
        'k:{"containerPort":80,"protocol":"TCP"}']  # the schema's default stands in
    assert rules.list_keys(POD_SPEC + ("tolerations",)) is None  # no list type: atomic
    assert rules.list_keys(("metadata", "finalizers")) == ()
    assert rules.is_atomic(("spec", "selector"))  # LabelSelector is an atomic struct
    assert rules.is_atomic(POD_SPEC + ("nodeSelector",))  # an atomic map
    assert rules.is_atomic(POD_SPEC + ("containers", "env", "valueFrom", "fieldRef"))
    assert not rules.is_atomic(POD_SPEC + ("containers", "env", "valueFrom"))
    assert not rules.is_atomic(("metadata", "labels"))
    assert builtin_field_rules("io.k8s.api.core.v1.ServiceAccount").is_atomic(("secrets",))
    assert builtin_field_rules("io.k8s.api.apps.v1.ControllerRevision").is_atomic(("data",))
    assert rules.list_keys(("spec", "no-such-field")) is None
    assert not rules.is_atomic(("spec", "no-such-field"))


def test_schema_rules_know_what_every_go_object_has() -> None:
    rules = DEPLOYMENT_RULES
    assert rules.always_present(("spec",)) == {}  # structs held by value
    assert rules.always_present(("spec", "template", "metadata")) == {}
    assert rules.always_present(("spec", "strategy", "rollingUpdate")) is MISSING  # a pointer
    assert rules.always_present(POD_SPEC + ("containers",)) is None  # no omitempty: null
    assert rules.always_present(("spec", "replicas")) is MISSING
    assert FieldRules().always_present(("spec",)) is MISSING  # custom resources: none


def test_schema_rules_keep_answers_for_schema_fields_only() -> None:
    """Map keys and fields off the schema are worked out each time: what the rules keep is
    bounded by the schema, whatever keys the objects have."""
    rules = SchemaFieldRules("io.k8s.api.core.v1.ConfigMap", BUILTIN_SCHEMAS)
    update_managed_fields(None, {"metadata": {"name": "c", "labels": {"l": "x"}},
                                 "data": {"k": "v"}, "unknown": {"a": 1}},
                          manager="m", api_version="v1", time=T0, rules=rules)
    kept = len(rules._nodes), len(rules._atomic), len(rules._present)
    assert kept[0] >= 4
    for i in range(50):
        obj = {"metadata": {"name": "c", "labels": {f"l{i}": "x"}}, "data": {f"k{i}": "v"},
               f"unknown{i}": {"a": 1}}
        [entry] = update_managed_fields(None, obj, manager="m", api_version="v1", time=T0,
                                        rules=rules)
        assert entry["fieldsV1"]["f:data"] == {".": {}, f"f:k{i}": {}}
    assert (len(rules._nodes), len(rules._atomic), len(rules._present)) == kept


def test_a_create_is_compared_with_the_zero_object() -> None:
    """No ``"."`` for structs held by value nor for ``containers`` (both in the zero object);
    one for what a new object adds: a pointer's struct, a map, a list, each list item."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {"matchLabels": {"app": "d"}},
                           "strategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxSurge": "25%"}},
                           "template": {"metadata": {"labels": {"app": "d"}},
                                        "spec": {"containers": [{"name": "c", "image": "i",
                                                                 "env": [{"name": "A"}]}]}}}}
    [entry] = update_managed_fields(None, deployment, manager="m", api_version="apps/v1",
                                    time=T0, rules=DEPLOYMENT_RULES)
    assert entry["fieldsV1"] == {"f:spec": {
        "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
        "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:containers": {'k:{"name":"c"}': {
                           ".": {}, "f:env": {".": {}, 'k:{"name":"A"}': {".": {}, "f:name": {}}},
                           "f:image": {}, "f:name": {}}}}}}}


def test_a_null_is_there_but_empty() -> None:
    """``[]`` against the zero object's ``null`` is a change; ``null`` against it is none."""
    rules = builtin_field_rules("io.k8s.api.core.v1.LimitRange")
    limit_range = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}}
    [entry] = update_managed_fields(None, {**limit_range, "spec": {"limits": []}},
                                    manager="m", api_version="v1", time=T0, rules=rules)
    assert entry["fieldsV1"] == {"f:spec": {"f:limits": {}}}
    assert update_managed_fields(None, {**limit_range, "spec": {"limits": None}}, manager="m",
                                 api_version="v1", time=T0, rules=rules) == []


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def _fields(obj: dict[str, Any]) -> dict[str, Any]:
    [entry] = obj["metadata"]["managedFields"]
    return entry["fieldsV1"]  # type: ignore[no-any-return]


def test_what_admission_adds_to_a_pod_belongs_to_no_manager(k: RawKube) -> None:
    pod = k.create("/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    spec = _fields(pod)["f:spec"]
    assert pod["spec"]["serviceAccountName"] == "default" and pod["spec"]["tolerations"]
    assert {"f:dnsPolicy", "f:restartPolicy", "f:containers"} <= spec.keys()  # defaults: owned
    for added in ("f:serviceAccount", "f:serviceAccountName", "f:tolerations", "f:volumes",
                  "f:priority", "f:preemptionPolicy"):
        assert added not in spec
    assert "f:volumeMounts" not in spec["f:containers"]['k:{"name":"c"}']


def test_what_the_strategy_sets_belongs_to_no_manager(k: RawKube) -> None:
    service = k.create("/api/v1/namespaces/default/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"selector": {"app": "s"}, "ports": [{"port": 80}]}})
    assert service["spec"]["clusterIP"]
    assert not {"f:clusterIP", "f:clusterIPs", "f:ipFamilies", "f:ipFamilyPolicy"} & \
        _fields(service)["f:spec"].keys()
    job = k.create("/apis/batch/v1/namespaces/default/jobs", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"metadata": {"labels": {"app": "j"}}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
    assert job["metadata"]["labels"]["batch.kubernetes.io/controller-uid"]  # shared map
    fields = _fields(job)
    assert fields["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert fields["f:spec"]["f:template"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert "f:selector" not in fields["f:spec"]


def test_a_namespace_s_finalizers_are_reset_fields(k: RawKube) -> None:
    k.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": "fin"}})
    patched = k("PATCH", "/api/v1/namespaces/fin", {"spec": {"finalizers": ["x"]}},
                ctype="application/merge-patch+json")
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["finalizers"] == ["kubernetes"]
    assert "f:spec" not in _fields(patched.json())
