"""Custom resource validation, pruning and defaulting, built-in decoding, and the CEL subset."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rawhttp import behaviour

from dynakube.apiserver.kinds.decoding import cannot_handle_message, decode_builtin
from dynakube.apiserver.rules.cel import CelUnsupported, compile_rule
from dynakube.apiserver.rules.structural import (
    Cause,
    apply_defaults,
    go_value,
    invalid_status,
    prepare_custom_resource,
    prune,
    strict_decoding_message,
    unknown_field_warning,
    validate_custom_resource,
)
from dynakube.apiserver.seed import WIDGET_CRD
from dynakube.errors import InvalidArgumentError

SKIPPED = ("<nil>: Invalid value: null: some validation rules were not checked because the "
           "object was invalid; correct the existing errors to complete validation")


def _schema() -> dict[str, Any]:
    v1 = next(v for v in WIDGET_CRD["spec"]["versions"] if v["name"] == "v1")
    return copy.deepcopy(v1["schema"]["openAPIV3Schema"])


def _widget(spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": spec, **extra}


def _check(obj: dict[str, Any]) -> list[str]:
    schema = _schema()
    prepare_custom_resource(obj, schema)
    return [str(c) for c in validate_custom_resource(obj, schema)]


def _behaviour(name: str) -> dict[str, Any]:
    return dict(behaviour(name))


# ---------------------------------------------------------------- the recorded cases

INVALID_BODY = {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                "metadata": {"name": "w2"},
                "spec": {"color": "red", "replicas": 500, "size": "huge", "tags": ["a", "a"]}}


def test_invalid_widget_causes_are_worded_and_ordered_like_the_server() -> None:
    obj = copy.deepcopy(INVALID_BODY)
    schema = _schema()
    assert prepare_custom_resource(obj, schema) == []
    causes = validate_custom_resource(obj, schema)
    assert [c.as_dict() for c in causes] == [
        {"reason": "FieldValueInvalid", "field": "spec.color",
         "message": "Invalid value: \"red\": spec.color in body should match '^#[0-9a-f]{6}$'"},
        {"reason": "FieldValueInvalid", "field": "spec.replicas",
         "message": "Invalid value: 500: spec.replicas in body should be less than or equal "
                    "to 100"},
        {"reason": "FieldValueNotSupported", "field": "spec.size",
         "message": 'Unsupported value: "huge": supported values: "small", "medium", "large"'},
        {"reason": "FieldValueDuplicate", "field": "spec.tags[1]",
         "message": 'Duplicate value: "a"'},
        {"reason": "FieldValueInvalid", "field": "<nil>",
         "message": SKIPPED.removeprefix("<nil>: ")},
    ]
    status = invalid_status("Widget", "example.dynakube.io", "w2", causes)
    assert status["message"].startswith('Widget.example.dynakube.io "w2" is invalid: [spec.color')
    assert status["message"].endswith(SKIPPED + "]")
    assert status["code"] == 422 and status["reason"] == "Invalid"


@pytest.mark.parametrize("name", ["create_widget_invalid", "create_widget_cel_rule"])
def test_status_bodies_equal_the_recordings(name: str) -> None:
    recorded = _behaviour(name)
    obj = copy.deepcopy(recorded["request"]["body"])
    schema = _schema()
    prepare_custom_resource(obj, schema)
    causes = validate_custom_resource(obj, schema)
    assert invalid_status("Widget", "example.dynakube.io", obj["metadata"]["name"],
                          causes) == recorded["body"]


def test_cel_rule_failure_has_no_brackets() -> None:
    obj = _widget({"replicas": 20, "size": "small"})
    obj["metadata"]["name"] = "w3"
    schema = _schema()
    prepare_custom_resource(obj, schema)
    causes = validate_custom_resource(obj, schema)
    assert causes == [Cause("spec", "FieldValueInvalid",
                            "Invalid value: only large widgets may have more than 10 replicas")]
    assert invalid_status("Widget", "example.dynakube.io", "w3", causes)["message"] == (
        'Widget.example.dynakube.io "w3" is invalid: spec: Invalid value: only large widgets '
        "may have more than 10 replicas")
    assert _check(_widget({"replicas": 20, "size": "large"})) == []


def test_recorded_valid_widget_is_accepted_and_defaulted() -> None:
    obj = _widget({"port": "http", "size": "small", "tags": ["a"]})
    assert _check(obj) == []
    assert obj["spec"] == {"port": "http", "size": "small", "tags": ["a"], "replicas": 1}


# ---------------------------------------------------------------- more schema errors


def test_type_errors_block_cel_rules() -> None:
    assert _check(_widget({"size": "small", "replicas": "string"})) == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
        'integer: "string"', SKIPPED]
    assert _check(_widget({"size": "small", "port": True})) == [
        'spec.port: Invalid value: "boolean": spec.port in body must be of type '
        'integer,string: "boolean"', SKIPPED]


def test_invalid_values_do_not_block_cel_rules() -> None:
    assert _check(_widget({"size": "small", "replicas": 50, "color": "red"})) == [
        "spec.color: Invalid value: \"red\": spec.color in body should match '^#[0-9a-f]{6}$'",
        "spec: Invalid value: only large widgets may have more than 10 replicas"]


def test_required_null_and_nullable() -> None:
    assert _check(_widget({"size": None})) == ["spec.size: Required value", SKIPPED]
    assert _check({"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                   "metadata": {"name": "w"}}) == ["spec: Required value", SKIPPED]
    obj = _widget({"size": "small", "color": None, "replicas": None})
    assert _check(obj) == []
    assert obj["spec"] == {"size": "small", "color": None, "replicas": 1}


def test_whole_floats_become_integers_and_fractions_are_rejected() -> None:
    obj = _widget({"size": "small", "replicas": 3.0, "ports": [{"name": "a", "number": 80.0}]})
    assert _check(obj) == []
    assert obj["spec"]["replicas"] == 3 and isinstance(obj["spec"]["replicas"], int)
    assert isinstance(obj["spec"]["ports"][0]["number"], int)
    assert _check(_widget({"size": "small", "replicas": 2.5})) == [
        'spec.replicas: Invalid value: "number": spec.replicas in body must be of type '
        'integer: "number"', SKIPPED]
    assert _check(_widget({"size": "small", "ports": [{"name": "a", "number": 1.5}]})) == [
        'spec.ports[0].number: Invalid value: "float64": spec.ports[0].number in body must be '
        'of type int32: "float64"', SKIPPED]


def test_lists_sizes_and_minimum() -> None:
    assert _check(_widget({"size": "small", "tags": list("abcdef")})) == [
        "spec.tags: Too many: 6: must have at most 5 items", SKIPPED]
    assert _check(_widget({"size": "small", "replicas": -1})) == [
        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or "
        "equal to 0"]
    assert _check(_widget({"size": "small", "ports": [{"name": "a", "number": 1},
                                                      {"name": "a", "number": 2}]})) == [
        'spec.ports[1]: Duplicate value: {"name":"a"}']
    assert _check(_widget({"size": "small", "ports": [{"name": "a"}]})) == [
        "spec.ports[0].number: Required value", SKIPPED]


def test_int_or_string_map_values_and_patterns() -> None:
    assert _check(_widget({"size": "small", "limits": {"cpu": "500m", "pods": 4}})) == []
    assert _check(_widget({"size": "small", "limits": {"cpu": "lots"}})) == [
        "spec.limits.cpu: Invalid value: \"lots\": spec.limits.cpu in body should match "
        "'^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?"
        "(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'"]
    assert _check(_widget({"size": "small", "limits": {"cpu": True}})) == [
        'spec.limits.cpu: Invalid value: "boolean": spec.limits.cpu in body must be of type '
        'integer,string: "boolean"',
        '<nil>: Invalid value: "": "spec.limits.cpu" must validate at least one schema (anyOf)',
        'spec.limits.cpu: Invalid value: "boolean": spec.limits.cpu in body must be of type '
        'integer: "boolean"', SKIPPED]


def test_embedded_resources_need_apiversion_and_kind() -> None:
    assert _check(_widget({"size": "small", "template": {"metadata": {"name": "x"}}})) == [
        "spec.template.apiVersion: Required value: must not be empty",
        "spec.template.kind: Required value: must not be empty", SKIPPED]
    assert _check(_widget({"size": "small", "template": {
        "apiVersion": "v1", "kind": "Pod", "spec": {"anything": 1}}})) == []


def test_other_keywords() -> None:
    schema = {"type": "object", "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 5},
        "when": {"type": "string", "format": "date-time"},
        "ratio": {"type": "number", "maximum": 1.5, "exclusiveMinimum": True, "minimum": 0,
                  "multipleOf": 0.5},
        "list": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "integer"}},
        "map": {"type": "object", "maxProperties": 1},
    }}
    obj = {"name": "toolongname", "when": "yesterday", "ratio": 0, "list": [], "map": {"a": 1,
                                                                                       "b": 2}}
    assert [str(c) for c in validate_custom_resource(obj, schema)] == [
        "list: Invalid value: 0: list in body should have at least 1 items",
        "map: Too many: 2: must have at most 1 item",
        "name: Too long: may not be more than 5 bytes",
        "ratio: Invalid value: 0: ratio in body should be greater than 0",
        'when: Invalid value: "yesterday": when in body must be of type date-time: "yesterday"',
    ]
    obj = {"name": "ab", "ratio": 1.25, "list": [1, 1]}
    assert [str(c) for c in validate_custom_resource(obj, schema)] == [
        'list: Invalid value: "": list in body shouldn\'t contain duplicates',
        'name: Invalid value: "ab": name in body should be at least 3 chars long',
        "ratio: Invalid value: 1.25: ratio in body should be a multiple of 0.5",
    ]


# ---------------------------------------------------------------- pruning and defaults


def test_prune_reports_unknown_fields_everywhere() -> None:
    obj = _widget({"size": "small", "bogus": 1, "config": {"free": {"form": True}},
                   "template": {"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": "p", "bogus": 2}, "spec": {"x": 1}},
                   "ports": [{"name": "a", "number": 1, "extra": True}],
                   "limits": {"cpu": 1}},
                  status={"phase": "Ready", "bogus": 3}, bogus=4)
    obj["metadata"]["bogus"] = 5
    unknown = prune(obj, _schema())
    assert unknown == ["metadata.bogus", "spec.bogus", "spec.template.metadata.bogus",
                       "spec.ports[0].extra", "status.bogus", "bogus"]
    assert obj["spec"]["config"] == {"free": {"form": True}}
    assert obj["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": "p"}, "spec": {"x": 1}}
    assert obj["status"] == {"phase": "Ready"} and "bogus" not in obj
    assert prune(obj, _schema()) == []


def test_preserve_unknown_fields_at_the_root_keeps_everything() -> None:
    obj = {"apiVersion": "example.dynakube.io/v1beta1", "kind": "Widget",
           "metadata": {"name": "w"}, "spec": {"anything": [1, 2]}}
    assert prune(obj, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}) == []
    assert obj["spec"] == {"anything": [1, 2]}


def test_defaults_fill_nested_objects_and_list_items() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "default": {},
                                                        "properties": {
        "mode": {"type": "string", "default": "fast"},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "weight": {"type": "integer", "default": 1}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    }}}}
    obj: dict[str, Any] = {"metadata": {"name": "x"}}
    apply_defaults(obj, schema)
    assert obj["spec"] == {"mode": "fast"}
    obj = {"spec": {"items": [{}, {"weight": 5}], "labels": {"a": None, "b": "c"}}}
    apply_defaults(obj, schema)
    assert obj["spec"] == {"items": [{"weight": 1}, {"weight": 5}], "labels": {"b": "c"},
                           "mode": "fast"}


def test_strict_and_warn_wording() -> None:
    assert strict_decoding_message("Widget", "v1", ["spec.bogus", "bogus"]) == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: '
        'unknown field "spec.bogus", unknown field "bogus"')
    assert unknown_field_warning("spec.bogus") == 'unknown field "spec.bogus"'


def test_configmap_strict_and_warn_match_the_recordings() -> None:
    strict = _behaviour("create_configmap_strict_unknown_field")
    body = copy.deepcopy(strict["request"]["body"])
    result = decode_builtin(body, "io.k8s.api.core.v1.ConfigMap")
    assert result.error is None and result.unknown == ["bogus"]
    assert strict_decoding_message("ConfigMap", "v1", result.unknown) == strict["body"]["message"]
    warn = _behaviour("create_configmap_warn_unknown_field")
    assert warn["headers"]["Warning"] == f'299 - "{unknown_field_warning("bogus")}"'.replace(
        '"bogus"', '\\"bogus\\"')


# ---------------------------------------------------------------- built-in decoding


def test_builtin_unknown_fields_and_nulls() -> None:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "a", "bogus": 1, "labels": None},
                            "data": {"k": "v"}, "bogus": 2, "immutable": None}
    result = decode_builtin(body, "io.k8s.api.core.v1.ConfigMap")
    assert result.error is None
    assert result.unknown == ["metadata.bogus", "bogus"]
    assert body == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                    "data": {"k": "v"}}


def test_builtin_partial_schemas_never_report_unknown_fields() -> None:
    body: dict[str, Any] = {"spec": {"affinity": {"nodeAffinity": {}}, "containers": [
        {"name": "c", "securityContext": {"runAsUser": 1}}]}}
    result = decode_builtin(body, "io.k8s.api.core.v1.Pod")
    assert result.error is None and result.unknown == []
    assert body["spec"]["affinity"] == {"nodeAffinity": {}}


@pytest.mark.parametrize(("schema", "body", "detail"), [
    ("io.k8s.api.apps.v1.Deployment", {"spec": {"replicas": "3"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
     "int32"),
    ("io.k8s.api.apps.v1.Deployment", {"spec": {"replicas": 3.0}},
     "json: cannot unmarshal number 3.0 into Go struct field DeploymentSpec.spec.replicas of "
     "type int32"),
    ("io.k8s.api.apps.v1.Deployment", {"spec": "x"},
     "json: cannot unmarshal string into Go struct field Deployment.spec of type "
     "v1.DeploymentSpec"),
    ("io.k8s.api.core.v1.ConfigMap", {"data": {"a": 1}},
     "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    ("io.k8s.api.core.v1.ConfigMap", {"data": ["a"]},
     "json: cannot unmarshal array into Go struct field ConfigMap.data of type "
     "map[string]string"),
    ("io.k8s.api.core.v1.Pod", {"spec": {"containers": [{"name": "c", "ports": [
        {"containerPort": "80"}]}]}},
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports."
     "containerPort of type int32"),
    ("io.k8s.api.core.v1.Secret", {"data": {"a": "abcde"}}, "illegal base64 data at input byte 4"),
    ("io.k8s.api.core.v1.Secret", {"data": {"a": "ab$="}}, "illegal base64 data at input byte 2"),
    ("io.k8s.api.core.v1.Service", {"spec": {"ports": [{"port": 1, "targetPort": True}]}},
     "json: cannot unmarshal bool into Go value of type int32"),
    ("io.k8s.api.core.v1.ConfigMap", {"metadata": {"creationTimestamp": 5}},
     "json: cannot unmarshal number into Go value of type string"),
])
def test_builtin_type_errors(schema: str, body: dict[str, Any], detail: str) -> None:
    assert decode_builtin(body, schema).error == detail


def test_builtin_decoding_accepts_valid_bodies() -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 2, "strategy": {"rollingUpdate": {"maxSurge": "25%",
                                                                   "maxUnavailable": 1}},
                     "template": {"spec": {"containers": [{"name": "c", "resources": {
                         "limits": {"cpu": "500m", "memory": 1024}}}]}}}}
    result = decode_builtin(body, "io.k8s.api.apps.v1.Deployment")
    assert result.error is None and result.unknown == []
    assert cannot_handle_message("Deployment", "v1", "x") == (
        'Deployment in version "v1" cannot be handled as a Deployment: x')
    with pytest.raises(InvalidArgumentError):
        decode_builtin({}, "io.k8s.api.core.v1.Nothing")


# ---------------------------------------------------------------- value printing and CEL


@pytest.mark.parametrize(("value", "text"), [
    (500, "500"), (1.5, "1.5"), (100.0, "100"), (1e21, "1e+21"), (0.00001, "1e-05"),
    (True, "true"), (None, "null"), ("a\"b", '"a\\"b"'), ({"b": 1, "a": [1]}, '{"a":[1],"b":1}'),
])
def test_go_value(value: Any, text: str) -> None:
    assert go_value(value) == text


@pytest.mark.parametrize(("rule", "value", "expected"), [
    ("self.replicas <= 10 || self.size == 'large'", {"replicas": 20, "size": "small"}, False),
    ("self.replicas <= 10 || self.size == 'large'", {"replicas": 20, "size": "large"}, True),
    ("has(self.a) && size(self.a) == 3", {"a": "abc"}, True),
    ("!has(self.a)", {"a": 1}, False),
    ("self.x in ['a', 'b'] && self.l.size() == 2", {"x": "b", "l": [1, 2]}, True),
    ("self.a + self.b * 2 - 1 == 9 && self.a % 3 == 1 && 7 / 2 == 3", {"a": 4, "b": 3}, True),
    ("self.n > 1.5 && -self.m < 0", {"n": 2.0, "m": 1}, True),
    ("self.s.startsWith(\"ab\") && self.s.endsWith('c') && self.s.contains('b')",
     {"s": "abc"}, True),
    ("self.a > 1 ? self.b == 'x' : true", {"a": 2, "b": "y"}, False),
    ("self.missing == 1 || true", {}, True),
    ("self.m['k'] == 1 && self.l[1] == 2", {"m": {"k": 1}, "l": [1, 2]}, True),
])
def test_cel_subset(rule: str, value: Any, expected: bool) -> None:
    assert compile_rule(rule).evaluate(value) is expected


@pytest.mark.parametrize("rule", [
    "self.all(x, x > 0)", "self.a.matches('x')", "int(self.a) > 1", "self.a >>> 1", "",
])
def test_cel_outside_the_subset_is_refused(rule: str) -> None:
    with pytest.raises(CelUnsupported):
        compile_rule(rule)


def test_cel_evaluation_errors_raise_and_skip_the_rule() -> None:
    with pytest.raises(CelUnsupported):
        compile_rule("self.missing > 1").evaluate({})
    with pytest.raises(CelUnsupported):
        compile_rule("self.a < 'x'").evaluate({"a": 1})
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-validations": [
            {"rule": "self.all(x, x > 0)"}, {"rule": "self.nope > 1"},
            {"rule": "self.a > 1"}, {"rule": "self.a != oldSelf.a", "message": "changed"}]}}}
    causes = validate_custom_resource({"spec": {"a": 0}}, schema)
    assert [str(c) for c in causes] == ["spec: Invalid value: failed rule: self.a > 1"]
    causes = validate_custom_resource({"spec": {"a": 5}}, schema, old={"spec": {"a": 5}})
    assert [str(c) for c in causes] == ["spec: Invalid value: changed"]
