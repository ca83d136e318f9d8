"""Client-side validation against the real server's OpenAPI v3 documents (recorded in shared/)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from dynakube.errors import InvalidArgumentError, Problem, ValidationError
from dynakube.schema import DocumentSchemas, document_path
from dynakube.schema.openapi import COMPONENTS, document_kinds
from dynakube.schema.validate import check, format_path, validate

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api"
OPENAPI = SHARED / "v1.36" / "openapi" / "v3"


def _load_documents() -> dict[str, dict[str, Any]]:
    docs = {}
    for file in sorted(OPENAPI.rglob("*.json")):
        rel = file.relative_to(OPENAPI).with_suffix("").as_posix()
        if rel.count("/") < 1 or not (rel.startswith("api/") or rel.startswith("apis/")):
            continue
        body = json.loads(file.read_text())["body"]
        if isinstance(body, dict) and "components" in body:
            docs[rel] = body
    return docs


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    if not OPENAPI.is_dir():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    return _load_documents()


@pytest.fixture(scope="module")
def schemas(documents: dict[str, dict[str, Any]]) -> DocumentSchemas:
    return DocumentSchemas(documents)


@pytest.fixture(scope="module")
def behaviour() -> dict[str, Any]:
    path = SHARED / "v1.36" / "behaviour.json"
    if not path.is_file():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    return json.loads(path.read_text())


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _by_path(problems: list[Problem]) -> dict[str, Problem]:
    return {p.path: p for p in problems}


# -- minimal objects for every kind ---------------------------------------------------------

def _minimal(schema: Any, definitions: dict[str, Any], depth: int = 0) -> Any:
    """The smallest value the schema accepts, built from its required fields."""
    assert depth < 40, "runaway recursion while building a minimal object"
    if "$ref" in schema:
        return _minimal(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            return _minimal(schema[key][0], definitions, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    typ = schema.get("type")
    if typ == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _minimal(props.get(name, {}), definitions, depth + 1)
                for name in schema.get("required", [])}
    if typ == "array":
        return [_minimal(schema.get("items", {}), definitions, depth + 1)
                for _ in range(schema.get("minItems", 0))]
    if typ == "integer":
        return schema.get("minimum", 1)
    if typ == "number":
        return 1
    if typ == "boolean":
        return False
    fmt = schema.get("format")
    return {"date-time": "2026-01-02T03:04:05Z", "byte": "aGk=", "quantity": "1"}.get(fmt, "x")


def test_every_kind_converts_and_its_minimal_object_passes(
        documents: dict[str, dict[str, Any]], schemas: DocumentSchemas) -> None:
    from jsonschema import Draft4Validator

    checked = 0
    for path, document in documents.items():
        for entry in document_kinds(document):
            if document_path(entry.group, entry.version) != path:
                continue  # DeleteOptions, WatchEvent... claimed by every group
            resolved = schemas.kind_schema(entry.group, entry.version, entry.kind)
            assert resolved is not None, (path, entry)
            Draft4Validator.check_schema(resolved)
            if "kind" not in resolved.get("properties", {}):
                continue  # WatchEvent: never sent as an object of its own
            obj = _minimal(resolved, resolved.get("definitions", {}))
            obj["apiVersion"] = f"{entry.group}/{entry.version}" if entry.group else entry.version
            obj["kind"] = entry.kind
            if "ObjectMeta" in json.dumps(resolved.get("properties", {}).get("metadata")):
                obj.setdefault("metadata", {"name": "minimal"})
            # plain jsonschema accepts it under the self-contained schema ...
            assert list(Draft4Validator(resolved).iter_errors(obj)) == [], (path, entry.kind)
            # ... and so does dynakube's validator, without a single warning
            assert validate(schemas, obj, field_validation="Strict") == [], (path, entry.kind)
            checked += 1
    assert checked > 100, checked


def test_a_document_converts_lazily_only_what_a_kind_reaches(schemas: DocumentSchemas) -> None:
    found = schemas.converter("apps", "v1")
    assert found is not None
    _, converter = found
    closure = converter.closure("io.k8s.api.apps.v1.Deployment")
    assert "io.k8s.api.core.v1.PodSpec" in closure
    assert "io.k8s.api.apps.v1.StatefulSet" not in closure
    bundle = converter.bundle("io.k8s.api.apps.v1.Deployment")
    assert set(bundle["components"]["schemas"]) == set(closure)
    # $ref links are kept (resolved through referencing), not inlined
    meta = bundle["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["properties"]
    assert meta["metadata"]["allOf"] == [
        {"$ref": COMPONENTS + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]


def test_validators_are_compiled_once_per_kind(schemas: DocumentSchemas) -> None:
    first = check(schemas, "apps", "v1", "Deployment")
    assert first is not None and first is check(schemas, "apps", "v1", "Deployment")
    assert check(schemas, "apps", "v1", "NoSuchKind") is None
    assert check(schemas, "nosuch.example.com", "v1", "Thing") is None


# -- the Widget custom resource, judged like the real server ----------------------------------

def test_widget_catches_every_violation_the_server_reported(
        schemas: DocumentSchemas, behaviour: dict[str, Any]) -> None:
    recorded = behaviour["create_widget_invalid"]
    assert recorded["status"] == 422
    server_fields = {c["field"] for c in recorded["body"]["details"]["causes"]
                     if c["field"] != "<nil>"}
    problems = validate(schemas, recorded["request"]["body"])
    assert {p.path for p in _errors(problems)} == server_fields
    by_path = _by_path(problems)
    assert by_path["spec.color"].expected == "a string matching ^#[0-9a-f]{6}$"
    assert by_path["spec.replicas"].expected == "at most 100"
    assert by_path["spec.replicas"].found == "integer 500"
    assert by_path["spec.size"].expected == 'one of "small", "medium", "large"'
    assert "duplicate" in by_path["spec.tags[1]"].message


@pytest.mark.parametrize("name", ["create_widget", "create_widget_cel_rule",
                                  "create_widget_deprecated_version"])
def test_widget_accepts_what_the_server_accepted_or_judged_only_by_cel(
        schemas: DocumentSchemas, behaviour: dict[str, Any], name: str) -> None:
    recorded = behaviour[name]
    assert validate(schemas, recorded["request"]["body"], field_validation="Strict") == []
    if recorded["status"] < 300:  # and what it answered, server-set fields and all
        assert validate(schemas, recorded["body"], field_validation="Strict") == []


def _widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": {"size": "small", **spec}}


@pytest.mark.parametrize("spec", [
    {"replicas": 3.0},                     # a whole float is stored as an integer
    {"color": None},                       # nullable
    {"replicas": None},                    # null on a non-nullable field is dropped
    {"port": 8080}, {"port": "http"},      # int-or-string
    {"limits": {"cpu": "500m", "memory": "1Gi", "n": 3}},
    {"config": {"anything": {"goes": [1, "two"]}}},   # preserve-unknown-fields
    {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                  "spec": {"whatever": True}}},      # embedded resource
    {"ports": [{"name": "a", "number": 1}, {"name": "b", "number": 1}]},
    {"tags": ["a", "b"]},
])
def test_widget_accepts_what_the_server_accepts(schemas: DocumentSchemas,
                                                spec: dict[str, Any]) -> None:
    assert validate(schemas, _widget(**spec), field_validation="Strict") == []


@pytest.mark.parametrize(("spec", "path"), [
    ({"replicas": 3.5}, "spec.replicas"),
    ({"replicas": -1}, "spec.replicas"),
    ({"port": True}, "spec.port"),
    ({"limits": {"cpu": "lots"}}, "spec.limits.cpu"),
    ({"ports": [{"name": "a", "number": 1}, {"name": "a", "number": 2}]}, "spec.ports[1]"),
    ({"ports": [{"name": "a"}]}, "spec.ports[0].number"),
    ({"tags": ["a", "b", "c", "d", "e", "f"]}, "spec.tags"),
    ({"template": {"apiVersion": "v1", "metadata": {}}}, "spec.template.kind"),
    ({"size": None}, "spec.size"),         # dropped, then required
])
def test_widget_violations_are_errors(schemas: DocumentSchemas, spec: dict[str, Any],
                                      path: str) -> None:
    problems = validate(schemas, _widget(**spec))
    assert path in {p.path for p in _errors(problems)}, problems


def test_widget_without_spec_is_missing_a_required_field(schemas: DocumentSchemas) -> None:
    obj = _widget()
    del obj["spec"]
    (problem,) = validate(schemas, obj)
    assert (problem.path, problem.severity) == ("spec", "error")
    assert problem.message == "required field is missing"


def test_unknown_field_inside_an_embedded_resources_metadata(schemas: DocumentSchemas) -> None:
    obj = _widget(template={"apiVersion": "v1", "kind": "Pod", "metadata": {"nmae": "p"}})
    (problem,) = validate(schemas, obj, field_validation="Strict")
    assert problem.path == "spec.template.metadata.nmae"
    assert problem.suggestion == "name"


# -- unknown fields, suggestions, modes -------------------------------------------------------

@pytest.mark.parametrize(("mode", "severity"), [("Strict", "error"), ("Warn", "warning"),
                                                ("Ignore", None)])
def test_unknown_fields_follow_field_validation(schemas: DocumentSchemas,
                                                behaviour: dict[str, Any], mode: str,
                                                severity: str | None) -> None:
    obj = behaviour["create_configmap_strict_unknown_field"]["request"]["body"]
    problems = validate(schemas, obj, field_validation=mode)
    if severity is None:
        assert problems == []
    else:
        (problem,) = problems
        assert (problem.path, problem.severity) == ("bogus", severity)
        assert problem.message == "unknown field 'bogus'"


def test_misspelled_fields_get_a_suggestion(schemas: DocumentSchemas) -> None:
    obj = _deployment()
    obj["spec"]["replcas"] = 3
    obj["spec"]["template"]["spec"]["containers"][0]["Image"] = "nginx"
    problems = _by_path(validate(schemas, obj, field_validation="Strict"))
    assert problems["spec.replcas"].suggestion == "replicas"
    assert str(problems["spec.replcas"]) == (
        "spec.replcas: unknown field 'replcas' (did you mean 'replicas'?)")
    assert problems["spec.template.spec.containers[0].Image"].suggestion == "image"


def test_unknown_field_under_status_is_still_unknown(schemas: DocumentSchemas) -> None:
    obj = _deployment()
    obj["status"] = {"replicas": "many", "bogus": 1}
    problems = _by_path(validate(schemas, obj, field_validation="Strict"))
    assert problems["status.bogus"].severity == "error"
    assert problems["status.replicas"].severity == "warning"  # the server resets status


def test_raise_errors_lists_every_problem_best_first(schemas: DocumentSchemas) -> None:
    obj = _deployment()
    obj["spec"]["replcas"] = 3
    obj["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "http"}]
    with pytest.raises(ValidationError) as caught:
        validate(schemas, obj, raise_errors=True)
    error = caught.value
    assert [p.severity for p in error.problems] == ["error", "warning"]
    assert error.problems[0].path == "spec.template.spec.containers[0].ports[0].containerPort"
    assert error.kind == "Deployment" and error.name == "web"
    assert "spec.replcas" in str(error)
    # warnings alone never raise
    obj = _deployment()
    obj["spec"]["replcas"] = 3
    assert len(validate(schemas, obj, raise_errors=True)) == 1


def test_bad_arguments_are_refused(schemas: DocumentSchemas) -> None:
    with pytest.raises(InvalidArgumentError):
        validate(schemas, _deployment(), field_validation="strict")
    problems = validate(schemas, {"metadata": {"name": "x"}})
    assert [p.path for p in problems] == ["apiVersion", "kind"]


# -- built-in kinds ----------------------------------------------------------------------------

def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "b"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"},
                                  "requests": {"cpu": 0.1}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                }]},
            },
        },
    }


@pytest.mark.parametrize("change", [
    lambda d: d["metadata"].update(name=None, generateName="web-"),
    lambda d: d["metadata"].pop("name"),
    lambda d: d["spec"].update(replicas=None),             # null means not set
    lambda d: d.update(status={"replicas": 1}),
    lambda d: d["metadata"].update(uid="0b2c", resourceVersion="12",
                                   creationTimestamp="2026-11-22T02:26:13Z", generation=3),
    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolicy=""),
])
def test_built_in_kinds_accept_what_the_server_accepts(schemas: DocumentSchemas,
                                                       change: Any) -> None:
    obj = _deployment()
    change(obj)
    assert _errors(validate(schemas, obj, field_validation="Strict")) == []


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["spec"].update(replicas=3.0), "spec.replicas"),      # 400 on built-ins
    (lambda d: d["spec"].update(replicas="3"), "spec.replicas"),
    (lambda d: d["spec"].pop("selector"), "spec.selector"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
     "spec.template.spec.containers[0].name"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
        containerPort=2**31), "spec.template.spec.containers[0].ports[0].containerPort"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
        protocol="HTTP"), "spec.template.spec.containers[0].ports[0].protocol"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].update(
        cpu="half"), "spec.template.spec.containers[0].resources.limits.cpu"),
    (lambda d: d["metadata"].update(creationTimestamp="yesterday"),
     "metadata.creationTimestamp"),
    (lambda d: d["metadata"].update(labels=["app"]), "metadata.labels"),
])
def test_built_in_violations_are_errors(schemas: DocumentSchemas, change: Any,
                                        path: str) -> None:
    obj = _deployment()
    change(obj)
    assert path in {p.path for p in _errors(validate(schemas, obj))}


def test_configmap_binary_data_must_be_base64(schemas: DocumentSchemas) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
           "binaryData": {"ok": "aGVsbG8=", "bad": "not base64!"}}
    (problem,) = validate(schemas, obj)
    assert problem.path == "binaryData.bad" and problem.expected == "base64-encoded bytes"


def test_required_fields_the_server_fills_with_zero_values_only_warn(
        schemas: DocumentSchemas) -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "i"}],
                    "volumes": [{"name": "v", "iscsi": {"targetPortal": "t", "iqn": "q"}}]}}
    (problem,) = validate(schemas, obj)
    assert problem.path == "spec.volumes[0].iscsi.lun"
    assert problem.severity == "warning"   # lun 0 is valid, and missing means 0


def test_format_path_writes_paths_the_way_people_do() -> None:
    assert format_path(["spec", "containers", 0, "ports", 1, "containerPort"]) == (
        "spec.containers[0].ports[1].containerPort")
    assert format_path(["metadata", "labels", "app.kubernetes.io/name"]) == (
        "metadata.labels[app.kubernetes.io/name]")
    assert format_path([]) == ""


# -- the quick check never hides a problem ------------------------------------------------------

_MUTATIONS: list[Any] = [
    lambda d: d["spec"].update(replicas=None),
    lambda d: d["spec"].update(replicas=2.0),
    lambda d: d["spec"].update(paused="yes"),
    lambda d: d["spec"].update(extra=1),
    lambda d: d["spec"]["selector"].update(matchLabels={"a": 1}),
    lambda d: d["spec"]["template"]["spec"]["containers"].append(
        copy.deepcopy(d["spec"]["template"]["spec"]["containers"][0])),
    lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"].append(
        {"containerPort": 80}),
    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(tty=None),
    lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"].update(
        claims=[{"name": "a"}, {"name": "a"}]),
    lambda d: d["metadata"].update(creationTimestamp="2026-11-22 02:26:13"),
    lambda d: d["spec"]["strategy"].update(rollingUpdate={"maxSurge": "25%",
                                                          "maxUnavailable": 1.5}),
    lambda d: d.update(status={"conditions": [{"status": "True"}]}),
]


@pytest.mark.parametrize("index", range(len(_MUTATIONS)))
def test_quick_check_says_clean_only_when_the_full_validator_agrees(
        schemas: DocumentSchemas, index: int) -> None:
    compiled = check(schemas, "apps", "v1", "Deployment")
    assert compiled is not None
    obj = _deployment()
    obj["spec"]["strategy"] = {"type": "RollingUpdate"}
    _MUTATIONS[index](obj)
    full = list(compiled.full.iter_errors(obj))
    if full:
        assert not compiled.quick(obj)
    assert compiled.quick(_deployment())


def test_nothing_the_real_server_accepted_or_sent_is_an_error(
        schemas: DocumentSchemas, behaviour: dict[str, Any]) -> None:
    checked = 0
    for name, entry in behaviour.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            continue
        request = entry["request"]
        candidates = []
        if (request.get("method") in ("POST", "PUT") and entry.get("status", 500) < 300
                and request.get("contentType") == "application/json"):
            candidates.append(request.get("body"))
        candidates.append(entry.get("body"))  # what the server itself answered
        for obj in candidates:
            if not (isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind")):
                continue
            if obj["kind"] in ("Status", "Table") or obj["kind"].endswith("List"):
                continue
            assert _errors(validate(schemas, obj)) == [], (name, validate(schemas, obj))
            checked += 1
    assert checked >= 15, checked


def test_importing_the_schema_modules_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, dynakube.schema, dynakube.schema.validate, dynakube.schema.explain; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jsonschema', 'referencing', 'yaml', 'requests')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, prefix + (k,))] or [prefix]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, prefix + (i,))] or [prefix]
    return [prefix]


_REMOVED = object()


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set the value at ``path``; ``_REMOVED`` deletes it (a required field gone)."""
    for part in path[:-1]:
        obj = obj[part]
    if value is _REMOVED:
        if isinstance(obj, dict):
            obj.pop(path[-1], None)
        return
    obj[path[-1]] = value


