"""Schemas: the server's OpenAPI v3 documents, fetched lazily and cached, converted to JSON
Schema, and used to validate objects and to ``explain`` fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import DocumentSchemas, SchemaStore, SchemaWarning, document_path

__all__ = [
    "DocumentSchemas",
    "SchemaStore",
    "SchemaWarning",
    "document_path",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
