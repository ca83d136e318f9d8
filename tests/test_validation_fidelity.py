"""Client-side validation is never stricter than kube-apiserver 1.36, and catches what it refuses.

One test (or group) per class of issue 15: partial objects, built-in list-maps, ``""`` for a
built-in enum, the handle's own kind, malformed objects, the three misses (integer ranges,
calendar dates, ``null`` array items of custom resources), tables, and the quick check
agreeing with the full validator on all of them. Judged against the real server's own
OpenAPI v3 documents (``../shared``), and over the wire where a handle is involved.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from dynakube import errors
from dynakube.apiserver.seed import WIDGET_CRD, widget
from dynakube.client import Client
from dynakube.errors import Problem
from dynakube.schema import DocumentSchemas
from dynakube.schema.validate import check, validate


@functools.cache
def _documents(openapi: Path) -> DocumentSchemas:
    docs = {}
    for file in sorted(openapi.rglob("*.json")):
        rel = file.relative_to(openapi).with_suffix("").as_posix()
        if rel.startswith(("api/", "apis/")):
            body = json.loads(file.read_text())["body"]
            if isinstance(body, dict) and "components" in body:
                docs[rel] = body
    return DocumentSchemas(docs)


@pytest.fixture
def schemas(shared_api: Path) -> DocumentSchemas:
    """The real server's schemas: every built-in kind and the Widget CRD."""
    return _documents(shared_api / "v1.36" / "openapi" / "v3")


def _errors(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems if p.severity == "error"]


def _deployment(**spec: Any) -> dict[str, Any]:
    labels = {"app": "web"}
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    }
    obj["spec"].update(spec)
    return obj


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return container


def _service(**port: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, **port}]}}


def _thing_schemas(**spec: Any) -> DocumentSchemas:
    """A custom resource ``Thing`` whose ``spec`` has the given properties."""
    gvk = [{"group": "example.io", "version": "v1", "kind": "Thing"}]
    return DocumentSchemas({"apis/example.io/v1": {"components": {"schemas": {
        "io.example.v1.Thing": {
            "type": "object", "x-kubernetes-group-version-kind": gvk,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True},
                           "spec": {"type": "object", "properties": spec}}}}}}})


def _thing(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "t"},
            "spec": spec}


# -- 1. apply configurations and patches are partial ----------------------------------------

README_APPLY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 4}}