@pytest.mark.parametrize("partial", [False, True], ids=["whole", "partial"])
def test_quick_check_agrees_with_the_full_validator_on_every_kind(
        documents: dict[str, dict[str, Any]], schemas: DocumentSchemas, partial: bool) -> None:
    """Mutate the minimal object of every kind; "clean" must never hide an error."""
    replacements = [None, 1, 1.5, "x", "", True, [], [None], {}, {"zzz": 1}, "2026-13-45",
                    "2026-02-30T00:00:00Z", 2**31, 2**40, 2**63]
    compared = 0
    for path, document in documents.items():
        for entry in document_kinds(document):
            if document_path(entry.group, entry.version) != path:
                continue
            compiled = check(schemas, entry.group, entry.version, entry.kind)
            resolved = schemas.kind_schema(entry.group, entry.version, entry.kind)
            assert compiled is not None and resolved is not None
            if "kind" not in resolved.get("properties", {}):
                continue
            quick = compiled.quick_check(partial=partial)
            full = compiled.full_validator(partial=partial)
            base = _minimal(resolved, resolved.get("definitions", {}))
            base.update(apiVersion="x", kind=entry.kind)
            assert quick(base), entry  # a clean object is seen to be clean
            for leaf in _leaf_paths(base) + [("zzz",)]:
                if not leaf:
                    continue
                for value in [*replacements, _REMOVED]:
                    obj = copy.deepcopy(base)
                    _set(obj, leaf, value)
                    if quick(obj):
                        assert list(full.iter_errors(obj)) == [], (entry, leaf, value)
                    compared += 1
    assert compared > 1000, compared


