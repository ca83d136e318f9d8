"""From the server's OpenAPI v3 documents to JSON Schema that ``jsonschema`` can check.

Pure functions and values, no I/O: :class:`SchemaStore` (``schema.py``) fetches the documents,
this module reads them. A group-version document keeps its schemas under
``components.schemas``; a kind is found through ``x-kubernetes-group-version-kind``. Each
component is converted on demand (a Deployment needs ~60 of api/v1's ~300), keeping
``$ref`` links (resolved by ``referencing``'s registry, not inlined) and turning the
Kubernetes extensions into plain draft-4 JSON Schema plus a few extension keywords the
validator understands:

- ``allOf: [{$ref}]`` wrappers stay as they are (draft 4 ignores siblings of ``$ref``);
- ``x-kubernetes-int-or-string`` -> ``anyOf: [integer, string]``;
- ``x-kubernetes-embedded-resource`` -> ``apiVersion``, ``kind`` and ``metadata`` allowed;
- ``x-kubernetes-preserve-unknown-fields`` -> unknown fields allowed there; everywhere else an
  object with ``properties`` gets ``additionalProperties: false`` so unknown fields surface;
- the ``Quantity`` string gets ``format: quantity``; ``format`` ``int32``/``int64``,
  ``date-time``, ``byte``, ``duration`` are checked by the validator;
- ``nullable``, ``x-kubernetes-list-type`` / ``-list-map-keys`` are kept for the validator.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from .._record import Record

__all__ = [
    "COMPONENTS",
    "DRAFT4",
    "KindEntry",
    "Converter",
    "component_name",
    "convert",
    "document_kinds",
    "find_kind",
    "is_builtin_component",
    "json_type",
]

COMPONENTS = "#/components/schemas/"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# Components the API server's own Go types describe; everything else (custom resources,
# aggregated APIs) follows the structural-schema rules of CustomResourceDefinitions.
_BUILTIN_PREFIXES = (
    "io.k8s.api.",
    "io.k8s.apimachinery.",
    "io.k8s.apiextensions-apiserver.",
    "io.k8s.kube-aggregator.",
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value (``integer``, ``object``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__  # not JSON at all (a set, a datetime...): say what it is


def is_builtin_component(name: str) -> bool:
    """True for schemas of Kubernetes' own Go types (``io.k8s.api.core.v1.Pod``...)."""
    return name.startswith(_BUILTIN_PREFIXES)


def component_name(ref: str) -> str | None:
    """``#/components/schemas/X`` -> ``X`` (``None`` for any other reference)."""
    return ref[len(COMPONENTS):] if ref.startswith(COMPONENTS) else None


class KindEntry(Record):
    """One kind a document describes: where its schema lives and what it is called."""

    component: str
    group: str
    version: str
    kind: str


def _schemas(document: Mapping[str, Any]) -> Mapping[str, Any]:
    components = document.get("components")
    if not isinstance(components, Mapping):
        return {}
    schemas = components.get("schemas")
    return schemas if isinstance(schemas, Mapping) else {}


def document_kinds(document: Mapping[str, Any]) -> list[KindEntry]:
    """Every (group, version, kind) of a document, from ``x-kubernetes-group-version-kind``."""
    found: list[KindEntry] = []
    for name, schema in _schemas(document).items():
        if not isinstance(schema, Mapping):
            continue
        gvks = schema.get("x-kubernetes-group-version-kind")
        if not isinstance(gvks, list):
            continue
        for gvk in gvks:
            if isinstance(gvk, Mapping) and isinstance(gvk.get("kind"), str):
                found.append(KindEntry(name, str(gvk.get("group") or ""),
                                       str(gvk.get("version") or ""), gvk["kind"]))
    return found


def find_kind(document: Mapping[str, Any], group: str, version: str, kind: str) -> str | None:
    """The component describing ``kind`` in ``group/version``, or ``None``.

    Several components can claim one kind (``DeleteOptions`` is claimed by every group); the
    one whose only claim it is wins, so ``Scale`` in ``apps/v1`` finds ``autoscaling.v1.Scale``
    only when nothing more specific exists.
    """
    entries = document_kinds(document)
    claims = Counter(entry.component for entry in entries)
    wanted = (group, version, kind)
    matches = [e.component for e in entries if (e.group, e.version, e.kind) == wanted]
    return min(matches, key=claims.__getitem__) if matches else None  # first of the fewest


