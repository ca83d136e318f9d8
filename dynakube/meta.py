"""Reading an object's identity: its metadata mapping and its ``namespace/name`` key.

One home for both, so the client (which checks what it sends) and the controller layer
(which keys its caches) agree on what an object's name and namespace are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["object_key", "object_metadata"]


def object_metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's metadata, checking that the object and its metadata are mappings."""
    if not isinstance(obj, Mapping):
        raise InvalidArgumentError(f"an object must be a dict, got {type(obj).__name__}")
    meta = obj.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise InvalidArgumentError("the object's metadata must be a mapping")
    return meta


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` for namespaced objects, ``name`` for cluster-scoped ones.

    client-go's ``MetaNamespaceKeyFunc``: the key informers and stores index objects by.
    """
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(meta, Mapping) or not meta.get("name"):
        raise InvalidArgumentError(f"object has no metadata.name: {str(obj)[:200]}")
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])