# -- RE2 patterns and numbers at the edges, on a small custom-resource document -------------

def _thing_schemas(spec: dict[str, Any]) -> DocumentSchemas:
    document = {"components": {"schemas": {"io.example.v1.Thing": {
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": "example.io", "version": "v1", "kind": "Thing"}],
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "spec": {"type": "object", "properties": spec},
        },
    }}}}
    return DocumentSchemas({"apis/example.io/v1": document})


def _thing(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "t"},
            "spec": spec}


@pytest.mark.parametrize(("pattern", "value"), [
    ("^[[:alpha:]]+$", "abc"),      # an RE2 class Python reads as a different set
    ("^[[:^digit:]]+$", "abc"),
    (r"^\D+$", "\u0663"),           # RE2's \D is "not an ASCII digit": an Arabic-Indic 3 is one
    (r"^\S+$", "\u2003x"),          # RE2's \s is ASCII only: an em space is not white space
    (r"^a\b", "a\u00e9"),           # RE2's word boundary is ASCII too
])
def test_patterns_are_never_stricter_than_re2(pattern: str, value: str) -> None:
    schemas = _thing_schemas({"code": {"type": "string", "pattern": pattern}})
    assert validate(schemas, _thing(code=value)) == []


def test_patterns_python_reads_like_re2_still_catch_violations() -> None:
    schemas = _thing_schemas({"code": {"type": "string", "pattern": r"^\d+$"}})
    problems = validate(schemas, _thing(code="12a"))
    assert [(p.path, p.severity) for p in problems] == [("spec.code", "error")]
    assert validate(schemas, _thing(code="123")) == []


