"""The strategic-merge-patch metadata of the built-in kinds, read from their OpenAPI schemas.

kube-apiserver patches a built-in object by its Go struct tags, which its OpenAPI documents
publish as ``x-kubernetes-patch-strategy`` and ``x-kubernetes-patch-merge-key``: a list with
strategy ``merge`` is merged by its key (a list of scalars as a set), any other list is
replaced whole, and a map with strategy ``replace`` (a PodDisruptionBudget's
``spec.selector``) is replaced whole instead of merged. :func:`patch_strategies` turns one
kind's schema into the table :func:`.patching.apply_strategic_merge_patch` takes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS, kind_schema_name
from dynakube.apiserver.merge.patching import PRIMITIVE_MERGE, REPLACE, MergeKeys

__all__ = ["patch_strategies"]

_REF = "#/components/schemas/"


def _resolve(schema: Mapping[str, Any], seen: frozenset[str]
             ) -> tuple[Mapping[str, Any], dict[str, Any], frozenset[str]] | None:
    """The schema behind ``$ref`` / a one-element ``allOf``, the extensions met on the way,
    and the component names passed (``None`` for a recursive one, as JSONSchemaProps is)."""
    extensions: dict[str, Any] = {}
    while True:
        extensions = {**{k: v for k, v in schema.items() if k.startswith("x-kubernetes-")},
                      **extensions}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            name = ref[len(_REF):]
            if name in seen or name not in BUILTIN_SCHEMAS:
                return None
            seen = seen | {name}
            schema = BUILTIN_SCHEMAS[name]
            continue
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            schema = all_of[0]
            continue
        return schema, extensions, seen


def _walk(schema: Mapping[str, Any], path: tuple[str, ...], seen: frozenset[str],
          out: dict[tuple[str, ...], str]) -> None:
    properties = schema.get("properties")
    for name, prop in (properties.items() if isinstance(properties, Mapping) else ()):
        found = _resolve(prop, seen) if isinstance(prop, Mapping) else None
        if found is None:
            continue
        inner, extensions, inner_seen = found
        here = path + (name,)
        strategies = str(extensions.get("x-kubernetes-patch-strategy", "")).split(",")
        items = inner.get("items")
        if inner.get("type") == "array" and isinstance(items, Mapping):
            if "merge" in strategies:
                out[here] = str(extensions.get("x-kubernetes-patch-merge-key") or
                                PRIMITIVE_MERGE)
            item = _resolve(items, inner_seen)
            if item is not None:
                _walk(item[0], here, item[2], out)
        else:
            if "replace" in strategies:
                out[here] = REPLACE
            _walk(inner, here, inner_seen, out)


@functools.cache
def _table(api_version: str, kind: str) -> Mapping[tuple[str, ...], str]:
    group, _, version = api_version.rpartition("/")
    name = kind_schema_name(group, version, kind)
    if name is None or name not in BUILTIN_SCHEMAS:
        return {}
    out: dict[tuple[str, ...], str] = {}
    _walk(BUILTIN_SCHEMAS[name], (), frozenset({name}), out)
    return out


def patch_strategies(api_version: str, kind: str) -> MergeKeys:
    """Field path -> merge key (:data:`.patching.PRIMITIVE_MERGE` for a set of scalars,
    :data:`.patching.REPLACE` for a map replaced whole) of a built-in kind; empty for a kind
    the data does not know (a custom resource: its lists are replaced whole)."""
    return _table(api_version, kind)