def test_an_apply_configuration_is_not_required_to_be_whole(schemas: DocumentSchemas) -> None:
    assert validate(schemas, README_APPLY, field_validation="Strict", partial=True) == []
    # the same body as a whole object (a create) misses what the server requires
    assert "spec.selector" in _errors(validate(schemas, README_APPLY))
    widget_patch = {"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                    "metadata": {"name": "w"}, "spec": {"replicas": 3}}  # no size
    assert validate(schemas, widget_patch, partial=True) == []
    assert _errors(validate(schemas, widget_patch)) == ["spec.size"]
    # counts and uniqueness are the merged result's, which only the server sees
    many_tags = widget("w", tags=list("abcdef"))
    assert _errors(validate(schemas, many_tags)) == ["spec.tags"]
    assert validate(schemas, many_tags, partial=True) == []


@pytest.mark.parametrize(("patch", "path"), [
    ({"spec": {"replicas": "4"}}, "spec.replicas"),
    ({"spec": {"replicas": 2**31}}, "spec.replicas"),
    ({"spec": {"strategy": {"type": "BlueGreen"}}}, "spec.strategy.type"),
    ({"spec": {"template": {"spec": {"containers": [{"name": "web", "ports": [
        {"containerPort": 80, "protocol": "HTTP"}]}]}}}},
     "spec.template.spec.containers[0].ports[0].protocol"),
    ({"spec": {"selector": {"matchLabels": {"app": 1}}}}, "spec.selector.matchLabels.app"),
    ({"metadata": {"creationTimestamp": "2026-13-01T00:00:00Z"}}, "metadata.creationTimestamp"),
    ({"spec": {"bogus": 1}}, "spec.bogus"),
])
def test_a_partial_object_is_still_judged_by_what_it_holds(
        schemas: DocumentSchemas, patch: dict[str, Any], path: str) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", **patch}
    assert _errors(validate(schemas, body, field_validation="Strict", partial=True)) == [path]


def test_apply_and_patches_over_the_wire_send_partial_bodies(kube_server: Any,
                                                             embedded: Client) -> None:
    deploy = embedded.resource("deployments")
    deploy.apply(_deployment(), field_manager="setup")  # replicas left to the server
    assert deploy.apply(copy.deepcopy(README_APPLY))["spec"]["replicas"] == 4  # the README
    assert embedded.apply(copy.deepcopy(README_APPLY))[0]["spec"]["replicas"] == 4
    assert deploy.patch("web", {"spec": {"replicas": 5}}, field_manager="scaler",
                        field_validation="Strict")["spec"]["replicas"] == 5
    assert deploy.patch("web", {"spec": {"replicas": 6}}, patch_type="strategic",
                        field_manager="scaler")["spec"]["replicas"] == 6
    kube_server.requests.clear()
    for patch_type in ("merge", "strategic", "apply"):
        with pytest.raises(errors.ValidationError, match="spec.replicas"):
            deploy.patch("web", {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "spec": {"replicas": "7"}}, patch_type=patch_type)
    assert kube_server.requests.count(method="PATCH") == 0  # refused before sending
    assert deploy.get("web")["spec"]["replicas"] == 6


def test_strategic_patch_directives_are_not_unknown_fields(kube: Client) -> None:
    deploy = kube.resource("deployments")
    deploy.create(_deployment())
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"name": "web", "image": "nginx:1.28"}]}}}}
    patched = deploy.patch("web", patch, patch_type="strategic", field_validation="Strict")
    assert _container(patched)["image"] == "nginx:1.28"
    with pytest.raises(errors.ValidationError, match="setElementOrder"):
        deploy.patch("web", patch, field_validation="Strict")  # a merge patch has none


# -- 2. built-in list-maps are not unique by the schema -------------------------------------

def test_duplicate_list_map_keys_of_built_in_kinds_pass(schemas: DocumentSchemas) -> None:
    obj = _deployment()
    _container(obj)["env"] = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    _container(obj)["ports"] = [{"containerPort": 80}, {"containerPort": 80, "protocol": "TCP"}]
    obj["spec"]["template"]["spec"]["tolerations"] = [{"key": "a"}, {"key": "a"}]
    assert validate(schemas, obj, field_validation="Strict") == []
    # custom resources: the server enforces list-map and set uniqueness itself
    dupes = widget("w", ports=[{"name": "a", "number": 1}, {"name": "a", "number": 2}],
                   tags=["x", "x"])
    assert _errors(validate(schemas, dupes)) == ["spec.ports[1]", "spec.tags[1]"]


# -- 3. "" for a built-in enum is not set -------------------------------------------------------

def test_an_empty_built_in_enum_counts_as_unset(schemas: DocumentSchemas) -> None:
    obj = _deployment(strategy={"type": ""})
    _container(obj)["imagePullPolicy"] = ""
    _container(obj)["ports"] = [{"containerPort": 80, "protocol": ""}]
    assert validate(schemas, obj, field_validation="Strict") == []
    assert validate(schemas, _service(protocol=""), field_validation="Strict") == []
    # a custom resource's enum has no zero value: the server refuses "" there
    assert _errors(validate(schemas, widget("w", size=""))) == ["spec.size"]


# -- 4. the handle supplies apiVersion and kind -----------------------------------------------