def test_multiple_of_with_a_huge_number_is_judged_not_crashed() -> None:
    schemas = _thing_schemas({"size": {"type": "number", "multipleOf": 0.5}})
    assert validate(schemas, _thing(size=1e308)) == []  # a whole number: a multiple of 0.5
    problems = validate(schemas, _thing(size=0.3))
    assert [(p.path, p.severity) for p in problems] == [("spec.size", "error")]


# -- a validator that cannot validate says so, never "valid" --------------------------------

def test_a_schema_the_checks_cannot_follow_is_an_error_not_valid() -> None:
    # a broken document (an aggregated API server's, a proxy's): allOf must be a list
    gvk = [{"group": "example.dynakube.io", "version": "v1", "kind": "Odd"}]
    store = DocumentSchemas({"apis/example.dynakube.io/v1": {"components": {"schemas": {
        "io.dynakube.example.v1.Odd": {"allOf": 7, "x-kubernetes-group-version-kind": gvk}}}}})
    obj = {"apiVersion": "example.dynakube.io/v1", "kind": "Odd"}
    problems = validate(store, obj)
    assert [p.severity for p in problems] == ["error"]
    assert problems[0].message.startswith("could not be validated against the Odd schema")
    with pytest.raises(ValidationError, match="could not be validated"):
        validate(store, obj, raise_errors=True)


def test_an_object_the_checks_cannot_follow_is_an_error_not_valid(
        schemas: DocumentSchemas) -> None:
    nested: Any = {"type": "string"}
    for _ in range(1500):
        nested = {"type": "object", "properties": {"x": nested}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "deeps.example.dynakube.io"},
           "spec": {"group": "example.dynakube.io", "scope": "Namespaced",
                    "names": {"plural": "deeps", "kind": "Deep"}, "unknownField": 1,
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": nested}}]}}
    problems = validate(schemas, crd)
    assert [p.severity for p in problems] == ["error"]
    assert "could not be validated" in problems[0].message
