"""The dynamic client: every verb on every resource the server serves, on plain dicts.

``Client`` wires configuration, transport, discovery and schemas together; ``Resource`` is a
light handle on one resolved resource (what client-go's ``dynamic.NamespaceableResourceInterface``
is), building each request as a pure value and sending it through the one transport.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .cache import DiskCache
from .config import ClusterConfig, load_config
from .discovery import Discovery
from .errors import (
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    ServerWarning,
    UnsupportedMediaTypeError,
    ValidationError,
)
from .registry import ResourceInfo
from .request import (
    JSON,
    PATCH_CONTENT_TYPES,
    ApiRequest,
    encode_body,
    query_pairs,
    resource_path,
)
from .selector import format_field_selector, format_label_selector
from .transport import Transport

if TYPE_CHECKING:
    from .informer import Informer
    from .schema import SchemaStore
    from .watch import Watch

__all__ = ["ALL", "Client", "Resource", "BUILTIN_GROUPS"]

Selector = str | Mapping[str, Any] | None


class _AllNamespaces:
    """``namespace=ALL``: list or watch a namespaced resource across every namespace."""

    def __repr__(self) -> str:
        return "ALL"


ALL: Any = _AllNamespaces()

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
METADATA_ACCEPT = ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
                   "application/json")
DEFAULT_FIELD_MANAGER = "dynakube"

#: API groups served by kube-apiserver itself. A resource outside them is custom (a CRD or an
#: aggregated API): strategic merge patch is refused for it before sending, as the server
#: would answer 415.
BUILTIN_GROUPS = frozenset({
    "", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "apps", "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch",
    "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "internal.apiserver.k8s.io", "networking.k8s.io",
    "node.k8s.io", "policy", "rbac.authorization.k8s.io", "resource.k8s.io",
    "scheduling.k8s.io", "storage.k8s.io", "storagemigration.k8s.io",
})


def _selector(value: Selector, fmt: Callable[[Any], str], what: str) -> str | None:
    try:
        return fmt(value) or None
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"bad {what}: {e}") from e


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise InvalidArgumentError(f"an object must be a dict, got {type(obj).__name__}")
    meta = obj.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise InvalidArgumentError("the object's metadata must be a mapping")
    return meta


class Resource:
    """A handle on one resource (or one subresource of it) of one server."""

    def __init__(self, client: Client, info: ResourceInfo, subresource: str | None = None):
        self.client = client
        self.info = info
        self.subresource_name = subresource

    def __repr__(self) -> str:
        scope = "namespaced" if self.info.namespaced else "cluster-scoped"
        sub = f"/{self.subresource_name}" if self.subresource_name else ""
        return f"<Resource {self.info.qualified}{sub} {self.info.api_version} {scope}>"

    # -- subresources -----------------------------------------------------------------------
    def subresource(self, name: str) -> Resource:
        """``deploy.subresource("status")``; ``status`` and ``scale`` are properties too."""
        if self.subresource_name:
            raise InvalidArgumentError("subresources do not nest")
        if self.info.subresources and self.info.subresource(name) is None:
            served = ", ".join(s.name for s in self.info.subresources)
            raise InvalidArgumentError(
                f"{self.info.qualified} has no subresource {name!r} (it has: {served})")
        if not self.info.subresources:
            raise InvalidArgumentError(f"{self.info.qualified} has no subresources")
        return Resource(self.client, self.info, name)

    @property
    def status(self) -> Resource:
        return self.subresource("status")

    @property
    def scale(self) -> Resource:
        return self.subresource("scale")

    # -- request building (pure) -----------------------------------------------------------
    def _namespace(self, namespace: Any, obj: Mapping[str, Any] | None = None) -> str | None:
        if not self.info.namespaced:
            if namespace is not None and namespace is not ALL:
                raise InvalidArgumentError(
                    f"{self.info.qualified} is cluster-scoped: it takes no namespace "
                    f"(got {namespace!r})")
            return None
        if namespace is ALL:
            raise InvalidArgumentError("namespace=ALL only works for list and watch")
        from_obj = _metadata(obj).get("namespace") if obj is not None else None
        if namespace is not None and from_obj and from_obj != namespace:
            raise InvalidArgumentError(
                f"the object says namespace {from_obj!r} but the call says {namespace!r}")
        return str(namespace or from_obj or self.client.namespace)

    def _collection_namespace(self, namespace: Any, all_namespaces: bool) -> str | None:
        if all_namespaces or namespace is ALL:
            return None
        return self._namespace(namespace)

    def _path(self, namespace: str | None, name: str | None = None) -> str:
        return resource_path(self.info.group, self.info.version, self.info.plural,
                             namespace=namespace, name=name, subresource=self.subresource_name)

    def _verb(self, verb: str) -> None:
        verbs = self.info.verbs
        if self.subresource_name:
            sub = self.info.subresource(self.subresource_name)
            verbs = sub.verbs if sub is not None else ()
        if verbs and verb not in verbs:
            what = self.info.qualified + (f"/{self.subresource_name}"
                                          if self.subresource_name else "")
            raise InvalidArgumentError(
                f"{what} does not support {verb!r} (it supports: {', '.join(verbs)})")

    def _send(self, method: str, path: str, query: Mapping[str, Any] | None = None, *,
              body: Any = None, content_type: str = JSON, accept: str = JSON) -> Any:
        headers: tuple[tuple[str, str], ...] = (("Accept", accept),)
        data = None
        if body is not None:
            data = encode_body(body)
            headers += (("Content-Type", content_type),)
        request = ApiRequest(method, path, query_pairs(query or {}), headers, data)
        self.client._deprecation_warning(self.info)
        return self.client.transport.send(request).json()

    @staticmethod
    def _write_options(dry_run: bool, field_manager: str | None,
                       field_validation: str | None) -> dict[str, Any]:
        if field_validation is not None and field_validation not in ("Strict", "Warn",
                                                                     "Ignore"):
            raise InvalidArgumentError(
                f"field_validation must be 'Strict', 'Warn' or 'Ignore', not {field_validation!r}")
        return {"dryRun": "All" if dry_run else None, "fieldManager": field_manager,
                "fieldValidation": field_validation}

    # -- reads -------------------------------------------------------------------------------
    def get(self, name: str, namespace: str | None = None, *,
            resource_version: str | None = None) -> dict[str, Any]:
        self._verb("get")
        return self._send("GET", self._path(self._namespace(namespace), name),
                          {"resourceVersion": resource_version})

    def _list_query(self, label_selector: Selector, field_selector: Selector,
                    **extra: Any) -> dict[str, Any]:
        query = {
            "labelSelector": _selector(label_selector, format_label_selector, "label selector"),
            "fieldSelector": _selector(field_selector, format_field_selector, "field selector"),
        }
        query.update(extra)
        return query

    def list(self, namespace: Any = None, *, label_selector: Selector = None,
             field_selector: Selector = None, limit: int | None = None,
             continue_token: str | None = None, resource_version: str | None = None,
             resource_version_match: str | None = None, timeout_seconds: int | None = None,
             metadata_only: bool = False, all_namespaces: bool = False) -> dict[str, Any]:
        """The List dict; one request (pass ``limit`` for a page, or use :meth:`iterate`)."""
        self._verb("list")
        query = self._list_query(label_selector, field_selector, limit=limit,
                                 resourceVersion=resource_version,
                                 resourceVersionMatch=resource_version_match,
                                 timeoutSeconds=timeout_seconds)
        query["continue"] = continue_token
        path = self._path(self._collection_namespace(namespace, all_namespaces))
        accept = METADATA_ACCEPT if metadata_only else JSON
        return self._send("GET", path, query, accept=accept)

    def iterate(self, namespace: Any = None, *, chunk_size: int = 500,
                label_selector: Selector = None, field_selector: Selector = None,
                metadata_only: bool = False,
                all_namespaces: bool = False) -> Iterator[dict[str, Any]]:
        """Every item, fetched ``chunk_size`` at a time by following ``continue`` tokens."""
        if chunk_size < 1:
            raise InvalidArgumentError("chunk_size must be at least 1")
        token: str | None = None
        while True:
            page = self.list(namespace, label_selector=label_selector,
                             field_selector=field_selector, limit=chunk_size,
                             continue_token=token, metadata_only=metadata_only,
                             all_namespaces=all_namespaces)
            items = page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            del page
            yield from items
            if not token:
                return

    def watch(self, namespace: Any = None, *, resource_version: str | None = None,
              label_selector: Selector = None, field_selector: Selector = None,
              send_initial_events: bool | None = None, bookmarks: bool = False,
              timeout: float | None = None, all_namespaces: bool = False) -> Watch:
        """A :class:`~dynakube.watch.Watch` that resumes by itself; iterate it for events."""
        from .watch import Watch

        self._verb("watch")
        path = self._path(self._collection_namespace(namespace, all_namespaces))
        return Watch(self.client.transport, path, resource_version=resource_version,
                     label_selector=_selector(label_selector, format_label_selector,
                                              "label selector"),
                     field_selector=_selector(field_selector, format_field_selector,
                                              "field selector"),
                     send_initial_events=send_initial_events, bookmarks=bookmarks,
                     timeout=timeout)

    # -- writes ------------------------------------------------------------------------------
    def _check(self, obj: Mapping[str, Any], validate: bool | None,
               field_validation: str | None) -> None:
        if self.subresource_name:
            return
        self.client._validate_before_send(obj, validate, field_validation)

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *,
               dry_run: bool = False, field_manager: str | None = None,
               field_validation: str | None = None,
               validate: bool | None = None) -> dict[str, Any]:
        self._verb("create")
        self._check(obj, validate, field_validation)
        path = self._path(self._namespace(namespace, obj))
        return self._send("POST", path, self._write_options(
            dry_run, field_manager, field_validation), body=obj)

    def replace(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                dry_run: bool = False, field_manager: str | None = None,
                field_validation: str | None = None,
                validate: bool | None = None) -> dict[str, Any]:
        """PUT the whole object; a stale ``metadata.resourceVersion`` gets ConflictError."""
        self._verb("update")
        name = _metadata(obj).get("name")
        if not name:
            raise InvalidArgumentError("replace needs metadata.name in the object")
        self._check(obj, validate, field_validation)
        path = self._path(self._namespace(namespace, obj), name)
        return self._send("PUT", path, self._write_options(
            dry_run, field_manager, field_validation), body=obj)

    def patch(self, name: str, patch: Any, namespace: str | None = None, *,
              patch_type: str = "merge", dry_run: bool = False,
              field_manager: str | None = None, field_validation: str | None = None,
              force: bool | None = None) -> dict[str, Any]:
        """Patch by ``patch_type``: ``merge`` (default), ``json``, ``strategic`` or ``apply``."""
        self._verb("patch")
        if patch_type not in PATCH_CONTENT_TYPES:
            raise InvalidArgumentError(
                f"patch_type must be one of {', '.join(PATCH_CONTENT_TYPES)}, not {patch_type!r}")
        if patch_type == "strategic" and self.info.group not in BUILTIN_GROUPS:
            raise InvalidArgumentError(
                f"{self.info.qualified} is a custom resource: the server refuses strategic "
                "merge patches for it (415); use patch_type='merge', 'json' or 'apply'")
        if patch_type == "json" and not isinstance(patch, list):
            raise InvalidArgumentError("a JSON patch is a list of operations")
        if patch_type == "apply" and field_manager is None:
            field_manager = DEFAULT_FIELD_MANAGER
        query = self._write_options(dry_run, field_manager, field_validation)
        query["force"] = force
        path = self._path(self._namespace(namespace), name)
        try:
            return self._send("PATCH", path, query, body=patch,
                              content_type=PATCH_CONTENT_TYPES[patch_type])
        except UnsupportedMediaTypeError as e:
            if patch_type != "apply":
                raise
            status = dict(e.status, message=(
                "this server does not support server-side apply (it needs Kubernetes 1.22 "
                f"or newer): {e.message}; use create/replace or a merge patch instead"))
            raise UnsupportedMediaTypeError(e.code, status, text=e.text) from e

    def apply(self, obj: Mapping[str, Any], namespace: str | None = None, *,
              field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False,
              dry_run: bool = False, field_validation: str | None = None,
              validate: bool | None = None) -> dict[str, Any]:
        """Server-side apply ``obj`` (``managedFields``/``resourceVersion`` are not sent)."""
        name = _metadata(obj).get("name")
        if not name:
            raise InvalidArgumentError("apply needs metadata.name in the object")
        self._check(obj, validate, field_validation)
        body = dict(obj)
        meta = {k: v for k, v in _metadata(obj).items()
                if k not in ("managedFields", "resourceVersion")}
        body["metadata"] = meta
        ns = self._namespace(namespace, obj)
        if ns is not None and self.info.namespaced:
            namespace = ns
        return self.patch(name, body, namespace, patch_type="apply", dry_run=dry_run,
                          field_manager=field_manager, field_validation=field_validation,
                          force=force or None)

    @staticmethod
    def _delete_options(propagation_policy: str | None, grace_period_seconds: int | None,
                        preconditions: Mapping[str, str] | None,
                        dry_run: bool) -> dict[str, Any]:
        if propagation_policy not in (None, "Foreground", "Background", "Orphan"):
            raise InvalidArgumentError("propagation_policy must be 'Foreground', 'Background' "
                                       f"or 'Orphan', not {propagation_policy!r}")
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            unknown = set(preconditions) - {"uid", "resourceVersion"}
            if unknown:
                raise InvalidArgumentError(
                    f"preconditions take 'uid' and 'resourceVersion', not {sorted(unknown)}")
            body["preconditions"] = dict(preconditions)
        if dry_run:
            body["dryRun"] = ["All"]
        return body

    def delete(self, name: str, namespace: str | None = None, *,
               propagation_policy: str | None = None, grace_period_seconds: int | None = None,
               preconditions: Mapping[str, str] | None = None,
               dry_run: bool = False) -> dict[str, Any]:
        """Delete one object; returns the object (still finalizing) or the server's Status."""
        self._verb("delete")
        body = self._delete_options(propagation_policy, grace_period_seconds, preconditions,
                                    dry_run)
        return self._send("DELETE", self._path(self._namespace(namespace), name),
                          body=body)

    def delete_collection(self, namespace: Any = None, *, label_selector: Selector = None,
                          field_selector: Selector = None,
                          propagation_policy: str | None = None,
                          grace_period_seconds: int | None = None,
                          dry_run: bool = False) -> dict[str, Any]:
        self._verb("deletecollection")
        body = self._delete_options(propagation_policy, grace_period_seconds, None, dry_run)
        query = self._list_query(label_selector, field_selector)
        path = self._path(self._collection_namespace(namespace, False))
        return self._send("DELETE", path, query, body=body)


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
                 kubeconfig: str | os.PathLike[str] | Sequence[str] | None = None,
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
        return self.resource(str(kind), api_version=str(api_version))

    def get(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Re-read any object by its apiVersion, kind, namespace and name."""
        meta = _metadata(obj)
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
            from .schema import SchemaStore

            self._schemas = SchemaStore(self.transport, self._cache)
        return self._schemas

    def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                 raise_errors: bool = False) -> list[Any]:
        """Check ``obj`` against the server's OpenAPI schema; a list of ``Problem``."""
        from .validation import validate

        problems = validate(self.schemas, dict(obj), field_validation=field_validation)
        if raise_errors and any(p.severity == "error" for p in problems):
            raise ValidationError(problems, kind=obj.get("kind"),
                                  name=_metadata(obj).get("name"))
        return problems

    def _validate_before_send(self, obj: Mapping[str, Any], validate: bool | None,
                              field_validation: str | None) -> None:
        if not (self.validate_objects if validate is None else validate):
            return
        if field_validation == "Ignore":
            mode = "Ignore"
        else:
            mode = field_validation or "Warn"
        problems = self.validate(obj, field_validation=mode)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise ValidationError(problems, kind=obj.get("kind"),
                                  name=_metadata(obj).get("name"))
        from .validation import ValidationWarning

        for problem in problems:
            warnings.warn(str(problem), ValidationWarning, stacklevel=4)

    def explain(self, path: str, *, recursive: bool = False,
                api_version: str | None = None) -> str:
        """``kubectl explain``: ``kube.explain("deployment.spec.strategy")``."""
        from .explain import explain

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
            path = handle._path(handle._namespace(namespace), name)
            query: dict[str, Any] = {}
        else:
            path = handle._path(handle._collection_namespace(namespace, all_namespaces))
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
                 resync_period: float | None = None) -> Informer:
        """An informer (reflector, store, handlers) over one resource; call ``start()``."""
        from .informer import Informer

        handle = resource if isinstance(resource, Resource) else self.resource(resource)
        return Informer(handle, namespace=namespace,
                        label_selector=_selector(label_selector, format_label_selector,
                                                 "label selector"),
                        field_selector=_selector(field_selector, format_field_selector,
                                                 "field selector"),
                        resync_period=resync_period)
