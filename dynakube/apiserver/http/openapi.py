"""Serving ``/openapi/v3`` for the embedded server, with the real server's cache headers.

The documents come from :mod:`..kinds.openapi` (built from the served kinds, rebuilt when a CRD
changes them). A request with the current ``?hash=`` gets ``Cache-Control: public, immutable``;
a stale hash is redirected (``301``) to the current URL; ``If-None-Match`` gets ``304``.
"""

from __future__ import annotations

import time

from ..kinds.openapi import encode_document, openapi_documents, openapi_hash, openapi_index
from ..status import PlainNotFound
from ..storage.resources import ResourceTable

__all__ = ["serve_openapi"]


def _build(table: ResourceTable) -> tuple[dict[str, tuple[bytes, str]], bytes]:
    docs = openapi_documents(table.all())
    encoded = {path: (encode_document(doc), openapi_hash(doc)) for path, doc in docs.items()}
    return encoded, encode_document(openapi_index(docs))


def serve_openapi(table: ResourceTable, path: str, query: dict[str, str],
                  if_none_match: str | None) -> tuple[int, bytes, str, dict[str, str]]:
    """``(status, body, content type, headers)`` for a ``/openapi/v3`` path of ``table``'s
    kinds (documents rebuilt only when the served kinds change)."""
    docs, index = table.cached("openapi", lambda: _build(table))
    rel = path[len("/openapi/v3"):].strip("/")
    if not rel:
        return 200, index, "text/plain; charset=utf-8", {}
    if rel not in docs:
        raise PlainNotFound()
    body, digest = docs[rel]
    etag = f'"{digest}"'
    headers = {"Etag": etag, "Vary": "Accept"}
    wanted = query.get("hash")
    if wanted is not None and wanted != digest:
        headers["Location"] = f"/openapi/v3/{rel}?hash={digest}"
        return 301, b"", "application/json", headers
    if if_none_match == etag:
        return 304, b"", "application/json", headers
    if wanted is not None:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = time.strftime("%a, %d %b %Y %H:%M:%S UTC",
                                           time.gmtime(time.time() + 365 * 24 * 3600))
    return 200, body, "application/json", headers