def test_a_resource_handle_checks_an_object_as_its_own_kind(kube: Client) -> None:
    deploy = kube.resource("deployments")
    bare = {k: v for k, v in _deployment().items() if k not in ("apiVersion", "kind")}
    deploy.check(bare, field_validation="Strict")
    bare["spec"]["replicas"] = "two"
    with pytest.raises(errors.ValidationError, match="(?s)Deployment.*spec.replicas") as info:
        deploy.check(bare)
    assert [p.path for p in info.value.problems] == ["spec.replicas"]
    with pytest.raises(errors.ValidationError, match="spec.selector"):
        deploy.check({"metadata": {"name": "web"}, "spec": {"replicas": 1}})
    deploy.check({"metadata": {"name": "web"}, "spec": {"replicas": 1}}, partial=True)


# -- 5. a malformed object is a problem, never an exception -----------------------------------

MALFORMED: list[tuple[Any, str]] = [
    ({**_deployment(), "metadata": ["name", "web"]}, "metadata"),
    ({**_deployment(), "spec": "three replicas"}, "spec"),
    ({**_deployment(), "metadata": {"name": "web", "labels": ["app"]}}, "metadata.labels"),
    ({**_deployment(), "metadata": "web"}, "metadata"),
    (["apiVersion", "v1"], ""),
    ("kind: ConfigMap", ""),
    (None, ""),
    (7, ""),
    ({"apiVersion": ["v1"], "kind": "ConfigMap"}, "apiVersion"),
    ({"apiVersion": "v1", "kind": {"name": "ConfigMap"}}, "kind"),
]


@pytest.mark.parametrize(("obj", "path"), MALFORMED)
def test_validate_returns_problems_for_malformed_objects(
        schemas: DocumentSchemas, obj: Any, path: str) -> None:
    for partial in (False, True):
        problems = validate(schemas, obj, partial=partial)
        assert path in _errors(problems), problems
    with pytest.raises(errors.ValidationError):
        validate(schemas, obj, raise_errors=True)


def test_kube_validate_returns_problems_for_malformed_objects(kube: Client) -> None:
    for obj, path in MALFORMED:
        assert path in _errors(kube.validate(obj)), obj
    with pytest.raises(errors.ValidationError, match="metadata"):
        kube.validate(MALFORMED[0][0], raise_errors=True)
    with pytest.raises(errors.ValidationError, match="metadata"):
        kube.resource("deployments").check(MALFORMED[0][0])
    with pytest.raises(errors.InvalidArgumentError, match="field_validation"):
        kube.validate(_deployment(), field_validation="Loose")  # a bad argument still raises


# -- 6. the three misses -----------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "errors_at"), [
    (_service(targetPort=2**31), ["spec.ports[0].targetPort"]),      # Go: IntOrString is int32
    (_service(targetPort=-(2**31) - 1), ["spec.ports[0].targetPort"]),
    (_service(targetPort=2**31 - 1), []),
    (_service(targetPort="http"), []),
    (_deployment(strategy={"rollingUpdate": {"maxSurge": 2**40, "maxUnavailable": "25%"}}),
     ["spec.strategy.rollingUpdate.maxSurge"]),
    (_deployment(replicas=2**31), ["spec.replicas"]),
    (_deployment(revisionHistoryLimit=-(2**31)), []),
    (_deployment(progressDeadlineSeconds=2**63), ["spec.progressDeadlineSeconds"]),
    ({**_deployment(), "metadata": {"name": "web", "deletionGracePeriodSeconds": 2**63 - 1}},
     []),
    ({**_deployment(), "metadata": {"name": "web", "deletionGracePeriodSeconds": 2**63}},
     ["metadata.deletionGracePeriodSeconds"]),
    # a custom resource's x-kubernetes-int-or-string has no int32 bound on the server
    (widget("w", port=2**40), []),
])
def test_integers_beyond_their_format(schemas: DocumentSchemas, obj: dict[str, Any],
                                      errors_at: list[str]) -> None:
    assert _errors(validate(schemas, obj, field_validation="Strict")) == errors_at


def test_a_custom_resources_int32_beyond_range_only_warns(schemas: DocumentSchemas) -> None:
    (problem,) = validate(schemas, widget("w", ports=[{"name": "a", "number": 2**31}]))
    assert (problem.path, problem.severity) == ("spec.ports[0].number", "warning")


