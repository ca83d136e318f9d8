"""The cluster's own schemas: ``/openapi/v3`` fetched lazily, cached on disk by hash.

``GET /openapi/v3`` lists one URL per group-version, each with a ``?hash=``; a document at a
given hash never changes, so it is stored on disk (``DiskCache``, beside discovery) under a
key holding that hash and kept forever. Only the group-versions actually used are fetched:
validating a Deployment reads ``apis/apps/v1`` once, not the other documents. The index is
fetched once per process and again after :meth:`SchemaStore.invalidate` (called together
with discovery's) or when a kind is missing from it (a CRD created since).

A server without OpenAPI v3 (older clusters, some proxies) is not an error: validation is
skipped with one :class:`SchemaWarning`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from ..errors import ApiError, DynakubeError, NotFoundError, SchemaWarning, TransportError
from ..request import ApiRequest, Sender, api_prefix
from ..transport.steps import Steps, fetch, run
from .openapi import Converter, KindEntry, document_kinds, find_kind

__all__ = ["DocumentSchemas", "SchemaStore", "SchemaWarning", "document_path"]

log = logging.getLogger(__name__)

_INDEX_PATH = "/openapi/v3"
_MISS_MEMORY = 2.0  # seconds a kind missing after a refresh is not asked for again
_RETRY_FAILED_INDEX = 60.0


class _Cache(Protocol):
    def read(self, key: str) -> Any: ...

    def write(self, key: str, body: bytes, etag: str | None = None) -> None: ...


def document_path(group: str, version: str) -> str:
    """The index key of a group-version: ``api/v1``, ``apis/apps/v1`` (its API prefix)."""
    return api_prefix(group, version).lstrip("/")


@dataclass
class _Document:
    key: str            # "apis/apps/v1@<hash>": identifies the content, across servers
    hash: str | None
    converter: Converter
    url: str | None = None  # the index's URL it was read from (with its ?hash=)


class _Schemas:
    """Lookups shared by every schema source; subclasses say how a document is obtained."""

    def _document(self, group: str, version: str) -> _Document | None:
        raise NotImplementedError

    def document(self, group: str, version: str) -> Mapping[str, Any] | None:
        """The raw OpenAPI v3 document of a group-version, or ``None``."""
        found = self._document(group, version)
        return found.converter.document if found else None

    def converter(self, group: str, version: str) -> tuple[str, Converter] | None:
        """``(content key, Converter)`` of a group-version's document, or ``None``."""
        found = self._document(group, version)
        return (found.key, found.converter) if found else None

    def kinds(self, group: str, version: str) -> list[KindEntry]:
        """Every kind the group-version's document describes."""
        found = self._document(group, version)
        return document_kinds(found.converter.document) if found else []

    def component_for(self, group: str, version: str, kind: str) -> str | None:
        """The component name of ``kind``'s schema in its group-version's document."""
        found = self._document(group, version)
        return find_kind(found.converter.document, group, version, kind) if found else None

    def kind_component(self, group: str, version: str, kind: str,
                       ) -> tuple[Converter, str] | None:
        """The converter and component name for a kind (for ``explain``)."""
        name = self.component_for(group, version, kind)
        found = self._document(group, version) if name else None
        return (found.converter, name) if found and name else None

    def kind_schema(self, group: str, version: str, kind: str) -> dict[str, Any] | None:
        """``kind``'s schema as a self-contained JSON Schema (draft 4) dict, or ``None``.

        ``None`` when no schema describes the kind (or the server publishes no OpenAPI v3,
        with one :class:`SchemaWarning`). The dict is a fresh copy: change it freely.
        """
        found = self.kind_component(group, version, kind)
        return found[0].resolved(found[1]) if found else None

    def recheck(self, group: str, version: str) -> bool:
        """Whether the group-version's schema changed since it was read (never, here)."""
        return False


class DocumentSchemas(_Schemas):
    """Schemas from OpenAPI v3 documents already at hand, keyed ``api/v1``, ``apis/apps/v1``.

    For validating offline (documents saved earlier) and for tests; no I/O.
    """

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]):
        self._documents: dict[str, _Document] = {}
        for path, document in documents.items():
            body = json.dumps(document, sort_keys=True).encode("utf-8")
            key = f"{path}@sha256:{hashlib.sha256(body).hexdigest()[:32]}"
            self._documents[path] = _Document(key, None, Converter(document))

    def _document(self, group: str, version: str) -> _Document | None:
        return self._documents.get(document_path(group, version))


