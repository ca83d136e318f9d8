"""Strategic-merge metadata from the server's OpenAPI v3, as kubectl reads it for ``apply``.

kubectl 1.32 computes a client-side apply patch with the patch metadata of the kind's
OpenAPI v3 schema (``PatchMetaFromOpenAPIV3``): each field's ``x-kubernetes-patch-strategy``
(``merge``, ``replace``, ``retainKeys``, comma-separated) and ``x-kubernetes-patch-merge-key``.
It reads no ``x-kubernetes-list-type``/``list-map-keys`` for this (server-side apply does),
so neither does :class:`OpenAPIPatchSchema`: a ``list-type: map`` without a patch strategy is
replaced whole, as kubectl replaces it. Whether a kind takes a strategic merge patch at all is
what its ``PATCH`` operation accepts (custom resources do not: they get a JSON merge patch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..mergepatch import NO_SCHEMA, PatchMeta, PatchSchema
from .openapi import component_name

if TYPE_CHECKING:
    from .store import _Schemas

__all__ = ["OpenAPIPatchSchema", "patch_schema", "takes_strategic_merge"]

STRATEGIC = "application/strategic-merge-patch+json"


def _resolve(node: Any, schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema behind ``$ref`` links and one-element ``allOf`` wrappers (depth-bounded)."""
    for _ in range(32):
        if not isinstance(node, Mapping):
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            node = schemas.get(component_name(ref) or "")
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node:
            node = all_of[0]
            continue
        return node
    return {}


class OpenAPIPatchSchema:
    """One object schema of an OpenAPI v3 document, answering :class:`PatchSchema` lookups."""

    def __init__(self, schemas: Mapping[str, Any], node: Any):
        self.schemas = schemas
        self.node = _resolve(node, schemas)

    def lookup(self, key: str) -> tuple[PatchMeta, PatchSchema]:
        properties = self.node.get("properties")
        prop = properties.get(key) if isinstance(properties, Mapping) else None
        if prop is None and isinstance(self.node.get("additionalProperties"), Mapping):
            prop = self.node["additionalProperties"]
        if not isinstance(prop, Mapping):
            return PatchMeta(), OpenAPIPatchSchema(self.schemas, None)
        strategy = str(prop.get("x-kubernetes-patch-strategy") or "")
        meta = PatchMeta(tuple(s for s in strategy.split(",") if s),
                         str(prop.get("x-kubernetes-patch-merge-key") or ""))
        inner = _resolve(prop, self.schemas)
        if inner.get("type") == "array":
            inner = inner.get("items") or {}
        return meta, OpenAPIPatchSchema(self.schemas, inner)


def takes_strategic_merge(document: Mapping[str, Any], group: str, version: str,
                          kind: str) -> bool:
    """Whether a ``PATCH`` of ``kind`` accepts a strategic merge patch (kubectl's test)."""
    wanted = {"group": group, "version": version, "kind": kind}
    paths = document.get("paths")
    for item in (paths.values() if isinstance(paths, Mapping) else ()):
        op = item.get("patch") if isinstance(item, Mapping) else None
        if not isinstance(op, Mapping) or op.get("x-kubernetes-group-version-kind") != wanted:
            continue
        content = (op.get("requestBody") or {}).get("content")
        if isinstance(content, Mapping) and STRATEGIC in content:
            return True
    return False


def patch_schema(schemas: _Schemas, group: str, version: str, kind: str, *,
                 builtin: bool) -> PatchSchema | None:
    """What a client-side apply of ``kind`` patches with: its strategic-merge metadata, or
    ``None`` for a JSON merge patch (a kind whose ``PATCH`` takes no strategic merge patch:
    custom resources). A ``builtin`` kind the server publishes no schema for gets a strategic
    merge patch without metadata (lists compared whole), as nothing better is known."""
    found = schemas.kind_component(group, version, kind)
    if found is None:
        return NO_SCHEMA if builtin else None
    converter, name = found
    if not takes_strategic_merge(converter.document, group, version, kind):
        return None
    return OpenAPIPatchSchema(converter.schemas, converter.raw(name))