@pytest.mark.parametrize(("value", "valid"), [
    ("2026-13-01T00:00:00Z", False),
    ("2026-00-10T00:00:00Z", False),
    ("2026-02-30T00:00:00Z", False),
    ("2025-02-29T00:00:00Z", False),
    ("1900-02-29T00:00:00Z", False),
    ("2026-04-31T00:00:00Z", False),
    ("2026-01-01T24:00:00Z", False),
    ("2026-01-01T12:60:00Z", False),
    ("2026-01-01T12:00:60Z", False),
    ("2026-01-01", False),
    ("yesterday", False),
    ("2024-02-29T00:00:00Z", True),
    ("2000-02-29T23:59:59Z", True),
    ("2026-11-22T02:26:13.123456789Z", True),
    ("2026-01-01T01:02:03+05:30", True),
    ("2026-01-01T01:02:03-24:00", True),    # Go reads offsets up to 24:60
    ("2026-01-01T1:02:03Z", True),          # Go's time.Parse takes a one-digit hour
    ("2026-01-01T01:02:03,5Z", True),       # ... and a comma before the fraction
    ("2026-01-01t01:02:03z", True),         # kube-openapi lowercases before it checks
])
def test_date_times_are_read_as_the_server_reads_them(schemas: DocumentSchemas, value: str,
                                                      valid: bool) -> None:
    built_in = {**_deployment(), "metadata": {"name": "web", "creationTimestamp": value}}
    custom = _thing_schemas(at={"type": "string", "format": "date-time"})
    expected = [] if valid else ["metadata.creationTimestamp"]
    assert _errors(validate(schemas, built_in)) == expected
    assert _errors(validate(custom, _thing(at=value))) == ([] if valid else ["spec.at"])


def test_null_items_of_a_custom_resources_arrays(schemas: DocumentSchemas) -> None:
    # the server prunes a non-nullable null field, but keeps a null item and refuses it
    assert _errors(validate(schemas, widget("w", tags=["a", None]))) == ["spec.tags[1]"]
    assert _errors(validate(schemas, widget("w", ports=[None]))) == ["spec.ports[0]"]
    assert _errors(validate(schemas, widget("w", tags=[None]), partial=True)) == ["spec.tags[0]"]
    (problem,) = validate(schemas, widget("w", tags=[None]))
    assert problem.message == "expected string, found null"
    assert validate(schemas, widget("w", replicas=None, color=None, tags=None)) == []
    # items that may be null, have a default, or have no type: the server keeps them
    custom = _thing_schemas(
        nullable={"type": "array", "items": {"type": "string", "nullable": True}},
        defaulted={"type": "array", "items": {"type": "string", "default": "x"}},
        untyped={"type": "array", "items": {"x-kubernetes-int-or-string": True}},
        strict={"type": "array", "items": {"type": "integer"}})
    assert validate(custom, _thing(nullable=[None], defaulted=[None], untyped=[None])) == []
    assert _errors(validate(custom, _thing(strict=[1, None]))) == ["spec.strict[1]"]
    # built-in kinds: Go decodes a null item as the zero value
    obj = _deployment()
    _container(obj)["args"] = [None]
    obj["spec"]["template"]["spec"]["containers"].append(None)
    assert _errors(validate(schemas, obj)) == []


# -- 7. tables ask for what a real server serves --------------------------------------------------

def test_tables_include_metadata_by_default(kube_server: Any, embedded: Client,
                                            shared_api: Path) -> None:
    cms = embedded.resource("configmaps")
    cms.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}})
    kube_server.requests.clear()
    table = embedded.table("configmaps", field_selector="metadata.name=t")
    (request,) = kube_server.requests
    assert "includeObject=Metadata" in request.query.split("&")
    recorded = json.loads((shared_api / "v1.36" / "behaviour.json").read_text())
    real_row = recorded["list_as_table"]["body"]["rows"][0]["object"]
    (row,) = table["rows"]
    assert (row["object"]["apiVersion"], row["object"]["kind"]) == (
        real_row["apiVersion"], real_row["kind"])
    assert "data" not in row["object"]
    whole = cms.table(name="t", include_object="Object")["rows"][0]["object"]
    assert whole["kind"] == "ConfigMap"
    assert "object" not in cms.table(name="t", include_object="None")["rows"][0]


