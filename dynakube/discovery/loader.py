"""Finding out what the server serves: two requests cold, none warm, and never stale for long.

Aggregated discovery (``apidiscovery.k8s.io`` v2, or v2beta1 on 1.26–1.29 servers) answers
``/api`` and ``/apis`` with every group, version and resource at once; older servers get the
legacy walk (``/api``, ``/apis``, then each group-version, fetched concurrently). Documents are
kept in memory and on disk (:class:`~dynakube.cache.DiskCache`) with their ``Etag``: within
the TTL a new process asks nothing; after it, ``If-None-Match`` makes an unchanged server cost
two ``304`` answers. A lookup miss refreshes once, so a CRD created a second ago is found.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ..cache import DiskCache
from ..errors import (
    ApiError,
    DiscoveryError,
    DiscoveryWarning,
    DynakubeError,
    NotFoundError,
    UnknownResourceError,
)
from ..request import ApiRequest, Sender, api_prefix
from ..transport.steps import Steps, fetch, fetch_all, run
from .documents import AGGREGATED_KIND, document_problem
from .registry import (
    Registry,
    ResourceInfo,
    legacy_group_versions,
    parse_api_version,
    registry_from_documents,
)

__all__ = [
    "ACCEPT_AGGREGATED",
    "DEFAULT_TTL",
    "Discovery",
    "DiscoveryWarning",
    "deprecation_from_warning",
]

ACCEPT_AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
DEFAULT_TTL = 6 * 3600.0  # as kubectl's disk cache
MISS_MEMORY = 5.0  # seconds a failed lookup is remembered (no refetch for the same name)
MAX_WORKERS = 8  # concurrent group-version fetches in legacy discovery

_API_KEY = "discovery/api.json"
_APIS_KEY = "discovery/apis.json"
#: The kinds each document may have; anything else is never cached, and a miss when read.
_ROOT_KINDS = {"/api": (AGGREGATED_KIND, "APIVersions"),
               "/apis": (AGGREGATED_KIND, "APIGroupList")}
_LIST_KINDS = ("APIResourceList",)
# compiled on first use (re keeps it), not at import: only warnings are matched with it
_DEPRECATED = (r"^\s*(?P<gv>[a-z0-9][a-z0-9.-]*/v\w+|v\d\w*)\s+(?P<kind>[A-Za-z][A-Za-z0-9]*)"
               r"\s+is deprecated")


def deprecation_from_warning(text: str) -> tuple[str, str, str] | None:
    """``(group, version, kind)`` from a server warning such as
    ``example.dynakube.io/v1beta1 Widget is deprecated; use v1``, else ``None``."""
    match = re.match(_DEPRECATED, text)
    if not match:
        return None
    group, version = parse_api_version(match["gv"])
    return group, version, match["kind"]


class _Doc:
    __slots__ = ("data", "stored_at", "from_server")

    def __init__(self, data: Any, stored_at: float, from_server: bool):
        self.data, self.stored_at, self.from_server = data, stored_at, from_server


class Discovery:
    """Discovery for one server, cached in memory and on disk; thread-safe.

    The logic is written once as step machines (:mod:`dynakube.transport.steps`): the
    methods here drive them with the sync transport, and the asyncio client drives the
    ``*_steps`` methods with its own (holding its own lock around them).
    """

    def __init__(self, transport: Sender, cache: DiskCache, *, ttl: float = DEFAULT_TTL,
                 on_invalidate: Callable[[], None] | None = None):
        self.transport = transport
        self._on_invalidate = on_invalidate  # what else must forget (the OpenAPI index)
        self.cache = cache
        self.ttl = ttl
        self._lock = threading.RLock()
        self._registry: Registry | None = None
        self._expires = 0.0
        self._revalidate = False
        self._loads = 0  # how many times documents came from the server
        self._misses: dict[tuple[str, str | None], float] = {}
        self._deprecations: dict[tuple[str, str, str], str | None] = {}
        self._warned: frozenset[tuple[str, str]] = frozenset()

    def __repr__(self) -> str:
        return f"<Discovery {self.cache.directory or 'no disk cache'} ttl={self.ttl:g}s>"

    # -- public -------------------------------------------------------------------------

    def registry(self) -> Registry:
        """The current registry: memory, else disk (fresh), else revalidated, else fetched."""
        with self._lock:
            return run(self.registry_steps(), self.transport, workers=MAX_WORKERS)

    def registry_steps(self) -> Steps[Registry]:
        """:meth:`registry` as a step machine."""
        if self._registry is not None and time.time() < self._expires:
            return self._registry
        return (yield from self._load())

    def resolve(self, name: str, api_version: str | None = None) -> ResourceInfo:
        """What ``name`` means on this server; a miss refreshes discovery once, then raises
        ``UnknownResourceError`` (misses are remembered for a few seconds)."""
        with self._lock:
            return run(self.resolve_steps(name, api_version), self.transport,
                       workers=MAX_WORKERS)

    def resolve_steps(self, name: str, api_version: str | None = None) -> Steps[ResourceInfo]:
        """:meth:`resolve` as a step machine."""
        return self._lookup((name.strip().lower(), api_version),
                            lambda reg: reg.resolve(name, api_version))

    def for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """The resource for an object's ``apiVersion``/``kind``; a miss refreshes once."""
        with self._lock:
            return run(self.for_kind_steps(api_version, kind), self.transport,
                       workers=MAX_WORKERS)

    def for_kind_steps(self, api_version: str, kind: str) -> Steps[ResourceInfo]:
        """:meth:`for_kind` as a step machine."""
        return self._lookup((f"{kind}\0kind", api_version),
                            lambda reg: reg.for_kind(api_version, kind))

    def invalidate(self) -> None:
        """Forget what is known: the next use revalidates every document with the server."""
        with self._lock:
            self._registry = None
            self._revalidate = True
            self._misses.clear()
        if self._on_invalidate is not None:
            self._on_invalidate()

    def version(self) -> dict[str, Any]:
        """``GET /version``: ``{"major": "1", "minor": "36", "gitVersion": ...}``."""
        return run(self.version_steps(), self.transport)

    def version_steps(self) -> Steps[dict[str, Any]]:
        """:meth:`version` as a step machine."""
        body = (yield from fetch(ApiRequest("GET", "/version"))).json()
        if not isinstance(body, dict):
            raise DiscoveryError(f"/version answered {type(body).__name__}, not an object")
        return body

    def mark_deprecated(self, group: str, version: str, plural: str = "*",
                        warning: str | None = None) -> None:
        """Record that a version (or one resource in it) is deprecated, so lookups avoid it
        while another version serves the resource; ``plural="*"`` covers the group-version."""
        with self._lock:
            self._deprecations[(group, version, plural)] = warning
            if self._registry is not None:
                self._registry = self._registry.with_deprecations(self._deprecations)

    def note_warning(self, text: str, *, load: bool = True) -> ResourceInfo | None:
        """Feed a server ``Warning``; a deprecation warning marks that resource's version
        deprecated and returns it (else ``None``). Suitable as a transport warning handler.
        ``load=False`` uses only the registry in memory (the asyncio client: no I/O here)."""
        found = deprecation_from_warning(text)
        if found is None:
            return None
        group, version, kind = found
        with self._lock:
            registry = self.registry() if load else self._registry
            if registry is None:
                return None
            try:
                info = registry.for_kind(f"{group}/{version}" if group else version, kind)
            except UnknownResourceError:
                return None
            self.mark_deprecated(group, version, info.plural, text)
            registry = self.registry() if load else self._registry
            assert registry is not None
            return registry.for_kind(info.api_version, kind)

    # -- lookups with one refresh ------------------------------------------------------

    def _lookup(self, key: tuple[str, str | None],
                find: Callable[[Registry], ResourceInfo]) -> Steps[ResourceInfo]:
        loads = self._loads
        registry = yield from self.registry_steps()
        try:
            return find(registry)
        except UnknownResourceError:
            now = time.monotonic()
            self._misses = {k: t for k, t in self._misses.items()
                            if now - t < MISS_MEMORY}
            if self._loads != loads or key in self._misses:
                self._misses.setdefault(key, now)
                raise  # just fetched, or asked a moment ago: refreshing cannot help
            self._misses[key] = now
        self._registry = None
        self._revalidate = True
        if self._on_invalidate is not None:
            self._on_invalidate()
        result = find((yield from self.registry_steps()))
        self._misses.pop(key, None)
        return result

    # -- loading ------------------------------------------------------------------------

    def _load(self) -> Steps[Registry]:
        revalidate = self._revalidate
        api = yield from self._root("/api", _API_KEY, revalidate)
        apis = yield from self._root("/apis", _APIS_KEY, revalidate)
        docs = [api, apis]
        lists: dict[str, Mapping[str, Any]] = {}
        failed: dict[str, str] = {}
        gvs = legacy_group_versions(api.data, apis.data)
        if gvs:
            docs += yield from self._legacy_lists(gvs, revalidate, lists, failed)
        registry = registry_from_documents(api.data, apis.data, lists, failed)
        if self._deprecations:
            registry = registry.with_deprecations(self._deprecations)
        if any(d.from_server for d in docs):
            self._loads += 1
        self._registry = registry
        self._expires = min(d.stored_at for d in docs) + self.ttl
        self._revalidate = False
        self._warn_failures(registry.failed, cached=not all(d.from_server for d in docs))
        return registry

    def _fresh(self, stored_at: float) -> bool:
        """Stored within the TTL (a file dated in the future, after a clock jump, is not)."""
        age = time.time() - stored_at
        return -60.0 < age < self.ttl

    def _root(self, path: str, key: str, revalidate: bool) -> Steps[_Doc]:
        """``/api`` or ``/apis`` (asked in aggregated form; either form may come back):
        fresh from disk, else asked (conditional on the stored ``Etag`` when there is one).

        The two go one after the other on one connection, as in client-go: asked together,
        a second connection (a TLS handshake, a server thread) cost a cold start more than
        the round trip it saves, and with the disk cache a remote cold start is rare.
        """
        cached = self.cache.read(key)
        data = _decode(cached.body, _ROOT_KINDS[path]) if cached is not None else None
        headers = [("Accept", ACCEPT_AGGREGATED)]
        if cached is not None and data is not None:
            if not revalidate and self._fresh(cached.stored_at):
                return _Doc(data, cached.stored_at, False)
            if cached.etag:
                headers.append(("If-None-Match", cached.etag))
        outcome = (yield from fetch_all([ApiRequest("GET", path, headers=tuple(headers))]))[0]
        if isinstance(outcome, NotFoundError):
            if path == "/apis":  # a server without API groups (very old, or a proxy)
                return _Doc({"kind": "APIGroupList", "groups": []}, time.time(), True)
            raise DiscoveryError(
                f"{path} is not found: the server URL does not point at a Kubernetes API "
                "server (check the cluster's 'server' in the kubeconfig)") from outcome
        if isinstance(outcome, DynakubeError):
            raise outcome
        response = outcome
        if response.status == 304 and data is not None:
            self.cache.touch(key)
            return _Doc(data, time.time(), True)
        body = response.content
        fresh = _json_object(body)
        if fresh is None:
            raise DiscoveryError(
                f"{path} answered a body that is not a JSON object: {body[:200]!r}; nothing "
                "was cached. Is the server URL a Kubernetes API server, not a proxy's page?")
        content_type = response.headers.get("Content-Type") or ""
        if _is_aggregated(content_type) and fresh.get("kind") != AGGREGATED_KIND:
            raise DiscoveryError(f"{path} claimed aggregated discovery ({content_type}) but "
                                 f"sent a {fresh.get('kind')!r}")
        problem = document_problem(fresh, _ROOT_KINDS[path])
        if problem is not None:  # a Status or a proxy's JSON with 200: never worth keeping
            raise DiscoveryError(
                f"{path} answered {response.status} with something that is not discovery "
                f"data: {problem}; nothing was cached. Is the server URL a Kubernetes API "
                "server?")
        self.cache.write(key, body, etag=response.headers.get("Etag"))
        return _Doc(fresh, time.time(), True)

    def _legacy_lists(self, gvs: list[str], revalidate: bool,
                      lists: dict[str, Mapping[str, Any]], failed: dict[str, str]
                      ) -> Steps[list[_Doc]]:
        docs: list[_Doc] = []
        missing: list[str] = []
        for gv in gvs:
            try:
                key = _gv_key(gv)
            except UnknownResourceError:
                failed[gv] = "the server lists it, but it is not a group/version"
                continue
            cached = self.cache.read(key)
            data = _decode(cached.body, _LIST_KINDS) if cached is not None else None
            if (cached is not None and data is not None and not revalidate
                    and self._fresh(cached.stored_at)):
                lists[gv] = data
                docs.append(_Doc(data, cached.stored_at, False))
            else:
                missing.append(gv)
        if not missing:
            return docs
        outcomes = yield from fetch_all([
            ApiRequest("GET", api_prefix(*parse_api_version(gv)),
                       headers=(("Accept", "application/json"),)) for gv in missing])
        for gv, outcome in zip(missing, outcomes, strict=True):
            data, problem = self._group_version(gv, outcome)
            if data is None:
                failed[gv] = problem or "no answer"
            else:
                lists[gv] = data
                docs.append(_Doc(data, time.time(), True))
        if not docs:  # every group-version failed: still a load from the server
            docs.append(_Doc(None, time.time(), True))
        return docs

    def _group_version(self, gv: str, outcome: Any) -> tuple[dict[str, Any] | None, str | None]:
        """One legacy group-version document from its request's outcome, cached if usable."""
        if isinstance(outcome, ApiError):
            return None, f"{outcome.code} {outcome.reason or 'error'}: {outcome.message}"
        if isinstance(outcome, DynakubeError):
            return None, str(outcome)
        body = outcome.content
        data = _json_object(body)
        problem = ("it is not a JSON object" if data is None
                   else document_problem(data, _LIST_KINDS))
        if data is None or problem is not None:
            return None, f"the answer is not discovery data: {problem}"
        self.cache.write(_gv_key(gv), body)
        return data, None

    def _warn_failures(self, failed: Mapping[str, str], *, cached: bool) -> None:
        current = frozenset(failed.items())
        if not current or current == self._warned:
            self._warned = current
            return
        self._warned = current
        listed = "; ".join(f"{gv}: {why}" for gv, why in sorted(failed.items()))
        origin = f" ({_cache_hint(self.cache)})" if cached and self.cache.enabled else ""
        warnings.warn(
            f"discovery could not list {len(failed)} group-version(s), their resources are "
            f"unavailable until they answer: {listed}{origin}", DiscoveryWarning, stacklevel=4)


def _cache_hint(cache: DiskCache) -> str:
    """Where cached discovery came from and how to get rid of it, for messages about it."""
    return (f"this comes from discovery data cached in {cache.directory}; kube.invalidate() "
            "refetches it, and deleting that directory (or pointing DYNAKUBE_CACHE_DIR "
            "elsewhere) clears it")


def _gv_key(gv: str) -> str:
    """``discovery/api/v1.json``, ``discovery/apis/apps/v1.json``: the URL path, as a key."""
    return "discovery" + api_prefix(*parse_api_version(gv)) + ".json"


def _json_object(body: bytes) -> dict[str, Any] | None:
    """A JSON object, or ``None`` for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _decode(body: bytes, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """A cached document that is usable discovery data of one of ``kinds``, else ``None``
    (a miss: corrupt files, and anything an older version cached that is not discovery)."""
    data = _json_object(body)
    return data if data is not None and document_problem(data, kinds) is None else None


def _is_aggregated(content_type: str) -> bool:
    params = {k.strip().lower(): v.strip() for k, _, v in
              (p.partition("=") for p in content_type.split(";")[1:])}
    return params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io"
