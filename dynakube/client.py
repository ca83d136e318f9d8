"""The dynamic client: every verb on every resource the server serves, on plain dicts.

``Client`` wires configuration, transport, discovery and schemas together and hands out
:class:`~dynakube.resource.Resource` handles (``kube.resource("deployments")``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .cache import DiskCache
from .config.load import ClusterConfig, KubeconfigPaths, load_config
from .discovery.loader import Discovery
from .discovery.registry import ResourceInfo
from .errors import (
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    Problem,
    ServerWarning,
    ValidationError,
)
from .resource import (
    ALL,
    DEFAULT_FIELD_MANAGER,
    TABLE_ACCEPT,
    Resource,
    Selector,
    field_selector_param,
    label_selector_param,
    object_metadata,
)
from .transport.http import Transport

if TYPE_CHECKING:
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
    """A client for one API server: ``kube.resource("deployments").get("web")``."""

    def __init__(self, config: ClusterConfig | None = None, *,
                 kubeconfig: KubeconfigPaths = None,
                 context: str | None = None, namespace: str | None = None,
                 validate: bool = True, cache_dir: str | os.PathLike[str] | None = None,
                 discovery_ttl: float = 6 * 3600, qps: float | None = 100.0, burst: int = 300,
                 timeout: float = 60.0, warning_handler: Callable[[str], None] | None = None):
        if config is None:
            config = load_config(kubeconfig, context)
        elif kubeconfig is not None or context is not None:
            raise InvalidArgumentError("pass either a ClusterConfig or kubeconfig/context")
        self.config = config
        self.namespace: str = namespace or config.namespace or "default"
        self.validate_objects = validate
        self._warning_handler = warning_handler
        self.transport = Transport(config, qps=qps, burst=burst, timeout=timeout,
                                   warning_handler=self._server_warning)
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
        self.transport.close()

    # -- discovery ---------------------------------------------------------------------------
    def resource(self, name: str, api_version: str | None = None) -> Resource:
        """A handle on a resource by any name kubectl accepts (kind, plural, short name...)."""
        return Resource(self, self.discovery.resolve(name, api_version))

    def version(self) -> dict[str, Any]:
        return self.discovery.version()

    def api_resources(self) -> list[ResourceInfo]:
        return self.discovery.registry().api_resources()

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

    def _server_warning(self, text: str) -> None:
        """A server ``Warning`` (shown once): a deprecation also marks the registry."""
        self.discovery.note_warning(text)
        if self._warning_handler is not None:
            self._warning_handler(text)
        else:
            warnings.warn(text, ServerWarning, stacklevel=7)

    def _deprecation_warning(self, info: ResourceInfo) -> None:
        """Say once that a deprecated version is used, in the words the server uses."""
        if info.deprecated:
            self.transport.warn(info.deprecation_warning
                                or f"{info.api_version} {info.kind} is deprecated", stacklevel=5)

    # -- schemas -----------------------------------------------------------------------------
    @property
    def schemas(self) -> SchemaStore:
        if self._schemas is None:
            from .schema.store import SchemaStore

            self._schemas = SchemaStore(self.transport, self._cache)
        return self._schemas

    def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                 raise_errors: bool = False) -> list[Problem]:
        """Check ``obj`` against the server's OpenAPI schema; a list of ``Problem``."""
        from .schema.validate import validate

        name = object_metadata(obj).get("name")  # also refuses what is not a dict
        problems = validate(self.schemas, dict(obj), field_validation=field_validation)
        if raise_errors and any(p.severity == "error" for p in problems):
            raise ValidationError(problems, kind=obj.get("kind"), name=name)
        return problems

    def _validate_before_send(self, obj: Mapping[str, Any], validate: bool | None,
                              field_validation: str | None) -> None:
        if not (self.validate_objects if validate is None else validate):
            return
        # the server's default is Warn: unknown fields warn, they do not stop the request
        problems = self.validate(obj, field_validation=field_validation or "Warn")
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise ValidationError(problems, kind=obj.get("kind"),
                                  name=object_metadata(obj).get("name"))
        from .schema.validate import ValidationWarning

        for problem in problems:
            warnings.warn(str(problem), ValidationWarning, stacklevel=4)

    def explain(self, path: str, *, recursive: bool = False,
                api_version: str | None = None) -> str:
        """``kubectl explain``: ``kube.explain("deployment.spec.strategy")``."""
        from .schema.explain import explain

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
        info = self.discovery.resolve(name, api_version)
        schema = self.schemas.kind_schema(info.group, info.version, info.kind)
        if schema is None:
            raise NotFoundError(404, {"reason": "NotFound", "message": (
                f"the server publishes no OpenAPI v3 schema for {info.kind}")})
        return schema

    # -- tables, apply, informers -----------------------------------------------------------
    def table(self, resource: str | Resource, namespace: Any = None, *,
              name: str | None = None, label_selector: Selector = None,
              field_selector: Selector = None, all_namespaces: bool = False,
              include_object: str = "PartialObjectMetadata") -> dict[str, Any]:
        """The server-side Table for a resource: its own columns, custom kinds included."""
        handle = resource if isinstance(resource, Resource) else self.resource(resource)
        handle._verb("get" if name else "list")
        if name is not None:
            path = handle._item_path(handle._namespace(namespace), name)
            query: dict[str, Any] = {}
        else:
            path = handle._collection_path(
                handle._collection_namespace(namespace, all_namespaces))
            query = handle._list_query(label_selector, field_selector)
        query["includeObject"] = include_object
        return handle._send("GET", path, query, accept=TABLE_ACCEPT)

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
