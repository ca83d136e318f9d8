"""explain: kubectl-explain text from the real server's OpenAPI v3 documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynakube.discovery.registry import ResourceInfo
from dynakube.errors import InvalidArgumentError, NotFoundError
from dynakube.schema import DocumentSchemas
from dynakube.schema.explain import explain

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api"
OPENAPI = SHARED / "v1.36" / "openapi" / "v3"
_DOCS = ("api/v1", "apis/apps/v1", "apis/example.dynakube.io/v1",
         "apis/apiextensions.k8s.io/v1")

DEPLOYMENT = ResourceInfo("apps", "v1", "deployments", "deployment", "Deployment", True,
                          ("get",))
POD = ResourceInfo("", "v1", "pods", "pod", "Pod", True, ("get",))
WIDGET = ResourceInfo("example.dynakube.io", "v1", "widgets", "widget", "Widget", True,
                      ("get",))
CRD = ResourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                   "customresourcedefinition", "CustomResourceDefinition", False, ("get",))


@pytest.fixture(scope="module")
def schemas() -> DocumentSchemas:
    if not OPENAPI.is_dir():
        pytest.skip("../shared/k8s-api is not present (a fresh clone has none)")
    docs: dict[str, Any] = {
        path: json.loads((OPENAPI / f"{path}.json").read_text())["body"] for path in _DOCS}
    return DocumentSchemas(docs)


def test_a_kind(schemas: DocumentSchemas) -> None:
    text = explain(schemas, DEPLOYMENT)
    assert text.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n")
    assert ("DESCRIPTION:\n    Deployment enables declarative updates for Pods and "
            "ReplicaSets.") in text
    assert "\nFIELDS:\n  apiVersion\t<string>\n" in text
    assert "\n  metadata\t<ObjectMeta>\n" in text
    assert "\n  spec\t<DeploymentSpec>\n    Specification of the desired behavior" in text


def test_the_core_group_has_no_group_line(schemas: DocumentSchemas) -> None:
    assert explain(schemas, POD).startswith("KIND:       Pod\nVERSION:    v1\n")


def test_a_field_with_required_fields_enums_and_defaults(schemas: DocumentSchemas) -> None:
    text = explain(schemas, DEPLOYMENT, "spec.template.spec.containers.ports")
    assert "FIELD: ports <[]ContainerPort>\n" in text
    # the field's description, then its type's
    assert "List of ports to expose from the container." in text
    assert "ContainerPort represents a network port in a single container." in text
    assert "\n  containerPort\t<integer> -required-\n    Number of port" in text
    assert "\n  protocol\t<string>\n  enum: SCTP, TCP, UDP\n  default: TCP\n" in text


def test_a_leaf_field_of_a_custom_resource(schemas: DocumentSchemas) -> None:
    text = explain(schemas, WIDGET, "spec.replicas")
    assert "FIELD: replicas <integer>\n\ndefault: 1\n" in text
    text = explain(schemas, WIDGET, "spec")
    assert "\n  size\t<string> -required-\n  enum: small, medium, large\n" in text
    assert "\n  port\t<IntOrString>" in text
    assert "\n  limits\t<map[string]IntOrString>" in text
    assert "\n  tags\t<[]string>" in text


def test_recursive_lists_the_tree(schemas: DocumentSchemas) -> None:
    text = explain(schemas, WIDGET, "spec", recursive=True)
    assert "\n  ports\t<[]Object>\n    name\t<string> -required-\n" in text
    assert "\n  template\t<Object>\n    apiVersion\t<string> -required-\n" in text
    assert "\n      labels\t<map[string]string>\n" in text
    assert "Possible" not in text  # names and types only


def test_recursive_stops_where_a_schema_contains_itself(schemas: DocumentSchemas) -> None:
    text = explain(schemas, CRD, "spec.versions.schema", recursive=True)
    assert "openAPIV3Schema\t<JSONSchemaProps>" in text
    assert len(text.splitlines()) < 200


def test_an_unknown_field_is_named_with_close_names(schemas: DocumentSchemas) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        explain(schemas, DEPLOYMENT, "spec.replcas")
    assert str(caught.value) == (
        'field "replcas" does not exist in deployment.spec; did you mean "replicas"?')
    with pytest.raises(InvalidArgumentError, match='"foo" does not exist in '
                                                   "deployment.spec.replicas"):
        explain(schemas, DEPLOYMENT, "spec.replicas.foo")


def test_a_kind_without_a_schema(schemas: DocumentSchemas) -> None:
    gadget = ResourceInfo("example.dynakube.io", "v1", "gadgets", "gadget", "Gadget", True,
                          ("get",))
    with pytest.raises(NotFoundError, match="no OpenAPI v3 schema for Gadget"):
        explain(schemas, gadget)
