"""The handle on one resource: every verb, built as a pure request and sent by the transport.

What client-go's ``dynamic.NamespaceableResourceInterface`` is. Objects go in and come out as
plain dicts; names and namespaces that would change a URL's meaning never reach the wire.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .discovery.registry import BUILTIN_GROUPS, ResourceInfo
from .errors import (
    InvalidArgumentError,
    Problem,
    UnsupportedMediaTypeError,
    ValidationError,
    ValidationWarning,
)
from .meta import object_metadata
from .podverbs import PodVerbs
from .request import (
    JSON,
    PATCH_CONTENT_TYPES,
    ApiRequest,
    Sender,
    check_name,
    encode_body,
    query_pairs,
    resource_path,
)

if TYPE_CHECKING:
    from .watch import Watch

__all__ = ["ALL", "Resource", "ResourceClient", "DEFAULT_FIELD_MANAGER", "TABLE_ACCEPT",
           "INCLUDE_OBJECT", "METADATA_ACCEPT", "Selector", "label_selector_param",
           "field_selector_param", "object_metadata"]

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
# What a Table's rows may carry as ``object``: the values kube-apiserver accepts.
INCLUDE_OBJECT = ("Metadata", "Object", "None")


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


class ResourceClient(Protocol):
    """What a :class:`Resource` needs from its client (``dynakube.Client`` is one).

    A handle sends through the client's transport, falls back to its default namespace,
    validates with its schemas and surfaces warnings through it, and needs nothing else:
    so the client module can depend on this one and never the other way round.
    """

    @property
    def namespace(self) -> str: ...

    @property
    def transport(self) -> Sender: ...

    @property
    def validate_objects(self) -> bool: ...

    def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                 raise_errors: bool = False, partial: bool = False) -> list[Problem]: ...

    def warn(self, text: str, *, stacklevel: int = 6) -> None: ...


class Resource(PodVerbs):
    """A handle on one resource (or one subresource of it) of one server (``logs()``,
    ``exec()``, ``port_forward()``, ``copy_from()`` and the other Pod verbs from
    :class:`~dynakube.podverbs.PodVerbs`)."""

    def __init__(self, client: ResourceClient, info: ResourceInfo,
                 subresource: str | None = None):
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
    def namespace_of(self, obj: Mapping[str, Any] | None = None,
                     namespace: Any = None) -> str | None:
        """The namespace a call about ``obj`` goes to: the call's ``namespace``, else the
        object's ``metadata.namespace``, else the client's default; ``None`` when the
        resource is cluster-scoped. A call and an object that disagree are refused.
        """
        return self._namespace(namespace, obj)

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
        self._deprecation_warning()
        response = self.client.transport.send(request)
        if str(response.headers.get("Content-Type", "")).startswith("text/"):
            return response.content.decode("utf-8", "replace")  # pods/log is text
        return response.json()

    def _deprecation_warning(self) -> None:
        """Say once that a deprecated version is used, in the words the server uses."""
        if self.info.deprecated:
            self.client.warn(self.info.deprecation_warning
                             or f"{self.info.api_version} {self.info.kind} is deprecated",
                             stacklevel=4)

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

    def table(self, namespace: Any = None, *, name: str | None = None,
              label_selector: Selector = None, field_selector: Selector = None,
              all_namespaces: bool = False,
              include_object: str = "Metadata") -> dict[str, Any]:
        """The server-side Table (``kubectl get``'s columns, custom kinds' included).

        One object's row with ``name``, else the collection's (filtered like :meth:`list`).
        ``include_object`` is what each row carries as ``object``: ``Metadata`` (its
        ``PartialObjectMetadata``), the whole ``Object``, or ``None``.
        """
        if include_object not in INCLUDE_OBJECT:
            raise InvalidArgumentError(
                "include_object must be 'Metadata', 'Object' or 'None', not "
                f"{include_object!r}")
        if name is not None:
            self._verb("get")
            path = self._item_path(self._namespace(namespace), name)
            query: dict[str, Any] = {}
        else:
            self._verb("list")
            path = self._collection_path(self._collection_namespace(namespace, all_namespaces))
            query = self._list_query(label_selector, field_selector)
        query["includeObject"] = include_object
        return self._send("GET", path, query, accept=TABLE_ACCEPT)

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
              read_timeout: float = 75.0, include_existing: bool = False) -> Watch:
        """A :class:`~dynakube.watch.Watch` that resumes by itself; iterate it for events.

        By default it starts *now*: objects that exist already are not yielded, only the
        changes from then on (or from ``resource_version``). ``send_initial_events=True``
        asks for the current objects first by streaming watch-list (a server without it
        refuses: an ``InvalidError``). ``include_existing=True`` yields the current objects
        first as ADDED events on every server, as ``kubectl get -w`` shows them: by
        watch-list where served, else by a list and a watch from its resourceVersion, with
        no gap. ``read_timeout`` is how long a silent connection is trusted (servers send a
        bookmark about once a minute) before it is dropped and the watch resumes.
        """
        from .watch import Watch

        self._verb("watch")
        path = self._collection_path(self._collection_namespace(namespace, all_namespaces))
        return Watch(self.client.transport, path, resource_version=resource_version,
                     label_selector=label_selector_param(label_selector),
                     field_selector=field_selector_param(field_selector),
                     send_initial_events=send_initial_events, bookmarks=bookmarks,
                     timeout=timeout, read_timeout=read_timeout,
                     include_existing=include_existing)

    # -- writes ------------------------------------------------------------------------------
    def check(self, obj: Mapping[str, Any], *, validate: bool | None = None,
              field_validation: str | None = None, partial: bool = False) -> None:
        """Validate ``obj`` as a write does before sending it (what ``kube.apply`` calls
        for every document before applying any).

        ``validate=None`` follows the client's ``validate`` setting. Errors raise
        :class:`~dynakube.errors.ValidationError`; warnings are emitted as
        :class:`~dynakube.errors.ValidationWarning`. The server's default ``fieldValidation``
        is ``Warn``, so unknown fields warn unless ``field_validation="Strict"``.
        ``partial``: ``obj`` is an apply configuration or a patch, which the server merges
        with the stored object before it validates, so nothing is required of it.
        An ``obj`` without apiVersion or kind is checked as this resource's kind.
        Subresources (``status``, ``scale``) are not checked: their bodies are partial.
        """
        if self.subresource_name:
            return
        if not (self.client.validate_objects if validate is None else validate):
            return
        if not isinstance(obj, Mapping):
            raise InvalidArgumentError(f"an object must be a dict, got {type(obj).__name__}")
        if not (obj.get("apiVersion") and obj.get("kind")):
            obj = {**obj, "apiVersion": obj.get("apiVersion") or self.info.api_version,
                   "kind": obj.get("kind") or self.info.kind}
        problems = self.client.validate(obj, field_validation=field_validation or "Warn",
                                        partial=partial)
        if any(p.severity == "error" for p in problems):
            meta = obj.get("metadata")
            name = meta.get("name") if isinstance(meta, Mapping) else None
            raise ValidationError(problems, kind=str(obj["kind"]),
                                  name=str(name) if name else None)
        for problem in problems:
            warnings.warn(str(problem), ValidationWarning, stacklevel=3)

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *,
               dry_run: bool = False, field_manager: str | None = None,
               field_validation: str | None = None,
               validate: bool | None = None) -> dict[str, Any]:
        self._verb("create")
        self.check(obj, validate=validate, field_validation=field_validation)
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
        self.check(obj, validate=validate, field_validation=field_validation)
        path = self._item_path(self._namespace(namespace, obj), name)
        return self._send("PUT", path, self._write_options(
            dry_run, field_manager, field_validation), body=obj)

    def patch(self, name: str, patch: Any, namespace: str | None = None, *,
              patch_type: str = "merge", dry_run: bool = False,
              field_manager: str | None = None, field_validation: str | None = None,
              force: bool | None = None, validate: bool | None = None) -> dict[str, Any]:
        """Patch by ``patch_type``: ``merge`` (default), ``json``, ``strategic`` or ``apply``.

        A merge, strategic or apply patch given as a dict is checked as a partial object
        (see :meth:`check`; a strategic patch's ``$patch``-style directives aside); a JSON
        patch, or a body already encoded, is left to the server.
        """
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
        data = encode_body(patch)  # what JSON cannot carry is refused before it is judged
        if patch_type != "json" and isinstance(patch, Mapping):
            self.check(_without_directives(patch) if patch_type == "strategic" else patch,
                       validate=validate, field_validation=field_validation, partial=True)
        try:
            return self._send("PATCH", path, query, body=data,
                              content_type=PATCH_CONTENT_TYPES[patch_type])
        except UnsupportedMediaTypeError as e:
            if patch_type != "apply":
                raise
            raise apply_unsupported(e) from e

    def apply(self, obj: Mapping[str, Any], namespace: str | None = None, *,
              field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False,
              dry_run: bool = False, field_validation: str | None = None,
              validate: bool | None = None) -> dict[str, Any]:
        """Server-side apply ``obj`` (``managedFields``/``resourceVersion`` are not sent).

        ``obj`` is an apply configuration: only the fields this manager owns, checked as a
        partial object (see :meth:`check`).
        """
        name = check_name(object_metadata(obj).get("name"), "metadata.name")
        self.check(obj, validate=validate, field_validation=field_validation, partial=True)
        body = dict(obj)
        meta = {k: v for k, v in object_metadata(obj).items()
                if k not in ("managedFields", "resourceVersion")}
        body["metadata"] = meta
        namespace = self._namespace(namespace, obj)  # the object's namespace is a default
        return self.patch(name, body, namespace, patch_type="apply", dry_run=dry_run,
                          field_manager=field_manager, field_validation=field_validation,
                          force=force or None, validate=False)

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
               dry_run: bool = False, wait: bool = False,
               timeout: float = 60.0) -> dict[str, Any]:
        """Delete one object; returns the object (still finalizing) or the server's Status.

        ``wait``: return only once the object is gone, finalizers and graceful termination
        included, as ``kubectl delete`` waits (a ``WaitTimeoutError`` after ``timeout``).
        """
        self._verb("delete")
        body = self._delete_options(propagation_policy, grace_period_seconds, preconditions,
                                    dry_run)
        ns = self._namespace(namespace)
        result = self._send("DELETE", self._item_path(ns, name), body=body)
        if wait and not dry_run and result.get("kind") != "Status":
            from .wait import wait_deleted

            wait_deleted(self, name, ns, object_metadata(result).get("uid"), timeout=timeout)
        return result

    def wait(self, name: str | None = None, namespace: Any = None, *, for_: str,
             timeout: float = 30.0, label_selector: Selector = None,
             all: bool = False) -> builtins.list[dict[str, Any]]:
        """``kubectl wait``: until ``for_`` holds (``condition=Available``, ``delete``,
        ``create``, ``jsonpath={.status.phase}=Running``); see :func:`dynakube.wait.wait`.

        Built on a watch that resumes across dropped connections, never on polling; returns
        the objects as they are then (none for ``delete``).
        """
        from .wait import wait

        return wait(self, name, namespace, for_=for_, timeout=timeout,
                    label_selector=label_selector, all_=all)

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


def apply_unsupported(error: UnsupportedMediaTypeError) -> UnsupportedMediaTypeError:
    """The server's 415 to an apply patch, saying what it means: no server-side apply."""
    status = dict(error.status, message=(
        "this server does not support server-side apply (it needs Kubernetes 1.22 "
        f"or newer): {error.message}; use create/replace or a merge patch instead"))
    return UnsupportedMediaTypeError(error.code, status, text=error.text)


def check_text(value: Any, what: str, example: str, *, optional: bool = False) -> None:
    """Refuse a non-string where a name goes: it would fail deep inside a lookup."""
    if optional and value is None:
        return
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(
            f"{what} must be a non-empty string such as {example!r}, got {value!r}")


def _without_directives(value: Any) -> Any:
    """A strategic merge patch without its directives (``$patch``, ``$retainKeys``,
    ``$setElementOrder/...``, ``$deleteFromPrimitiveList/...``): the part a schema judges.

    No built-in field, label, annotation or data key may start with ``$``, and custom
    resources take no strategic patches, so nothing else is dropped.
    """
    if isinstance(value, Mapping):
        return {k: _without_directives(v) for k, v in value.items()
                if not (isinstance(k, str) and k.startswith("$"))}
    if isinstance(value, list):
        return [_without_directives(v) for v in value]
    return value