@pytest.mark.parametrize("value", ["PartialObjectMetadata", "metadata", "", None, 1])
def test_table_include_object_is_refused_before_sending(kube_server: Any, embedded: Client,
                                                         value: Any) -> None:
    embedded.resource("configmaps")
    kube_server.requests.clear()
    with pytest.raises(errors.InvalidArgumentError, match="'Metadata', 'Object' or 'None'"):
        embedded.table("configmaps", include_object=value)
    assert kube_server.requests.count() == 0


# -- 8. the quick check agrees with the full validator on every case above ------------------------

def _agreement_cases() -> list[tuple[str, Any, bool]]:
    dupes = _deployment(strategy={"type": ""})
    _container(dupes).update(imagePullPolicy="", env=[{"name": "A"}, {"name": "A"}])
    nulls = _deployment()
    _container(nulls)["args"] = [None]
    cases: list[tuple[str, Any, bool]] = [
        ("readme-apply", README_APPLY, True), ("readme-apply-whole", README_APPLY, False),
        ("built-in-dupes-and-empty-enums", dupes, False), ("built-in-null-item", nulls, False),
        ("widget-partial", {**widget("w"), "spec": {"tags": list("abcdef")}}, True),
        ("widget-whole", widget("w", tags=list("abcdef")), False),
        ("widget-dupes", widget("w", tags=["a", "a"]), False),
        ("widget-null-item", widget("w", tags=[None]), True),
        ("widget-empty-enum", widget("w", size=""), True),
        ("widget-big-port", widget("w", port=2**40), False),
    ]
    cases += [(f"malformed-{i}", obj, partial) for i, (obj, _) in enumerate(MALFORMED)
              if isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str)
              and isinstance(obj.get("kind"), str)
              for partial in (False, True)]
    cases += [(f"date-{value}", {**_deployment(), "metadata": {"creationTimestamp": value}},
               partial) for value in ("2026-13-01T00:00:00Z", "2026-01-01T1:02:03Z")
              for partial in (False, True)]
    cases += [(f"int-or-string-{n}", _service(targetPort=n), partial)
              for n in (2**31, 2**31 - 1) for partial in (False, True)]
    return cases


@pytest.mark.parametrize(("name", "obj", "partial"), _agreement_cases(),
                         ids=[c[0] for c in _agreement_cases()])
def test_quick_check_agrees_with_the_full_validator(schemas: DocumentSchemas, name: str,
                                                    obj: Any, partial: bool) -> None:
    group, _, version = obj["apiVersion"].rpartition("/")
    compiled = check(schemas, group, version, obj["kind"])
    assert compiled is not None
    full = list(compiled.full_validator(partial=partial).iter_errors(obj))
    if compiled.quick_check(partial=partial)(obj):
        assert full == [], name
    elif "null" not in json.dumps(obj):  # a null is never "clean" to the quick check
        assert full != [], name


def test_the_widget_crd_is_applied_partially_too(kube: Client) -> None:
    kube.apply(copy.deepcopy(WIDGET_CRD))
    widgets = kube.resource("widgets")
    widgets.apply(widget("w", "small"), field_manager="setup")
    applied = widgets.apply({"apiVersion": "example.dynakube.io/v1", "kind": "Widget",
                             "metadata": {"name": "w"}, "spec": {"replicas": 2}})
    assert applied["spec"] == {"size": "small", "replicas": 2}
    with pytest.raises(errors.ValidationError, match="spec.size"):
        widgets.patch("w", {"spec": {"size": "huge"}})