class Converter:
    """Converts the components of one OpenAPI v3 document on demand, remembering each one.

    ``component(name)`` is the JSON Schema of one component (its ``$ref`` links still point
    into ``#/components/schemas/``); ``bundle(name)`` is a document holding that component
    and everything it reaches, for ``referencing``; ``resolved(name)`` is a self-contained
    schema (links rewritten to ``#/definitions/``) for people generating forms or docs.
    """

    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.schemas = _schemas(document)
        self._converted: dict[str, dict[str, Any]] = {}
        self._closures: dict[str, tuple[str, ...]] = {}

    def raw(self, name: str) -> Mapping[str, Any] | None:
        """The component exactly as the server published it."""
        schema = self.schemas.get(name)
        return schema if isinstance(schema, Mapping) else None

    def component(self, name: str) -> dict[str, Any]:
        """The converted JSON Schema of one component (``{}`` — anything — when unknown)."""
        done = self._converted.get(name)
        if done is None:
            raw = self.raw(name)
            done = convert(raw, builtin=is_builtin_component(name),
                           has_object_meta=OBJECT_META in self.schemas) if raw is not None else {}
            if name == QUANTITY:
                done = _quantity(done)
            self._converted[name] = done
        return done

    def closure(self, name: str) -> tuple[str, ...]:
        """``name`` and every component it reaches through ``$ref``, in discovery order."""
        cached = self._closures.get(name)
        if cached is not None:
            return cached
        order: list[str] = []
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            order.append(current)
            for ref in _refs(self.component(current)):
                target = component_name(ref)
                if target is not None and target not in seen:
                    pending.append(target)
        result = tuple(order)
        self._closures[name] = result
        return result

    def bundle(self, name: str) -> dict[str, Any]:
        """A document with ``name``'s converted closure under ``components.schemas``."""
        return {"components": {"schemas": {n: self.component(n) for n in self.closure(name)}}}

    def resolved(self, name: str) -> dict[str, Any]:
        """A self-contained draft-4 schema: the component plus ``definitions`` it refers to."""
        closure = self.closure(name)
        definitions = {n: _rewrite_refs(self.component(n)) for n in closure[1:]}
        root = _rewrite_refs(self.component(name))
        if name in set(_refs_in_all(definitions.values(), root)):
            definitions[name] = _rewrite_refs(self.component(name))
        result: dict[str, Any] = {"$schema": DRAFT4}
        result.update(root)
        if definitions:
            result["definitions"] = definitions
        return result


def convert(schema: Mapping[str, Any], *, builtin: bool, has_object_meta: bool = True,
            ) -> dict[str, Any]:
    """Convert one OpenAPI v3 schema node (and the nodes inside it) to JSON Schema."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {
                prop: convert(sub, builtin=builtin, has_object_meta=has_object_meta)
                for prop, sub in value.items() if isinstance(sub, Mapping)
            }
        elif key in ("items", "additionalProperties", "not") and isinstance(value, Mapping):
            out[key] = convert(value, builtin=builtin, has_object_meta=has_object_meta)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [convert(sub, builtin=builtin, has_object_meta=has_object_meta)
                        for sub in value if isinstance(sub, Mapping)]
        else:
            out[key] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value
    if out.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        if "anyOf" not in out and "oneOf" not in out:
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if out.get("x-kubernetes-embedded-resource") is True:
        out.setdefault("type", "object")
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"allOf": [{"$ref": COMPONENTS + OBJECT_META}]}
                         if has_object_meta else {"type": "object"})
    if "additionalProperties" not in out and not preserve:
        if "properties" in out:
            out["additionalProperties"] = False
        elif (not builtin and out.get("type") == "object"
              and not any(k in out for k in ("$ref",) + _SUBSCHEMA_LISTS)):
            # A structural schema prunes every field of an object that declares none.
            out["additionalProperties"] = False
    return out


def _quantity(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark the string form of ``resource.Quantity`` so its syntax gets checked."""
    out = dict(schema)
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [dict(s, format="quantity") if s.get("type") == "string" else s
                        for s in out[key]]
    if out.get("type") == "string":
        out["format"] = "quantity"
    return out


def _refs(schema: Any) -> Iterator[str]:
    """Every ``$ref`` value inside a (converted) schema node."""
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "properties" and isinstance(value, Mapping):
                for sub in value.values():
                    yield from _refs(sub)
            elif key in ("items", "additionalProperties", "not"):
                yield from _refs(value)
            elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
                for sub in value:
                    yield from _refs(sub)


def _refs_in_all(schemas: Any, root: Mapping[str, Any]) -> Iterator[str]:
    for schema in list(schemas) + [root]:
        for ref in _refs(schema):
            if ref.startswith("#/definitions/"):
                yield ref[len("#/definitions/"):]


def _rewrite_refs(schema: Any) -> Any:
    """A deep copy with ``#/components/schemas/X`` links turned into ``#/definitions/X``."""
    if isinstance(schema, Mapping):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENTS):
                out[key] = "#/definitions/" + value[len(COMPONENTS):]
            elif key == "properties" and isinstance(value, Mapping):
                out[key] = {p: _rewrite_refs(s) for p, s in value.items()}
            elif key in ("items", "additionalProperties", "not") or key in _SUBSCHEMA_LISTS:
                out[key] = _rewrite_refs(value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(schema, list):
        return [_rewrite_refs(s) for s in schema]
    return schema
