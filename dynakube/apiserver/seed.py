"""Sample content for the embedded server: the Widget CRD and a small, believable cluster.

Used by ``dynakube --embedded``, the tour, and tests that want something to look at. The
Widget CRD has the same shape as the one the real-server recordings were made with: two
versions (v1beta1 deprecated), short names, categories, status and scale subresources,
printer columns, and a schema with enum, default, nullable, pattern, int-or-string,
preserve-unknown-fields, an embedded resource, list types and a CEL rule.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["TOUR_MANIFEST", "WIDGET_CRD", "widget", "seed"]

_QUANTITY = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
             r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.dynakube.io"},
    "spec": {
        "group": "example.dynakube.io",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                  "listKind": "WidgetList", "shortNames": ["wd", "wdg"],
                  "categories": ["all", "gadgets"]},
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False, "deprecated": True,
             "deprecationWarning": "example.dynakube.io/v1beta1 Widget is deprecated; use v1",
             "schema": {"openAPIV3Schema": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}},
            {"name": "v1", "served": True, "storage": True,
             "subresources": {"status": {}, "scale": {
                 "specReplicasPath": ".spec.replicas",
                 "statusReplicasPath": ".status.replicas",
                 "labelSelectorPath": ".status.selector"}},
             "additionalPrinterColumns": [
                 {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                 {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                 {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
             "schema": {"openAPIV3Schema": {
                 "type": "object",
                 "required": ["spec"],
                 "properties": {
                     "spec": {
                         "type": "object",
                         "required": ["size"],
                         "properties": {
                             "size": {"type": "string", "enum": ["small", "medium", "large"],
                                      "description": "How big the widget is."},
                             "replicas": {"type": "integer", "minimum": 0, "maximum": 100,
                                          "default": 1,
                                          "description": "How many copies to run."},
                             "port": {"x-kubernetes-int-or-string": True,
                                      "description": "A port number or name."},
                             "color": {"type": "string", "pattern": "^#[0-9a-f]{6}$",
                                       "nullable": True,
                                       "description": "An RGB colour such as #00ff00."},
                             "tags": {"type": "array", "maxItems": 5,
                                      "items": {"type": "string"},
                                      "x-kubernetes-list-type": "set"},
                             "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                       "x-kubernetes-list-map-keys": ["name"],
                                       "items": {"type": "object",
                                                 "required": ["name", "number"],
                                                 "properties": {
                                                     "name": {"type": "string"},
                                                     "number": {"type": "integer",
                                                                "format": "int32"}}}},
                             "config": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True},
                             "template": {"type": "object",
                                          "x-kubernetes-embedded-resource": True,
                                          "x-kubernetes-preserve-unknown-fields": True},
                             "limits": {"type": "object", "additionalProperties": {
                                 "x-kubernetes-int-or-string": True,
                                 "anyOf": [{"type": "integer"}, {"type": "string"}],
                                 "pattern": _QUANTITY}},
                         },
                         "x-kubernetes-validations": [{
                             "rule": "self.replicas <= 10 || self.size == 'large'",
                             "message": "only large widgets may have more than 10 replicas"}],
                     },
                     "status": {"type": "object", "properties": {
                         "replicas": {"type": "integer"},
                         "selector": {"type": "string"},
                         "phase": {"type": "string"}}},
                 },
             }}},
        ],
    },
}


def widget(name: str, size: str = "small", namespace: str | None = None,
           **spec: Any) -> dict[str, Any]:
    """A Widget object (``spec`` fields as keyword arguments)."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "example.dynakube.io/v1", "kind": "Widget", "metadata": meta,
            "spec": {"size": size, **spec}}


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                       "ports": [{"containerPort": 80}]}]}}},
    }


def seed(client: Client) -> None:
    """Namespaces, ConfigMaps, a Deployment, the Widget CRD and a few widgets."""
    documents: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in ("shop", "tools")
    ]
    documents.append(copy.deepcopy(WIDGET_CRD))
    for ns, names in (("default", ("settings", "features")), ("shop", ("prices",))):
        documents += [{"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": n, "namespace": ns, "labels": {"seed": "yes"}},
                       "data": {"owner": "dynakube", "name": n}} for n in names]
    documents.append(_deployment("web", "shop"))
    documents += [widget("alpha", "small", "shop", replicas=1, tags=["blue"]),
                  widget("beta", "large", "shop", replicas=12),
                  widget("gamma", "medium", "default", port="http")]
    client.apply(documents, field_manager="dynakube-seed")


#: What the tour applies from a file: a ConfigMap and two widgets, as a user would write them.
TOUR_MANIFEST = """\
# Applied by `dynakube tour` (and usable with `dynakube apply -f`).
apiVersion: v1
kind: ConfigMap
metadata:
  name: tour-settings
  namespace: dynakube-tour
data:
  greeting: hello from a YAML file
---
apiVersion: example.dynakube.io/v1
kind: Widget
metadata:
  name: delta
  namespace: dynakube-tour
spec:
  size: medium
  replicas: 2
  tags: [green, round]
---
apiVersion: example.dynakube.io/v1
kind: Widget
metadata:
  name: epsilon
  namespace: dynakube-tour
spec:
  size: large
  replicas: 12
  color: "#00ff00"
"""
