"""The asyncio handle on one resource: every verb of :class:`~dynakube.resource.Resource` as
a coroutine, built by that very class.

A :class:`_Planned` resource is the sync handle with its one send (``_send``) returning an
awaitable instead of an answer, so names, namespaces, selectors, options and bodies are
checked and encoded by the same code for both clients; :class:`AsyncResource` awaits it.
Validation before a write fetches the schema on the loop first, then runs the pure check.
The verbs that wait or stream live beside it, each over the sync side's pure pieces:
:mod:`~dynakube.aio.wait` (``wait``, ``delete(wait=True)``), :mod:`~dynakube.aio.logs`,
:mod:`~dynakube.aio.exec` (``exec``, ``attach``, ``stream``),
:mod:`~dynakube.aio.portforward` and :mod:`~dynakube.aio.cp`.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, overload

from ..discovery.registry import ResourceInfo
from ..errors import (
    InvalidArgumentError,
    Problem,
    UnsupportedMediaTypeError,
    ValidationError,
)
from ..exec import ExecResult
from ..logs import PodChoice, log_query
from ..meta import object_metadata
from ..request import JSON, ApiRequest, encode_body, query_pairs
from ..resource import (
    ALL,
    DEFAULT_FIELD_MANAGER,
    Resource,
    Selector,
    apply_unsupported,
    field_selector_param,
    label_selector_param,
)
from .exec import AsyncExecStream, command_of, run_command, start_stream, target_pod
from .logs import AsyncLogStream, log_pod, read_logs

if TYPE_CHECKING:
    from ..errors import Problem
    from ..transport.forwarding import ForwardError
    from ..transport.steps import AsyncSender
    from .portforward import AsyncPortForward
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
              read_timeout: float = 75.0, include_existing: bool = False) -> AsyncWatch:
        """An :class:`~dynakube.aio.watch.AsyncWatch` that resumes by itself: ``async for``
        it (as :meth:`Resource.watch`; ``include_existing`` yields the current objects
        first, on every server)."""
        from .watch import AsyncWatch

        self._plan._verb("watch")
        path = self._plan._collection_path(
            self._plan._collection_namespace(namespace, all_namespaces))
        return AsyncWatch(self.client.transport, path, resource_version=resource_version,
                          label_selector=label_selector_param(label_selector),
                          field_selector=field_selector_param(field_selector),
                          send_initial_events=send_initial_events, bookmarks=bookmarks,
                          timeout=timeout, read_timeout=read_timeout,
                          include_existing=include_existing)

    # -- logs and streams --------------------------------------------------------------------
    async def log_pod(self, name: str, namespace: str | None = None) -> PodChoice:
        """The Pod whose logs :meth:`logs` reads (see :meth:`Resource.log_pod`)."""
        return await log_pod(self, name, namespace)

    @overload
    async def logs(self, name: str, namespace: str | None = None, *,
                   container: str | None = None, follow: Literal[False] = False,
                   tail_lines: int | None = None,
                   since_seconds: float | timedelta | None = None,
                   since_time: datetime | str | None = None, timestamps: bool = False,
                   previous: bool = False, limit_bytes: int | None = None) -> str: ...

    @overload
    async def logs(self, name: str, namespace: str | None = None, *,
                   container: str | None = None, follow: Literal[True],
                   tail_lines: int | None = None,
                   since_seconds: float | timedelta | None = None,
                   since_time: datetime | str | None = None, timestamps: bool = False,
                   previous: bool = False, limit_bytes: int | None = None
                   ) -> AsyncLogStream: ...

    async def logs(self, name: str, namespace: str | None = None, *,
                   container: str | None = None, follow: bool = False,
                   tail_lines: int | None = None,
                   since_seconds: float | timedelta | None = None,
                   since_time: datetime | str | None = None, timestamps: bool = False,
                   previous: bool = False,
                   limit_bytes: int | None = None) -> str | AsyncLogStream:
        """A Pod's (or a workload's Pod's) log: the text, or with ``follow`` an
        :class:`~dynakube.aio.logs.AsyncLogStream` of lines (``async for``; leave it, cancel
        its task or ``aclose()`` it to stop). Options as :meth:`Resource.logs`."""
        query = log_query(container=container, follow=follow, tail_lines=tail_lines,
                          since_seconds=since_seconds, since_time=since_time,
                          timestamps=timestamps, previous=previous, limit_bytes=limit_bytes)
        return await read_logs(self, name, namespace, query, follow=follow,
                               container=container)

    async def exec(self, name: str, command: Sequence[str], container: str | None = None,
                   stdin: bytes | str | IO[bytes] | None = None, tty: bool = False,
                   timeout: float | None = None, namespace: str | None = None) -> ExecResult:
        """Run ``command`` in a container to its end: exit code, stdout and stderr (as
        :meth:`Resource.exec`)."""
        check = command_of(command)
        pod = await target_pod(self, name, namespace, "exec")
        return await run_command(self, pod, check, container, stdin, tty, timeout)

    async def attach(self, name: str, container: str | None = None,
                     stdin: bytes | str | IO[bytes] | None = None, tty: bool = False,
                     timeout: float | None = None,
                     namespace: str | None = None) -> ExecResult:
        """Attach to a container's main process until it ends (``exec`` without command)."""
        pod = await target_pod(self, name, namespace, "attach")
        return await run_command(self, pod, None, container, stdin, tty, timeout)

    async def stream(self, name: str, command: Sequence[str] | None = None,
                     container: str | None = None, *, stdin: bool = False,
                     stderr: bool = True, tty: bool = False,
                     namespace: str | None = None) -> AsyncExecStream:
        """Start ``command`` (attach when None) and stream it: an
        :class:`~dynakube.aio.exec.AsyncExecStream` (``async with`` it)."""
        check = command_of(command)
        pod = await target_pod(self, name, namespace,
                               "exec" if check is not None else "attach")
        return await start_stream(self, pod, check, container, stdin=stdin, stderr=stderr,
                                  tty=tty)

    async def port_forward(self, name: str, ports: Mapping[int, int] | Iterable[int | str],
                           namespace: str | None = None, *, address: str = "127.0.0.1",
                           on_error: Callable[[ForwardError], None] | None = None
                           ) -> AsyncPortForward:
        """Listen on local ports and forward them to a Pod's (as
        :meth:`Resource.port_forward`): ``async with await pods.port_forward("web",
        {0: 80}) as fwd:``; ``fwd.ports`` maps remote to local, ``await fwd.connect(80)``
        is one connection without a listener."""
        from ..portforward import parse_port_pairs
        from .portforward import port_forward

        pairs = parse_port_pairs(ports)
        pod = await target_pod(self, name, namespace, "port-forward")
        return await port_forward(self, pod, pairs, address=address, on_error=on_error)

    async def copy_from(self, name: str, src: str, dest: str | os.PathLike[str], *,
                        container: str | None = None, namespace: str | None = None) -> Path:
        """``kubectl cp POD:SRC DEST`` (as :meth:`Resource.copy_from`): the local path."""
        from .cp import copy_from

        return await copy_from(self, name, src, dest, container=container,
                               namespace=namespace)

    async def copy_to(self, name: str, src: str | os.PathLike[str], dest: str, *,
                      container: str | None = None, namespace: str | None = None) -> str:
        """``kubectl cp SRC POD:DEST`` (as :meth:`Resource.copy_to`): the path written."""
        from .cp import copy_to

        return await copy_to(self, name, src, dest, container=container,
                             namespace=namespace)

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
            raise apply_unsupported(e) from e

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
            raise apply_unsupported(e) from e

    async def delete(self, name: str, namespace: str | None = None, *,
                     propagation_policy: str | None = None,
                     grace_period_seconds: int | None = None,
                     preconditions: Mapping[str, str] | None = None,
                     dry_run: bool = False, wait: bool = False,
                     timeout: float = 60.0) -> dict[str, Any]:
        """Delete one object; returns the object (still finalizing) or the server's Status.

        ``wait``: return only once it is gone, finalizers included (as
        :meth:`Resource.delete`; a ``WaitTimeoutError`` after ``timeout``).
        """
        result: dict[str, Any] = await _wait(self._plan.delete(
            name, namespace, propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds, preconditions=preconditions,
            dry_run=dry_run))
        if wait and not dry_run and result.get("kind") != "Status":
            from .wait import wait_deleted

            await wait_deleted(self, name, self._plan.namespace_of(None, namespace),
                               object_metadata(result).get("uid"), timeout=timeout)
        return result

    async def wait(self, name: str | None = None, namespace: Any = None, *, for_: str,
                   timeout: float = 30.0, label_selector: Selector = None,
                   all: bool = False) -> builtins.list[dict[str, Any]]:
        """``kubectl wait`` (as :meth:`Resource.wait`): until ``for_`` holds, on a watch."""
        from .wait import wait

        return await wait(self, name, namespace, for_=for_, timeout=timeout,
                          label_selector=label_selector, all_=all)

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
