"""The dynamic client: every verb on every resource the server serves, on plain dicts.

``Client`` wires configuration, transport, discovery and schemas together and hands out
:class:`~dynakube.resource.Resource` handles (``kube.resource("deployments")``).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .cache import DiskCache
from .config.cluster import ClusterConfig
from .config.load import load_config
from .discovery.loader import Discovery
from .discovery.registry import ResourceInfo
from .errors import (
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    Problem,
    ServerWarning,
)
from .meta import object_metadata
from .request import Sender
from .resource import (
    ALL,
    DEFAULT_FIELD_MANAGER,
    Resource,
    Selector,
    field_selector_param,
    label_selector_param,
)
from .resource import check_text as _check_text
from .transport.http import Transport

if TYPE_CHECKING:
    from .config.kubeconfig import KubeconfigPaths
    from .controller.informer import Informer
    from .schema.store import SchemaStore

__all__ = ["ALL", "Client", "Resource"]


class _ResourceNames:
    """``kube.resources``: attribute access and ``dir()`` over served resource names.

    Gives REPL tab completion (``kube.resources.deployments``); names with dots are reached
    with ``kube.resources["widgets.example.dynakube.io"]``.
    """

    def __init__(self, client: Client):
        self._client = client

    def __dir__(self) -> list[str]:
        return sorted({n for n in self._client.discovery.registry().names() if n.isidentifier()})

    def __getattr__(self, name: str) -> Resource:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._client.resource(name)

    def __getitem__(self, name: str) -> Resource:
        return self._client.resource(name)


class Client:
    """A client for one API server: ``kube.resource("deployments").get("web")``.

    ``transport`` is the one seam for I/O: by default the client builds a
    :class:`~dynakube.transport.http.Transport` from ``config`` (with ``qps``, ``burst``,
    ``timeout``); pass any :class:`~dynakube.request.Sender` instead (a recorder wrapping a
    real transport, a fake) and every request, discovery and schemas included, goes through
    it. A transport passed in stays the caller's to close, and surfaces the server's
    ``Warning`` headers itself (``qps``, ``burst``, ``timeout`` do not apply to it).
    """

    def __init__(self, config: ClusterConfig | None = None, *,
                 kubeconfig: KubeconfigPaths = None,
                 context: str | None = None, namespace: str | None = None,
                 validate: bool = True, cache_dir: str | os.PathLike[str] | None = None,
                 discovery_ttl: float = 6 * 3600, qps: float | None = 100.0, burst: int = 300,
                 timeout: float = 60.0, warning_handler: Callable[[str], None] | None = None,
                 transport: Sender | None = None):
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
        self._owned: Transport | None = None
        if transport is None:
            transport = self._owned = Transport(config, qps=qps, burst=burst, timeout=timeout,
                                                warning_handler=self.warn)
        self.transport: Sender = transport
        self._cache = DiskCache.for_server(config.server, base=cache_dir)
        self.discovery = Discovery(self.transport, self._cache, ttl=discovery_ttl,
                                   on_invalidate=self._forget_schemas)
        self._schemas: SchemaStore | None = None
        self.resources = _ResourceNames(self)

    def __repr__(self) -> str:
        return (f"<Client {self.config.server} context={self.config.context!r} "
                f"namespace={self.namespace!r}>")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the transport the client built (one passed in is left to its owner), once
        the documents it cached are on disk."""
        if self._owned is not None:
            self._owned.close()
        self._cache.flush()

    # -- discovery ---------------------------------------------------------------------------
    def resource(self, name: str, api_version: str | None = None) -> Resource:
        """A handle on a resource by any name kubectl accepts (kind, plural, short name...)."""
        _check_text(name, "a resource name", "deployments")
        _check_text(api_version, "api_version", "apps/v1", optional=True)
        return Resource(self, self.discovery.resolve(name, api_version))

    def version(self) -> dict[str, Any]:
        return self.discovery.version()

    def api_resources(self, *, sort_by: str = "group") -> list[ResourceInfo]:
        """What ``kubectl api-resources`` lists, sorted by ``group``, ``name`` or ``kind``."""
        return self.discovery.registry().api_resources(sort_by=sort_by)

    def resources_in_category(self, category: str) -> list[ResourceInfo]:
        return self.discovery.registry().in_category(category)

    def invalidate(self) -> None:
        """Forget discovery and the OpenAPI index: the cluster changed."""
        self.discovery.invalidate()

    def _forget_schemas(self) -> None:
        if self._schemas is not None:
            self._schemas.invalidate()

    def _resource_for(self, obj: Mapping[str, Any]) -> Resource:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise InvalidArgumentError("the object needs apiVersion and kind")
        return Resource(self, self.discovery.for_kind(str(api_version), str(kind)))

    def get(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Re-read any object by its apiVersion, kind, namespace and name."""
        meta = object_metadata(obj)
        if not meta.get("name"):
            raise InvalidArgumentError("the object needs metadata.name")
        resource = self._resource_for(obj)
        namespace = meta.get("namespace") if resource.info.namespaced else None
        return resource.get(meta["name"], namespace)

    def warn(self, text: str, *, stacklevel: int = 6) -> None:
        """Surface a server ``Warning`` once: to ``warning_handler``, else as
        :class:`~dynakube.errors.ServerWarning` (``stacklevel`` counts from the caller, as
        in ``warnings.warn``). A deprecation also marks the registry, so the handles made
        afterwards know it.
        """
        with self._warned_lock:
            if text in self._warned:
                return
            self._warned.add(text)
        self.discovery.note_warning(text)
        if self._warning_handler is not None:
            self._warning_handler(text)
        else:
            warnings.warn(text, ServerWarning, stacklevel=stacklevel + 1)

    # -- schemas -----------------------------------------------------------------------------
    @property
    def schemas(self) -> SchemaStore:
        if self._schemas is None:
            from .schema.store import SchemaStore

            self._schemas = SchemaStore(self.transport, self._cache)
        return self._schemas

    def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                 raise_errors: bool = False, partial: bool = False) -> list[Problem]:
        """Check ``obj`` against the server's OpenAPI schema; a list of ``Problem``.

        A malformed object (not a dict, ``metadata`` a list...) is a problem like any
        other, never an exception. ``partial``: ``obj`` is an apply configuration or a
        patch, so nothing that the server's merge may fill in is required of it.
        """
        from .schema.validate import raise_for_problems, validate

        body = dict(obj) if isinstance(obj, Mapping) else obj
        problems = validate(self.schemas, body, field_validation=field_validation,
                            partial=partial)
        if raise_errors:
            raise_for_problems(problems, obj)
        return problems

    def explain(self, path: str, *, recursive: bool = False,
                api_version: str | None = None) -> str:
        """``kubectl explain``: ``kube.explain("deployment.spec.strategy")``."""
        from .schema.explain import explain

        _check_text(path, "a field path", "deployment.spec.strategy")
        _check_text(api_version, "api_version", "apps/v1", optional=True)
        info, fields = self._split_field_path(path, api_version)
        return explain(self.schemas, info, fields, recursive=recursive)

    def _split_field_path(self, path: str,
                          api_version: str | None) -> tuple[ResourceInfo, str]:
        parts = path.split(".")
        registry = self.discovery.registry()
        for i in range(len(parts), 1, -1):
            try:
                return registry.resolve(".".join(parts[:i]), api_version), ".".join(parts[i:])
            except DynakubeError:
                continue
        return self.discovery.resolve(parts[0], api_version), ".".join(parts[1:])

    def schema(self, name: str, api_version: str | None = None) -> dict[str, Any]:
        """The resolved JSON Schema of a resource's kind (for forms or docs)."""
        info = self.resource(name, api_version).info
        schema = self.schemas.kind_schema(info.group, info.version, info.kind)
        if schema is None:
            raise NotFoundError(404, {"reason": "NotFound", "message": (
                f"the server publishes no OpenAPI v3 schema for {info.kind}")})
        return schema

    # -- tables, apply, informers -----------------------------------------------------------
    def table(self, resource: str | Resource, namespace: Any = None, *,
              name: str | None = None, label_selector: Selector = None,
              field_selector: Selector = None, all_namespaces: bool = False,
              include_object: str = "Metadata") -> dict[str, Any]:
        """The server-side Table for a resource: see :meth:`Resource.table`."""
        handle = resource if isinstance(resource, Resource) else self.resource(resource)
        return handle.table(namespace, name=name, label_selector=label_selector,
                            field_selector=field_selector, all_namespaces=all_namespaces,
                            include_object=include_object)

    def apply(self, source: Any, *, field_manager: str = DEFAULT_FIELD_MANAGER,
              force: bool = False, dry_run: bool = False, server_side: bool = True,
              field_validation: str | None = None, validate: bool | None = None,
              stop_on_error: bool = False, namespace: str | None = None,
              crd_timeout: float = 30.0,
              progress: Callable[[int, int, str], None] | None = None) -> list[dict[str, Any]]:
        """Apply a dict, a list of dicts, YAML text or a file/directory path, in order."""
        from .apply import apply_documents

        return apply_documents(
            self, source, field_manager=field_manager, force=force, dry_run=dry_run,
            server_side=server_side, field_validation=field_validation, validate=validate,
            stop_on_error=stop_on_error, namespace=namespace, crd_timeout=crd_timeout,
            progress=progress)

    def informer(self, resource: str | Resource, namespace: Any = None, *,
                 label_selector: Selector = None, field_selector: Selector = None,
                 resync_period: float | None = None,
                 indexers: Mapping[str, Callable[[dict[str, Any]], list[str]]] | None = None,
                 watch_list: bool = True) -> Informer:
        """An informer (reflector, store, handlers) over one resource; call ``start()``."""
        from .controller.informer import Informer

        handle = resource if isinstance(resource, Resource) else self.resource(resource)
        return Informer(handle, namespace=namespace,
                        label_selector=label_selector_param(label_selector),
                        field_selector=field_selector_param(field_selector),
                        resync_period=resync_period,
                        indexers=dict(indexers) if indexers else None, watch_list=watch_list)
