"""The asyncio client: ``async with AsyncClient() as kube: await kube.resource("pods")``.

The same constructor as :class:`dynakube.Client` and the same pure core: discovery and
schema loading are the sync client's step machines (:mod:`dynakube.transport.steps`) driven
on the event loop, requests are built by the sync :class:`~dynakube.resource.Resource` code,
and the answers are judged by the same rules; only the transport
(:class:`~dynakube.transport.asynchttp.AsyncTransport`) differs.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..cache import DiskCache
from ..config.cluster import ClusterConfig
from ..config.load import load_config
from ..discovery.loader import Discovery
from ..discovery.registry import ResourceInfo
from ..errors import (
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    Problem,
    ServerWarning,
    TransportError,
)
from ..meta import object_metadata
from ..request import ApiRequest
from ..resource import DEFAULT_FIELD_MANAGER, Selector
from ..resource import check_text as _check_text
from ..schema.store import SchemaStore
from ..transport.asynchttp import DEFAULT_MAX_CONNECTIONS, AsyncTransport
from ..transport.steps import AsyncSender, Steps, run_async
from .resource import AsyncResource

if TYPE_CHECKING:
    from ..config.kubeconfig import KubeconfigPaths
    from .informer import AsyncInformer

__all__ = ["AsyncClient"]


class _NoSyncIO:
    """The sync sender of the async client's discovery and schemas: every fetch of theirs
    is driven on the loop instead, so reaching this is a bug worth a clear message."""

    def send(self, request: ApiRequest, *, stream: bool = False,
             read_timeout: float | None = None) -> Any:
        raise TransportError(f"{request.method} {request.path} was asked for synchronously "
                             "inside dynakube.aio; this is a dynakube bug, please report it")


class AsyncClient:
    """A client for one API server on an event loop; ``async with`` closes it.

    Arguments as :class:`dynakube.Client`; ``max_connections`` bounds the ordinary requests
    in flight (watches and followed logs hold their own connections). A ``transport`` passed
    in is any :class:`~dynakube.transport.steps.AsyncSender` and stays the caller's.
    """

    def __init__(self, config: ClusterConfig | None = None, *,
                 kubeconfig: KubeconfigPaths = None,
                 context: str | None = None, namespace: str | None = None,
                 validate: bool = True, cache_dir: str | os.PathLike[str] | None = None,
                 discovery_ttl: float = 6 * 3600, qps: float | None = 100.0, burst: int = 300,
                 timeout: float = 60.0, warning_handler: Callable[[str], None] | None = None,
                 transport: AsyncSender | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS):
        if config is None:
            config = load_config(kubeconfig, context)
        elif kubeconfig is not None or context is not None:
            raise InvalidArgumentError("pass either a ClusterConfig or kubeconfig/context")
        self.config = config
        self.namespace: str = namespace or config.namespace or "default"
        self.validate_objects = validate
        self._warning_handler = warning_handler
        self._warned: set[str] = set()
        self._warned_lock = threading.Lock()
        self._owned: AsyncTransport | None = None
        if transport is None:
            transport = self._owned = AsyncTransport(
                config, qps=qps, burst=burst, timeout=timeout, warning_handler=self.warn,
                max_connections=max_connections)
        self.transport: AsyncSender = transport
        self._cache = DiskCache.for_server(config.server, base=cache_dir)
        self.discovery = Discovery(_NoSyncIO(), self._cache, ttl=discovery_ttl,
                                   on_invalidate=self._forget_schemas)
        # rechecks of a stale schema are driven here, on the loop (see validate)
        self.schemas = SchemaStore(_NoSyncIO(), self._cache, recheck_after=math.inf)
        self._recheck_after = 10.0
        self._steps_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return (f"<AsyncClient {self.config.server} context={self.config.context!r} "
                f"namespace={self.namespace!r}>")

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport the client built (every connection, live watches too), once
        the documents it cached are on disk (waited for off the loop)."""
        if self._owned is not None:
            await self._owned.aclose()
        if not self._cache.flush(timeout=0):
            await asyncio.to_thread(self._cache.flush)

    async def run(self, steps: Steps[Any]) -> Any:
        """Drive a discovery or schema step machine on the loop, one at a time."""
        if self._steps_lock is None:
            self._steps_lock = asyncio.Lock()
        async with self._steps_lock:
            return await run_async(steps, self.transport)

    # -- discovery ---------------------------------------------------------------------------
    async def resource(self, name: str, api_version: str | None = None) -> AsyncResource:
        """A handle on a resource by any name kubectl accepts (kind, plural, short name...)."""
        _check_text(name, "a resource name", "deployments")
        _check_text(api_version, "api_version", "apps/v1", optional=True)
        info = await self.run(self.discovery.resolve_steps(name, api_version))
        return AsyncResource(self, info)

    async def resources_in_category(self, category: str) -> list[ResourceInfo]:
        """The resources in a category (``all``, ``api-extensions``...), as kubectl finds them."""
        registry = await self.run(self.discovery.registry_steps())
        result: list[ResourceInfo] = registry.in_category(category)
        return result

    async def version(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.run(self.discovery.version_steps())
        return result

    async def api_resources(self, *, sort_by: str = "group") -> list[ResourceInfo]:
        """What ``kubectl api-resources`` lists, sorted by ``group``, ``name`` or ``kind``."""
        registry = await self.run(self.discovery.registry_steps())
        result: list[ResourceInfo] = registry.api_resources(sort_by=sort_by)
        return result

    def invalidate(self) -> None:
        """Forget discovery and the OpenAPI index: the cluster changed."""
        self.discovery.invalidate()

    def _forget_schemas(self) -> None:
        self.schemas.invalidate()

    async def resource_for(self, obj: Mapping[str, Any]) -> AsyncResource:
        """The handle for an object's ``apiVersion`` and ``kind``."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise InvalidArgumentError("the object needs apiVersion and kind")
        info = await self.run(self.discovery.for_kind_steps(str(api_version), str(kind)))
        return AsyncResource(self, info)

    async def get(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Re-read any object by its apiVersion, kind, namespace and name."""
        meta = object_metadata(obj)
        if not meta.get("name"):
            raise InvalidArgumentError("the object needs metadata.name")
        resource = await self.resource_for(obj)
        namespace = meta.get("namespace") if resource.info.namespaced else None
        return await resource.get(meta["name"], namespace)

    def warn(self, text: str, *, stacklevel: int = 6) -> None:
        """Surface a server ``Warning`` once (as :meth:`dynakube.Client.warn`)."""
        with self._warned_lock:
            if text in self._warned:
                return
            self._warned.add(text)
        self.discovery.note_warning(text, load=False)
        if self._warning_handler is not None:
            self._warning_handler(text)
        else:
            warnings.warn(text, ServerWarning, stacklevel=stacklevel + 1)

    # -- schemas -----------------------------------------------------------------------------
    async def prepare_schema(self, obj: Any) -> tuple[str, str, str] | None:
        """Fetch what validating ``obj`` needs, so the pure validator finds it in memory;
        its ``(group, version, kind)``, or None when it names none."""
        if not isinstance(obj, Mapping):
            return None
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
            return None
        group, _, version = api_version.rpartition("/")
        await self.run(self.schemas.prepare(group, version, kind))
        return group, version, kind

    async def schema_changed(self, obj: Any) -> bool:
        """After errors: ask the server again whether ``obj``'s schema changed (then it is
        fetched anew), as the sync validation does when its index is old enough."""
        gvk = await self.prepare_schema(obj)
        if gvk is None:
            return False
        changed = await self.run(self.schemas.recheck_steps(gvk[0], gvk[1],
                                                            after=self._recheck_after))
        if changed:
            await self.prepare_schema(obj)
        return bool(changed)

    def validate_prepared(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                          raise_errors: bool = False, partial: bool = False) -> list[Problem]:
        """:meth:`validate` once :meth:`prepare_schema` fetched what it needs (pure)."""
        from ..schema.validate import raise_for_problems, validate

        body = dict(obj) if isinstance(obj, Mapping) else obj
        problems = validate(self.schemas, body, field_validation=field_validation,
                            partial=partial)
        if raise_errors:
            raise_for_problems(problems, obj)
        return problems

    async def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                       raise_errors: bool = False, partial: bool = False) -> list[Problem]:
        """Check ``obj`` against the server's OpenAPI schema (as :meth:`Client.validate`)."""
        await self.prepare_schema(obj)
        problems = self.validate_prepared(obj, field_validation=field_validation,
                                          partial=partial)
        if any(p.severity == "error" for p in problems) and await self.schema_changed(obj):
            problems = self.validate_prepared(obj, field_validation=field_validation,
                                              partial=partial)
        if raise_errors:
            from ..schema.validate import raise_for_problems

            raise_for_problems(problems, obj)
        return problems

    async def explain(self, path: str, *, recursive: bool = False,
                      api_version: str | None = None) -> str:
        """``kubectl explain``: ``await kube.explain("deployment.spec.strategy")``."""
        from ..schema.explain import explain

        _check_text(path, "a field path", "deployment.spec.strategy")
        _check_text(api_version, "api_version", "apps/v1", optional=True)
        parts = path.split(".")
        registry = await self.run(self.discovery.registry_steps())
        info, fields = None, ""
        for i in range(len(parts), 1, -1):
            try:
                info, fields = registry.resolve(".".join(parts[:i]), api_version), \
                    ".".join(parts[i:])
                break
            except DynakubeError:
                continue
        if info is None:
            info = await self.run(self.discovery.resolve_steps(parts[0], api_version))
            fields = ".".join(parts[1:])
        await self.run(self.schemas.prepare(info.group, info.version, info.kind))
        return explain(self.schemas, info, fields, recursive=recursive)

    async def schema(self, name: str, api_version: str | None = None) -> dict[str, Any]:
        """The resolved JSON Schema of a resource's kind (for forms or docs)."""
        info = (await self.resource(name, api_version)).info
        await self.run(self.schemas.prepare(info.group, info.version, info.kind))
        schema = self.schemas.kind_schema(info.group, info.version, info.kind)
        if schema is None:
            raise NotFoundError(404, {"reason": "NotFound", "message": (
                f"the server publishes no OpenAPI v3 schema for {info.kind}")})
        return schema

    # -- tables, apply, informers -----------------------------------------------------------
    async def table(self, resource: str | AsyncResource, namespace: Any = None, *,
                    name: str | None = None, label_selector: Selector = None,
                    field_selector: Selector = None, all_namespaces: bool = False,
                    include_object: str = "Metadata") -> dict[str, Any]:
        """The server-side Table for a resource: see :meth:`AsyncResource.table`."""
        handle = resource if isinstance(resource, AsyncResource) else \
            await self.resource(resource)
        return await handle.table(namespace, name=name, label_selector=label_selector,
                                  field_selector=field_selector,
                                  all_namespaces=all_namespaces, include_object=include_object)

    async def apply(self, source: Any, *, field_manager: str = DEFAULT_FIELD_MANAGER,
                    force: bool = False, dry_run: bool = False, server_side: bool = True,
                    field_validation: str | None = None, validate: bool | None = None,
                    stop_on_error: bool = False, namespace: str | None = None,
                    crd_timeout: float = 30.0,
                    progress: Callable[[int, int, str], None] | None = None
                    ) -> list[dict[str, Any]]:
        """Apply a dict, a list of dicts, YAML text or a file/directory path, in order.

        As :meth:`dynakube.Client.apply`: every document is read and checked before any is
        sent, namespaces and CRDs go first, objects of a CRD in the batch wait until
        discovery serves their kind; ``server_side=False`` applies as ``kubectl apply``
        does (the last-applied annotation and a three-way patch).
        """
        from .apply import apply_documents

        return await apply_documents(
            self, source, field_manager=field_manager, force=force, dry_run=dry_run,
            server_side=server_side, field_validation=field_validation, validate=validate,
            stop_on_error=stop_on_error, namespace=namespace, crd_timeout=crd_timeout,
            progress=progress)

    async def informer(self, resource: str | AsyncResource, namespace: Any = None, *,
                       label_selector: Selector = None, field_selector: Selector = None,
                       resync_period: float | None = None,
                       indexers: Mapping[str, Callable[[dict[str, Any]], list[str]]] | None
                       = None, watch_list: bool = True) -> AsyncInformer:
        """An :class:`~dynakube.aio.informer.AsyncInformer` over one resource; ``start()`` it
        (or ``async with`` it)."""
        from ..resource import field_selector_param, label_selector_param
        from .informer import AsyncInformer

        handle = resource if isinstance(resource, AsyncResource) else \
            await self.resource(resource)
        return AsyncInformer(handle, namespace=namespace,
                             label_selector=label_selector_param(label_selector),
                             field_selector=field_selector_param(field_selector),
                             resync_period=resync_period,
                             indexers=dict(indexers) if indexers else None,
                             watch_list=watch_list)