class SchemaStore(_Schemas):
    """The server's OpenAPI v3 documents, fetched on first use and cached by hash.

    ``recheck_after`` is how old the index may be before a validation that found errors
    asks the server again whether the schema changed (so a stale schema never blocks).

    Fetching is written once as step machines (:mod:`dynakube.transport.steps`): the sync
    methods drive them with the transport; the asyncio client drives :meth:`prepare` and
    :meth:`recheck_steps` with its own, after which every lookup is answered from memory.
    """

    def __init__(self, transport: Sender, cache: _Cache, *, recheck_after: float = 10.0):
        self._transport = transport
        self._cache = cache
        self._recheck_after = recheck_after
        self._lock = threading.RLock()
        self._index: dict[str, str] | None = None
        self._index_at = 0.0
        self._index_failed_at: float | None = None
        self._unavailable = False
        self._warned: set[str] = set()
        self._documents: dict[str, _Document] = {}
        self._misses: dict[tuple[str, str, str], float] = {}
        self._failed: dict[str, float] = {}  # documents that could not be read, and when

    @property
    def available(self) -> bool:
        """Whether the server publishes OpenAPI v3 (fetches the index on first use)."""
        return self._load_index() is not None

    def invalidate(self) -> None:
        """Forget the index; documents stay cached (a hash names fixed content)."""
        with self._lock:
            self._index = None
            self._index_failed_at = None
            self._unavailable = False
            self._misses.clear()
            self._failed.clear()
            # without a hash in its URL, a document may have changed: read it again
            self._documents = {p: d for p, d in self._documents.items() if d.hash}

    def group_versions(self) -> list[str]:
        """The index's group-version paths (``api/v1``, ``apis/apps/v1``...)."""
        index = self._load_index()
        return sorted(index) if index else []

    def component_for(self, group: str, version: str, kind: str) -> str | None:
        """The component name of ``kind``'s schema; a miss refreshes the index once."""
        with self._lock:
            return run(self.prepare(group, version, kind), self._transport)

    def prepare(self, group: str, version: str, kind: str) -> Steps[str | None]:
        """Fetch what ``kind``'s schema needs (index, document; on a miss, the index again)
        and return its component name, as a step machine."""
        found = yield from self._document_steps(group, version)
        name = find_kind(found.converter.document, group, version, kind) if found else None
        if name is not None or self._unavailable:
            return name
        miss = (group, version, kind)
        last = self._misses.get(miss)
        if last is not None and time.monotonic() - last < _MISS_MEMORY:
            return None
        self._misses[miss] = time.monotonic()
        self._index = None  # a CRD may have been created (or changed) since
        found = yield from self._document_steps(group, version)
        return find_kind(found.converter.document, group, version, kind) if found else None

    def recheck(self, group: str, version: str) -> bool:
        """Ask for the index again if it is older than ``recheck_after``; did the gv change?"""
        with self._lock:
            return run(self.recheck_steps(group, version), self._transport)

    def recheck_steps(self, group: str, version: str, *,
                      after: float | None = None) -> Steps[bool]:
        """:meth:`recheck` as a step machine (``after`` in place of ``recheck_after``)."""
        path = document_path(group, version)
        limit = self._recheck_after if after is None else after
        if self._index is None or time.monotonic() - self._index_at < limit:
            return False
        before = self._index.get(path)
        self._index = None
        index = yield from self._load_index_steps()
        return index is not None and index.get(path) != before

    # -- fetching -----------------------------------------------------------------------
    def _load_index(self) -> dict[str, str] | None:
        with self._lock:
            return run(self._load_index_steps(), self._transport)

    def _load_index_steps(self) -> Steps[dict[str, str] | None]:
        if self._index is not None:
            return self._index
        if self._unavailable:
            return None
        if (self._index_failed_at is not None
                and time.monotonic() - self._index_failed_at < _RETRY_FAILED_INDEX):
            return None
        try:
            body = (yield from fetch(ApiRequest("GET", _INDEX_PATH))).json()
        except NotFoundError:
            self._unavailable = True
            self._warn("index", "the server publishes no OpenAPI v3 (/openapi/v3 is 404); "
                       "client-side validation is skipped")
            return None
        except (ApiError, TransportError) as e:
            self._index_failed_at = time.monotonic()
            self._warn("index", f"could not read /openapi/v3 ({e}); client-side "
                       "validation is skipped for now")
            return None
        paths = body.get("paths") if isinstance(body, Mapping) else None
        if not isinstance(paths, Mapping):
            self._index_failed_at = time.monotonic()
            self._warn("index", "/openapi/v3 answered without 'paths'; client-side "
                       "validation is skipped for now")
            return None
        self._index = {
            str(k): str(v.get("serverRelativeURL"))
            for k, v in paths.items()
            if isinstance(v, Mapping) and isinstance(v.get("serverRelativeURL"), str)
        }
        self._index_at = time.monotonic()
        self._index_failed_at = None
        return self._index

    def _document(self, group: str, version: str) -> _Document | None:
        with self._lock:
            return run(self._document_steps(group, version), self._transport)

    def _document_steps(self, group: str, version: str) -> Steps[_Document | None]:
        path = document_path(group, version)
        index = yield from self._load_index_steps()
        if index is None:
            return None
        url = index.get(path)
        if url is None:
            return None
        known = self._documents.get(path)
        if known is not None and known.url == url:
            return known
        split = urlsplit(url)
        query = tuple(parse_qsl(split.query))
        digest = dict(query).get("hash")
        if known is not None and known.hash == digest and digest is not None:
            return known
        failed = self._failed.get(path)
        if failed is not None and time.monotonic() - failed < _MISS_MEMORY:
            return None
        read = yield from self._read(path, split.path or f"/openapi/v3/{path}", query, digest)
        if read is None:
            self._failed[path] = time.monotonic()
            return None
        self._failed.pop(path, None)
        document, body = read
        key = f"{path}@{digest or 'sha256:' + hashlib.sha256(body).hexdigest()}"
        found = _Document(key, digest, Converter(document), url)
        self._documents[path] = found
        return found

    def _read(self, path: str, url_path: str, query: tuple[tuple[str, str], ...],
              digest: str | None) -> Steps[tuple[Mapping[str, Any], bytes] | None]:
        """The document and its bytes: from the disk cache by hash, else from the server.

        Only a body that is a JSON object is cached: content stored under a hash is trusted
        forever, by every process, so a broken answer must never get there.
        """
        cache_key = None
        if digest:
            safe = digest if digest.isalnum() else hashlib.sha256(digest.encode()).hexdigest()
            cache_key = f"openapi/{path.replace('/', '__')}-{safe}.json"
        if cache_key is not None:
            entry = self._cache.read(cache_key)
            if entry is not None:
                cached = _json_object(bytes(entry.body))
                if cached is not None:
                    return cached, bytes(entry.body)
                log.debug("ignoring the cached OpenAPI document of %s: not a document", path)
        try:
            body = bytes((yield from fetch(ApiRequest("GET", url_path, query))).content)
        except NotFoundError:
            log.debug("OpenAPI document %s is listed but missing", path)
            self._index = None
            return None
        except DynakubeError as e:
            self._warn(path, f"could not read the OpenAPI document of {path} ({e}); "
                       "its kinds are not validated for now")
            return None
        document = _json_object(body)
        if document is None:
            self._warn(path, f"the OpenAPI document of {path} is not a JSON object with "
                       "components or paths; its kinds are not validated for now")
            return None
        if cache_key is not None:
            self._cache.write(cache_key, body)
        return document, body

    def _warn(self, topic: str, message: str) -> None:
        if topic in self._warned:
            log.debug("%s", message)
            return
        self._warned.add(topic)
        warnings.warn(message, SchemaWarning, stacklevel=4)


def _json_object(body: bytes) -> Mapping[str, Any] | None:
    """``body`` as an OpenAPI document, or None: not JSON, not an object, or no document.

    A ``Status`` (or an auth proxy's JSON) answered with ``200`` is no document: cached under
    the hash, it would stand in for the schema in every process until the hash changes.
    """
    try:
        document = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return None
    if not isinstance(document, Mapping) or document.get("kind") == "Status":
        return None
    if not any(isinstance(document.get(k), Mapping) for k in ("components", "paths")):
        return None
    return document
