"""JSON patch, merge patch and strategic merge patch as the embedded server applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rawhttp import behaviour

from dynakube.apiserver.merge.patching import (
    PRIMITIVE_MERGE,
    REPLACE,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from dynakube.apiserver.merge.strategy import patch_strategies
from dynakube.client import Client
from dynakube.errors import DynakubeError

POD = patch_strategies("v1", "Pod")


def _failure(doc: Any, ops: Any) -> PatchError:
    with pytest.raises(PatchError) as info:
        apply_json_patch(doc, ops)
    return info.value


# --- JSON patch -------------------------------------------------------------------------------

def test_json_patch_operations_in_order() -> None:
    doc = {"a": {"b": 1}, "list": [1, 2], "x": "y"}
    ops = [
        {"op": "add", "path": "/a/c", "value": {"d": 2}},
        {"op": "add", "path": "/list/-", "value": 3},
        {"op": "add", "path": "/list/0", "value": 0},
        {"op": "remove", "path": "/x"},
        {"op": "replace", "path": "/a/b", "value": 10},
        {"op": "copy", "from": "/a/c", "path": "/copied"},
        {"op": "move", "from": "/list/1", "path": "/moved"},
        {"op": "test", "path": "/copied/d", "value": 2},
    ]
    assert apply_json_patch(doc, ops) == {
        "a": {"b": 10, "c": {"d": 2}}, "list": [0, 2, 3], "copied": {"d": 2}, "moved": 1,
    }


def test_json_patch_never_mutates_its_input() -> None:
    doc = {"a": {"b": [1]}}
    before = copy.deepcopy(doc)
    value = {"v": 1}
    result = apply_json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": value}])
    result["a"]["b"][1]["v"] = 99
    assert doc == before and value == {"v": 1}


def test_json_pointer_escapes() -> None:
    doc = {"metadata": {"labels": {"app.kubernetes.io/name": "x", "a~b": "y"}}}
    ops = [{"op": "replace", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "z"},
           {"op": "remove", "path": "/metadata/labels/a~0b"}]
    assert apply_json_patch(doc, ops) == {"metadata": {"labels": {"app.kubernetes.io/name": "z"}}}


def test_replace_of_a_missing_object_key_adds_it_like_kube() -> None:
    assert apply_json_patch({"data": {}}, [{"op": "replace", "path": "/data/k", "value": "v"}]) \
        == {"data": {"k": "v"}}


def test_test_operation_failure_is_422_with_the_generic_message() -> None:
    err = _failure({"data": {"a": "1"}}, [{"op": "test", "path": "/data/a", "value": "2"}])
    assert isinstance(err, DynakubeError)
    assert err.code == 422
    assert err.detail == "testing value /data/a failed: test failed"
    assert err.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid", "details": {}, "code": 422,
    }


def test_test_of_missing_key_passes_only_for_null() -> None:
    assert apply_json_patch({"a": 1}, [{"op": "test", "path": "/b", "value": None}]) == {"a": 1}
    assert _failure({"a": 1}, [{"op": "test", "path": "/b", "value": 1}]).detail == \
        "testing value /b failed: test failed"


def test_test_compares_json_types() -> None:
    assert _failure({"a": 1}, [{"op": "test", "path": "/a", "value": True}]).code == 422
    assert apply_json_patch({"a": [1, {"b": None}]},
                            [{"op": "test", "path": "/a", "value": [1, {"b": None}]}])


@pytest.mark.parametrize(("doc", "op", "detail"), [
    ({}, {"op": "add", "path": "/a/b", "value": 1},
     'add operation does not apply: doc is missing path: "/a/b": missing value'),
    ({}, {"op": "remove", "path": "/a/b"},
     'remove operation does not apply: doc is missing path: "/a/b": missing value'),
    ({"a": {}}, {"op": "remove", "path": "/a/b"},
     "error in remove for path: '/a/b': Unable to remove nonexistent key: b: missing value"),
    ({}, {"op": "replace", "path": "/a/b", "value": 1},
     "replace operation does not apply: doc is missing path: /a/b: missing value"),
    ({"a": [1]}, {"op": "replace", "path": "/a/3", "value": 1},
     "replace operation does not apply: doc is missing key: /a/3: missing value"),
    ({"a": [1]}, {"op": "add", "path": "/a/5", "value": 1},
     "error in add for path: '/a/5': Unable to access invalid index: 5: invalid index referenced"),
    ({"a": [1]}, {"op": "remove", "path": "/a/1"},
     "error in remove for path: '/a/1': Unable to access invalid index: 1: invalid index "
     "referenced"),
    ({}, {"op": "move", "from": "/x/y", "path": "/z"},
     "move operation does not apply: doc is missing from path: /x/y: missing value"),
    ({}, {"op": "frobnicate", "path": "/a"}, "Unexpected kind: frobnicate"),
    ({}, {"op": "add", "value": 1}, "add operation failed to decode path: missing value"),
    ({"a": 1}, {"op": "add", "path": "", "value": 1},
     'add operation does not apply: doc is missing path: "": missing value'),
])
def test_json_patch_failures_carry_the_library_text(doc: Any, op: Any, detail: str) -> None:
    err = _failure(doc, [op])
    assert (err.code, err.detail) == (422, detail)


def test_a_failed_operation_applies_nothing() -> None:
    doc = {"a": 1}
    _failure(doc, [{"op": "add", "path": "/b", "value": 2},
                   {"op": "test", "path": "/a", "value": 5}])
    assert doc == {"a": 1}


def test_body_that_is_not_a_patch_document_is_400() -> None:
    err = _failure({}, {"op": "add"})
    assert err.code == 400
    assert err.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    assert err.status()["reason"] == "BadRequest"
    assert _failure({}, ["add"]).message == \
        "json: cannot unmarshal string into Go value of type jsonpatch.Operation"


def test_recorded_json_patch() -> None:
    entry = behaviour()["json_patch_configmap"]
    before = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "2"}}
    assert apply_json_patch(before, entry["request"]["body"])["data"] == entry["body"]["data"]


# --- merge patch ------------------------------------------------------------------------------

def test_merge_patch_rfc7386() -> None:
    doc = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None, "h": {"i": None, "j": 1}}, "l": [3]}
    assert apply_merge_patch(doc, patch) == {"a": "z", "c": {"d": "e", "h": {"j": 1}}, "l": [3]}
    assert doc["c"] == {"d": "e", "f": "g"}
    assert apply_merge_patch({"a": 1}, ["x"]) == ["x"]
    assert apply_merge_patch("text", {"a": None, "b": 1}) == {"b": 1}


def test_recorded_merge_patch() -> None:
    entry = behaviour()["merge_patch_configmap"]
    before = {"data": {"a": "3"}}
    assert apply_merge_patch(before, entry["request"]["body"])["data"] == entry["body"]["data"]


# --- strategic merge patch --------------------------------------------------------------------

def _pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": list(containers), **spec}}


def test_containers_merge_by_name_and_nested_lists_by_their_keys() -> None:
    doc = _pod({"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}],
                "env": [{"name": "A", "value": "1"}]},
               {"name": "side", "image": "busybox"})
    patch = {"spec": {"containers": [
        {"name": "web", "image": "nginx:2", "ports": [{"containerPort": 443}],
         "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]},
        {"name": "new", "image": "alpine"},
    ]}}
    result = apply_strategic_merge_patch(doc, patch, POD)
    # apimachinery's normalizeElementOrder: the patch's items in its order, the live-only ones
    # by their live order, and an item new to the list before them (kinds.json update/*).
    web, new, side = result["spec"]["containers"]
    assert web == {"name": "web", "image": "nginx:2",
                   "ports": [{"containerPort": 443}, {"containerPort": 80}],
                   "env": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]}
    assert side == {"name": "side", "image": "busybox"}
    assert new == {"name": "new", "image": "alpine"}
    assert len(doc["spec"]["containers"]) == 2


def test_list_without_merge_key_is_replaced() -> None:
    doc = _pod({"name": "a", "args": ["x", "y"]}, tolerations=[{"key": "k"}])
    patch = {"spec": {"tolerations": [{"key": "other"}],
                      "containers": [{"name": "a", "args": ["z"]}]}}
    result = apply_strategic_merge_patch(doc, patch, POD)
    assert result["spec"]["tolerations"] == [{"key": "other"}]
    assert result["spec"]["containers"][0]["args"] == ["z"]


def test_patch_delete_and_replace_directives() -> None:
    doc = _pod({"name": "a"}, {"name": "b"}, volumes=[{"name": "v", "emptyDir": {}}],
               nodeSelector={"x": "1", "y": "2"})
    patch = {"spec": {"containers": [{"name": "a", "$patch": "delete"}],
                      "volumes": [{"$patch": "replace"}, {"name": "w", "emptyDir": {}}],
                      "nodeSelector": {"$patch": "replace", "z": "3"}}}
    result = apply_strategic_merge_patch(doc, patch, POD)
    assert result["spec"]["containers"] == [{"name": "b"}]
    assert result["spec"]["volumes"] == [{"name": "w", "emptyDir": {}}]
    assert result["spec"]["nodeSelector"] == {"z": "3"}
    gone = apply_strategic_merge_patch(doc, {"spec": {"nodeSelector": {"$patch": "delete"}}}, POD)
    assert "nodeSelector" not in gone["spec"]


def test_retain_keys_and_null_deletes() -> None:
    doc = _pod({"name": "a"}, volumes=[{"name": "v", "emptyDir": {}}], hostname="h")
    patch = {"spec": {"hostname": None, "volumes": [
        {"name": "v", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}}
    result = apply_strategic_merge_patch(doc, patch, POD)
    assert "hostname" not in result["spec"]
    assert result["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/x"}}]


def test_primitive_lists_merge_as_sets_and_delete_from_primitive_list() -> None:
    keys: dict[tuple[str, ...], str] = {("metadata", "finalizers"): PRIMITIVE_MERGE}
    doc = {"metadata": {"finalizers": ["a", "b"]}}
    merged = apply_strategic_merge_patch(doc, {"metadata": {"finalizers": ["b", "c"]}}, keys)
    assert merged["metadata"]["finalizers"] == ["a", "b", "c"]
    removed = apply_strategic_merge_patch(
        doc, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, keys)
    assert removed["metadata"]["finalizers"] == ["b"]


def test_set_element_order() -> None:
    doc = _pod({"name": "a"}, {"name": "b"}, {"name": "c"})
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                      "containers": [{"name": "a", "image": "i"}]}}
    result = apply_strategic_merge_patch(doc, patch, POD)
    assert [c["name"] for c in result["spec"]["containers"]] == ["c", "a", "b"]
    assert result["spec"]["containers"][1] == {"name": "a", "image": "i"}


def test_deployment_and_service_tables() -> None:
    dep = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}]}}}}
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}}
    result = apply_strategic_merge_patch(dep, patch, patch_strategies("apps/v1", "Deployment"))
    assert len(result["spec"]["template"]["spec"]["containers"]) == 2
    svc = {"spec": {"ports": [{"port": 80, "name": "http"}]}}
    result = apply_strategic_merge_patch(svc, {"spec": {"ports": [{"port": 80, "name": "web"}]}},
                                         patch_strategies("v1", "Service"))
    assert result["spec"]["ports"] == [{"port": 80, "name": "web"}]


def test_strategic_patch_errors() -> None:
    with pytest.raises(PatchError) as info:
        apply_strategic_merge_patch(_pod({"name": "a"}), {"spec": {"containers": [{"image": "x"}]}},
                                    POD)
    assert info.value.code == 500
    assert info.value.message == "map: map[image:x] does not contain declared merge key: name"
    with pytest.raises(PatchError) as info:
        apply_strategic_merge_patch(_pod({"name": "a"}), {"spec": {"containers": [
            {"$patch": "delete", "ports": [{"containerPort": 80}], "tty": True,
             "args": None}]}}, POD)
    assert info.value.message == ("map: map[$patch:delete args:<nil> ports:[map[containerPort:80]] "
                                  "tty:true] does not contain declared merge key: name")
    assert info.value.status()["reason"] == "InternalError"
    with pytest.raises(PatchError) as info:
        apply_strategic_merge_patch({}, {"spec": {"$patch": "explode"}}, POD)
    assert info.value.code == 400
    with pytest.raises(PatchError):
        apply_strategic_merge_patch({}, ["not", "a", "map"], POD)


def test_recorded_strategic_patch_configmap() -> None:
    entry = behaviour()["strategic_patch_configmap"]
    before = {"data": {"a": "3", "b": "4"}}
    result = apply_strategic_merge_patch(before, entry["request"]["body"],
                                         patch_strategies("v1", "ConfigMap"))
    assert result["data"] == entry["body"]["data"]


def test_patch_strategies_come_from_the_schemas() -> None:
    """Struct tags as the OpenAPI publishes them: a list without ``merge`` is replaced whole
    (a ServiceAccount's ``imagePullSecrets``, a container's ``resizePolicy``), a map with
    ``replace`` too (a PodDisruptionBudget's selector)."""
    assert patch_strategies("policy/v1", "PodDisruptionBudget")[("spec", "selector")] == REPLACE
    assert patch_strategies("v1", "ServiceAccount")[("secrets",)] == "name"
    assert ("imagePullSecrets",) not in patch_strategies("v1", "ServiceAccount")
    assert ("spec", "containers", "resizePolicy") not in POD
    assert POD[("metadata", "finalizers")] == PRIMITIVE_MERGE
    assert patch_strategies("v1", "Node")[("status", "addresses")] == "type"
    assert patch_strategies("example.dynakube.io/v1", "Widget") == {}


def test_a_selector_with_patch_strategy_replace_is_replaced(kube: Client) -> None:
    budgets = kube.resource("poddisruptionbudgets")
    budgets.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": "pdb"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "a"}}}})
    expression = {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    patched = budgets.patch("pdb", {"spec": {"selector": expression}}, patch_type="strategic")
    assert patched["spec"]["selector"] == expression
    sa = kube.resource("serviceaccounts")
    sa.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
               "imagePullSecrets": [{"name": "a"}]})
    patched = sa.patch("robot", {"imagePullSecrets": [{"name": "b"}]}, patch_type="strategic")
    assert patched["imagePullSecrets"] == [{"name": "b"}]
