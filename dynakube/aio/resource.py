"""The asyncio handle on one resource: every verb of :class:`~dynakube.resource.Resource` as
a coroutine, built by that very class.

A :class:`_Planned` resource is the sync handle with its one send (``_send``) returning an
awaitable instead of an answer, so names, namespaces, selectors, options and bodies are
checked and encoded by the same code for both clients; :class:`AsyncResource` awaits it.
Validation before a write fetches the schema on the loop first, then runs the pure check.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..discovery.registry import ResourceInfo
from ..errors import (
    InvalidArgumentError,
    Problem,
    UnsupportedMediaTypeError,
    ValidationError,
)
from ..logs import log_query
from ..request import JSON, ApiRequest, encode_body, query_pairs, resource_path
from ..resource import (
    ALL,
    DEFAULT_FIELD_MANAGER,
    Resource,
    Selector,
    field_selector_param,
    label_selector_param,
)

if TYPE_CHECKING:
    from ..errors import Problem
    from ..transport.steps import AsyncSender
    from .watch import AsyncWatch


class AsyncClient(Protocol):
    """What a resource handle needs of :class:`dynakube.aio.AsyncClient` (which imports this
    module: a Protocol here keeps the import graph acyclic)."""

    namespace: str
    transport: AsyncSender
    validate_objects: bool

    def validate_prepared(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                          raise_errors: bool = False, partial: bool = False
                          ) -> list[Problem]: ...

    def warn(self, text: str, *, stacklevel: int = 6) -> None: ...

    async def prepare_schema(self, obj: Any) -> tuple[str, str, str] | None: ...

    async def schema_changed(self, obj: Any) -> bool: ...

__all__ = ["AsyncResource", "ALL"]

_LOG_ACCEPT = (("Accept", "text/plain, */*"),)


class _SyncFace:
    """What the sync request-building code needs from its client, served by the async one
    (validation runs on schemas fetched beforehand; nothing here does I/O)."""

    def __init__(self, client: AsyncClient):
        self.aio = client

    @property
    def namespace(self) -> str:
        return self.aio.namespace

    @property
    def transport(self) -> Any:
        return self.aio.transport

    @property
    def validate_objects(self) -> bool:
        return self.aio.validate_objects

    def validate(self, obj: Mapping[str, Any], *, field_validation: str = "Strict",
                 raise_errors: bool = False, partial: bool = False) -> list[Problem]:
        return self.aio.validate_prepared(obj, field_validation=field_validation,
                                          raise_errors=raise_errors, partial=partial)

    def warn(self, text: str, *, stacklevel: int = 6) -> None:
        self.aio.warn(text, stacklevel=stacklevel)


class _Planned(Resource):
    """The sync handle whose send is deferred: each verb returns an awaitable answer."""

    client: _SyncFace

    def _send(self, method: str, path: str, query: Mapping[str, Any] | None = None, *,
              body: Any = None, content_type: str = JSON, accept: str = JSON) -> Any:
        headers: tuple[tuple[str, str], ...] = (("Accept", accept),)
        data = None
        if body is not None:
            data = encode_body(body)
            headers += (("Content-Type", content_type),)
        request = ApiRequest(method, path, query_pairs(query or {}), headers, data)
        self._deprecation_warning()
        return _answer(self.client.aio, request)


async def _answer(client: AsyncClient, request: ApiRequest) -> Any:
    response = await client.transport.send(request)
    if str(response.headers.get("Content-Type", "")).startswith("text/"):
        return response.content.decode("utf-8", "replace")
    return response.json()


class AsyncResource:
    """A handle on one resource (or one subresource of it): ``await pods.get("web")``."""

    def __init__(self, client: AsyncClient, info: ResourceInfo,
                 subresource: str | None = None):
        self.client = client
        self.info = info
        self.subresource_name = subresource
        self._plan = _Planned(_SyncFace(client), info, subresource)

    def __repr__(self) -> str:
        return repr(self._plan).replace("<Resource", "<AsyncResource", 1)

    def subresource(self, name: str) -> AsyncResource:
        """``deploy.subresource("status")``; ``status`` and ``scale`` are properties too."""
        self._plan.subresource(name)  # the same refusals as the sync handle
        return AsyncResource(self.client, self.info, name)

    @property
    def status(self) -> AsyncResource:
        return self.subresource("status")

    @property
    def scale(self) -> AsyncResource:
        return self.subresource("scale")

    def namespace_of(self, obj: Mapping[str, Any] | None = None,
                     namespace: Any = None) -> str | None:
        """The namespace a call about ``obj`` goes to (see :meth:`Resource.namespace_of`)."""
        return self._plan.namespace_of(obj, namespace)

    # -- reads -------------------------------------------------------------------------------
    async def get(self, name: str, namespace: str | None = None, *,
                  resource_version: str | None = None) -> dict[str, Any]:
        return await _wait(self._plan.get(name, namespace, resource_version=resource_version))

    async def table(self, namespace: Any = None, *, name: str | None = None,
                    label_selector: Selector = None, field_selector: Selector = None,
                    all_namespaces: bool = False,
                    include_object: str = "Metadata") -> dict[str, Any]:
        """The server-side Table (see :meth:`Resource.table`)."""
        return await _wait(self._plan.table(
            namespace, name=name, label_selector=label_selector, field_selector=field_selector,
            all_namespaces=all_namespaces, include_object=include_object))

    async def list(self, namespace: Any = None, *, label_selector: Selector = None,
                   field_selector: Selector = None, limit: int | None = None,
                   continue_token: str | None = None, resource_version: str | None = None,
                   resource_version_match: str | None = None,
                   timeout_seconds: int | None = None, metadata_only: bool = False,
                   all_namespaces: bool = False) -> dict[str, Any]:
        """The List dict; one request (pass ``limit`` for a page, or use :meth:`iterate`)."""
        return await _wait(self._plan.list(
            namespace, label_selector=label_selector, field_selector=field_selector,
            limit=limit, continue_token=continue_token, resource_version=resource_version,
            resource_version_match=resource_version_match, timeout_seconds=timeout_seconds,
            metadata_only=metadata_only, all_namespaces=all_namespaces))

    async def iterate(self, namespace: Any = None, *, chunk_size: int = 500,
                      label_selector: Selector = None, field_selector: Selector = None,
                      metadata_only: bool = False,
                      all_namespaces: bool = False) -> AsyncIterator[dict[str, Any]]:
        """Every item, fetched ``chunk_size`` at a time by following ``continue`` tokens."""
        if chunk_size < 1:
            raise InvalidArgumentError("chunk_size must be at least 1")
        token: str | None = None
        while True:
            page = await self.list(namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=chunk_size,
                                   continue_token=token, metadata_only=metadata_only,
                                   all_namespaces=all_namespaces)
            items = page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            del page
            for item in items:
                yield item
            if not token:
                return

    def watch(self, namespace: Any = None, *, resource_version: str | None = None,
              label_selector: Selector = None, field_selector: Selector = None,
              send_initial_events: bool | None = None, bookmarks: bool = False,
              timeout: float | None = None, all_namespaces: bool = False,
              read_timeout: float = 75.0) -> AsyncWatch:
        """An :class:`~dynakube.aio.watch.AsyncWatch` that resumes by itself: ``async for``
        it (as :meth:`Resource.watch`)."""
        from .watch import AsyncWatch

        self._plan._verb("watch")
        path = self._plan._collection_path(
            self._plan._collection_namespace(namespace, all_namespaces))
        return AsyncWatch(self.client.transport, path, resource_version=resource_version,
                          label_selector=label_selector_param(label_selector),
                          field_selector=field_selector_param(field_selector),
                          send_initial_events=send_initial_events, bookmarks=bookmarks,
                          timeout=timeout, read_timeout=read_timeout)

    async def logs(self, name: str, namespace: str | None = None, *,
                   container: str | None = None, tail_lines: int | None = None,
                   since_seconds: float | None = None, timestamps: bool = False,
                   previous: bool = False, limit_bytes: int | None = None) -> str:
        """A Pod's log as text (the query as :meth:`Resource.logs` builds it)."""
        request = self._log_request(name, namespace, log_query(
            container=container, tail_lines=tail_lines, since_seconds=since_seconds,
            timestamps=timestamps, previous=previous, limit_bytes=limit_bytes))
        response = await self.client.transport.send(request)
        return str(response.content.decode("utf-8", "replace"))

    async def follow_logs(self, name: str, namespace: str | None = None, *,
                          container: str | None = None, tail_lines: int | None = None,
                          since_seconds: float | None = None,
                          timestamps: bool = False) -> AsyncIterator[str]:
        """A Pod's log line by line as it grows (``follow``); cancel or leave the loop to
        stop, which closes its connection."""
        request = self._log_request(name, namespace, log_query(
            container=container, follow=True, tail_lines=tail_lines,
            since_seconds=since_seconds, timestamps=timestamps))
        # a followed log may stay silent for hours: no read timeout
        response = await self.client.transport.send(request, stream=True,
                                                    read_timeout=math.inf)
        try:
            async for line in response.iter_lines():
                yield line.decode("utf-8", "replace")
        finally:
            await response.aclose()

    def _log_request(self, name: str, namespace: str | None,
                     query: tuple[tuple[str, str], ...]) -> ApiRequest:
        if self.info.group or self.info.plural != "pods" or self.subresource_name:
            raise InvalidArgumentError(
                f"logs are read from pods; {self.info.qualified} is not one (pick a pod of "
                "it, e.g. by its selector)")
        path = resource_path("", "v1", "pods", namespace=self._plan.namespace_of(
            None, namespace), name=name, subresource="log")
        return ApiRequest("GET", path, query, _LOG_ACCEPT)

    # -- writes ------------------------------------------------------------------------------
    async def check(self, obj: Mapping[str, Any], *, validate: bool | None = None,
                    field_validation: str | None = None, partial: bool = False) -> None:
        """Validate ``obj`` as a write does before sending it (see :meth:`Resource.check`)."""
        await self._checked(obj, validate, lambda: self._plan.check(
            obj, validate=validate, field_validation=field_validation, partial=partial))

    async def create(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                     dry_run: bool = False, field_manager: str | None = None,
                     field_validation: str | None = None,
                     validate: bool | None = None) -> dict[str, Any]:
        return await self._checked(obj, validate, lambda: self._plan.create(
            obj, namespace, dry_run=dry_run, field_manager=field_manager,
            field_validation=field_validation, validate=validate))

    async def replace(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                      dry_run: bool = False, field_manager: str | None = None,
                      field_validation: str | None = None,
                      validate: bool | None = None) -> dict[str, Any]:
        """PUT the whole object; a stale ``metadata.resourceVersion`` gets ConflictError."""
        return await self._checked(obj, validate, lambda: self._plan.replace(
            obj, namespace, dry_run=dry_run, field_manager=field_manager,
            field_validation=field_validation, validate=validate))

    async def patch(self, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", dry_run: bool = False,
                    field_manager: str | None = None, field_validation: str | None = None,
                    force: bool | None = None, validate: bool | None = None) -> dict[str, Any]:
        """Patch by ``patch_type``: ``merge`` (default), ``json``, ``strategic`` or ``apply``."""
        target = self._patch_target(patch) if patch_type != "json" else None
        try:
            return await self._checked(target, validate, lambda: self._plan.patch(
                name, patch, namespace, patch_type=patch_type, dry_run=dry_run,
                field_manager=field_manager, field_validation=field_validation, force=force,
                validate=validate))
        except UnsupportedMediaTypeError as e:
            if patch_type != "apply":
                raise
            status = dict(e.status, message=(
                "this server does not support server-side apply (it needs Kubernetes 1.22 "
                f"or newer): {e.message}; use create/replace or a merge patch instead"))
            raise UnsupportedMediaTypeError(e.code, status, text=e.text) from e

    async def apply(self, obj: Mapping[str, Any], namespace: str | None = None, *,
                    field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False,
                    dry_run: bool = False, field_validation: str | None = None,
                    validate: bool | None = None) -> dict[str, Any]:
        """Server-side apply ``obj`` (see :meth:`Resource.apply`)."""
        try:
            return await self._checked(obj, validate, lambda: self._plan.apply(
                obj, namespace, field_manager=field_manager, force=force, dry_run=dry_run,
                field_validation=field_validation, validate=validate))
        except UnsupportedMediaTypeError as e:
            status = dict(e.status, message=(
                "this server does not support server-side apply (it needs Kubernetes 1.22 "
                f"or newer): {e.message}; use create/replace or a merge patch instead"))
            raise UnsupportedMediaTypeError(e.code, status, text=e.text) from e

    async def delete(self, name: str, namespace: str | None = None, *,
                     propagation_policy: str | None = None,
                     grace_period_seconds: int | None = None,
                     preconditions: Mapping[str, str] | None = None,
                     dry_run: bool = False) -> dict[str, Any]:
        """Delete one object; returns the object (still finalizing) or the server's Status."""
        return await _wait(self._plan.delete(
            name, namespace, propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds, preconditions=preconditions,
            dry_run=dry_run))

    async def delete_collection(self, namespace: Any = None, *,
                                label_selector: Selector = None,
                                field_selector: Selector = None,
                                propagation_policy: str | None = None,
                                grace_period_seconds: int | None = None,
                                dry_run: bool = False) -> dict[str, Any]:
        return await _wait(self._plan.delete_collection(
            namespace, label_selector=label_selector, field_selector=field_selector,
            propagation_policy=propagation_policy, grace_period_seconds=grace_period_seconds,
            dry_run=dry_run))

    # -- validation around writes -------------------------------------------------------------
    def _patch_target(self, patch: Any) -> Any:
        """What a patch is checked as: itself, as this resource's kind unless it names one."""
        if not isinstance(patch, Mapping):
            return None
        return {**patch, "apiVersion": patch.get("apiVersion") or self.info.api_version,
                "kind": patch.get("kind") or self.info.kind}

    async def _checked(self, obj: Any, validate: bool | None, call: Callable[[], Any]) -> Any:
        """Fetch ``obj``'s schema when it will be checked, run the sync ``call`` (which
        checks, then builds the request), and await its answer. A check that fails is run
        again once when the server's schema changed meanwhile (as the sync client does)."""
        checks = not self.subresource_name and (
            self.client.validate_objects if validate is None else validate)
        target = self._patch_target(obj) if checks else None
        if target is not None:
            await self.client.prepare_schema(target)
        try:
            pending = call()
        except ValidationError:
            if target is None or not await self.client.schema_changed(target):
                raise
            pending = call()
        return await _wait(pending)


async def _wait(pending: Any) -> Any:
    """The answer of a planned request (``None`` for a call that sends nothing)."""
    if isinstance(pending, Awaitable):
        return await pending
    return pending
