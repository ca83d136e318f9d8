"""The handle on one resource: every verb, built as a pure request and sent by the transport.

What client-go's ``dynamic.NamespaceableResourceInterface`` is. Objects go in and come out as
plain dicts; names and namespaces that would change a URL's meaning never reach the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .discovery.registry import BUILTIN_GROUPS, ResourceInfo
from .errors import InvalidArgumentError, UnsupportedMediaTypeError
from .request import (
    JSON,
    PATCH_CONTENT_TYPES,
    ApiRequest,
    check_name,
    encode_body,
    query_pairs,
    resource_path,
)

if TYPE_CHECKING:
    from .client import Client
    from .watch import Watch

__all__ = ["ALL", "Resource", "DEFAULT_FIELD_MANAGER", "TABLE_ACCEPT", "METADATA_ACCEPT",
           "Selector", "label_selector_param", "field_selector_param", "object_metadata"]

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


def _selector_param(value: Selector, fmt: Callable[[Any], str], what: str) -> str | None:
    try:
        return fmt(value) or None
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"bad {what}: {e}") from e


def label_selector_param(value: Selector) -> str | None:
    """A label selector (string or mapping) as its query value; a bad one is refused."""
    if value is None:
        return None
    from .selector import format_label_selector  # loaded only by calls that filter

    return _selector_param(value, format_label_selector, "label selector")


def field_selector_param(value: Selector) -> str | None:
    """A field selector (string or mapping) as its query value; a bad one is refused."""
    if value is None:
        return None
    from .selector import format_field_selector

    return _selector_param(value, format_field_selector, "field selector")


def object_metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's metadata, checking that the object and its metadata are mappings."""
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
        if not self.info.subresources:
            raise InvalidArgumentError(f"{self.info.qualified} has no subresources")
        if self.info.subresource(name) is None:
            served = ", ".join(s.name for s in self.info.subresources)
            raise InvalidArgumentError(
                f"{self.info.qualified} has no subresource {name!r} (it has: {served})")
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
        from_obj = object_metadata(obj).get("namespace") if obj is not None else None
        if namespace is not None and from_obj and from_obj != namespace:
            raise InvalidArgumentError(
                f"the object says namespace {from_obj!r} but the call says {namespace!r}")
        return str(namespace or from_obj or self.client.namespace)

    def _collection_namespace(self, namespace: Any, all_namespaces: bool) -> str | None:
        if all_namespaces or namespace is ALL:
            return None
        return self._namespace(namespace)

    def _collection_path(self, namespace: str | None) -> str:
        """The collection URL: only list, watch, create and delete_collection use it."""
        if self.subresource_name:
            raise InvalidArgumentError(
                f"subresource {self.subresource_name!r} needs an object name")
        return resource_path(self.info.group, self.info.version, self.info.plural,
                             namespace=namespace)

    def _item_path(self, namespace: str | None, name: Any) -> str:
        """One object's URL; a missing name is refused so it never becomes the collection's.

        ``delete(None)`` sent to the collection URL would delete every object in it.
        """
        check_name(name)
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
        return self._send("GET", self._item_path(self._namespace(namespace), name),
                          {"resourceVersion": resource_version})

    def _list_query(self, label_selector: Selector, field_selector: Selector,
                    **extra: Any) -> dict[str, Any]:
        query = {
            "labelSelector": label_selector_param(label_selector),
            "fieldSelector": field_selector_param(field_selector),
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
        path = self._collection_path(self._collection_namespace(namespace, all_namespaces))
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
              timeout: float | None = None, all_namespaces: bool = False,
              read_timeout: float = 120.0) -> Watch:
        """A :class:`~dynakube.watch.Watch` that resumes by itself; iterate it for events.

        ``read_timeout`` is how long a silent connection is trusted (servers send a bookmark
        about once a minute) before it is dropped and the watch resumes.
        """
        from .watch import Watch

        self._verb("watch")
        path = self._collection_path(self._collection_namespace(namespace, all_namespaces))
        return Watch(self.client.transport, path, resource_version=resource_version,
                     label_selector=label_selector_param(label_selector),
                     field_selector=field_selector_param(field_selector),
                     send_initial_events=send_initial_events, bookmarks=bookmarks,
                     timeout=timeout, read_timeout=read_timeout)

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
        path = self._collection_path(self._namespace(namespace, obj))
        return self._send("POST", path, self._write_options(
            dry_run, field_manager, field_validation), body=obj)

    def replace(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                dry_run: bool = False, field_manager: str | None = None,
                field_validation: str | None = None,
                validate: bool | None = None) -> dict[str, Any]:
        """PUT the whole object; a stale ``metadata.resourceVersion`` gets ConflictError."""
        self._verb("update")
        name = check_name(object_metadata(obj).get("name"), "metadata.name")
        self._check(obj, validate, field_validation)
        path = self._item_path(self._namespace(namespace, obj), name)
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
        # outside kube-apiserver's own groups is a CRD or an aggregated API: the server
        # would answer 415, so say why before sending
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
        path = self._item_path(self._namespace(namespace), name)
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
        name = check_name(object_metadata(obj).get("name"), "metadata.name")
        self._check(obj, validate, field_validation)
        body = dict(obj)
        meta = {k: v for k, v in object_metadata(obj).items()
                if k not in ("managedFields", "resourceVersion")}
        body["metadata"] = meta
        namespace = self._namespace(namespace, obj)  # the object's namespace is a default
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
        return self._send("DELETE", self._item_path(self._namespace(namespace), name),
                          body=body)

    def delete_collection(self, namespace: Any = None, *, label_selector: Selector = None,
                          field_selector: Selector = None,
                          propagation_policy: str | None = None,
                          grace_period_seconds: int | None = None,
                          dry_run: bool = False) -> dict[str, Any]:
        self._verb("deletecollection")
        body = self._delete_options(propagation_policy, grace_period_seconds, None, dry_run)
        query = self._list_query(label_selector, field_selector)
        path = self._collection_path(self._collection_namespace(namespace, False))
        return self._send("DELETE", path, query, body=body)
