"""Pod logs on the event loop: the text at once, or followed as an async iterator of lines.

The query (:func:`~dynakube.logs.log_query`), the Pod a workload's logs come from
(:func:`~dynakube.logs.selector_of`, :func:`~dynakube.logs.choose_pod`) and the line bound
(:data:`~dynakube.logs.MAX_LINE`) are the sync module's; only the reads are awaited.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BadRequestError, DynakubeError, InvalidArgumentError
from ..logs import MAX_LINE, PodChoice, container_note, log_pod_steps
from ..request import ApiRequest, resource_path
from ..transport.steps import run_async

if TYPE_CHECKING:
    from .handles import Handle as AsyncResource

__all__ = ["AsyncLogStream", "log_pod", "read_logs"]

_ACCEPT = (("Accept", "text/plain, */*"),)


class AsyncLogStream:
    """A followed log: ``async for line in stream`` (``str``, without its newline).

    As :class:`~dynakube.logs.LogStream`: one line at a time in memory (at most
    :data:`~dynakube.logs.MAX_LINE` bytes), the end of the log ends it, :meth:`aclose` (or
    leaving ``async with``, or cancelling the task) ends it early without error and closes
    its connection, and a connection that breaks raises ``TransportError``.
    """

    def __init__(self, response: Any, path: str):
        self._response = response
        self.path = path
        self._closed = False
        self._lines = self._read()

    def __aiter__(self) -> AsyncLogStream:
        return self

    async def __anext__(self) -> str:
        return await self._lines.__anext__()

    async def _read(self) -> AsyncIterator[str]:
        pending = b""
        try:
            async for chunk in self._response.iter_chunks():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if self._closed:
                        return
                    yield line.decode("utf-8", "replace")
                while len(pending) >= MAX_LINE:
                    piece, pending = pending[:MAX_LINE], pending[MAX_LINE:]
                    yield piece.decode("utf-8", "replace")
        except DynakubeError:
            if not self._closed:
                raise
            return
        finally:
            self._response.close()
        if pending and not self._closed:
            yield pending.decode("utf-8", "replace")

    async def aclose(self) -> None:
        """Stop following: the iteration ends without error."""
        self._closed = True
        self._response.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> AsyncLogStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncLogStream {self.path}{' closed' if self._closed else ''}>"


async def log_pod(handle: AsyncResource, name: str, namespace: str | None) -> PodChoice:
    """The Pod whose logs a handle reads: ``name`` on pods, else the workload's Pod that
    ``kubectl logs TYPE/NAME`` picks (the sync module's step machine, driven here)."""
    return await run_async(log_pod_steps(handle.info, name, handle.namespace_of(None, namespace)),
                           handle.client.transport)


async def read_logs(handle: AsyncResource, name: str, namespace: str | None,
                    query: tuple[tuple[str, str], ...], *, follow: bool,
                    container: str | None) -> str | AsyncLogStream:
    """The log text, or with ``follow`` an :class:`AsyncLogStream` (``query`` is
    :func:`~dynakube.logs.log_query`'s)."""
    if handle.subresource_name:
        raise InvalidArgumentError("logs() is called on the resource, not a subresource")
    pod = await log_pod(handle, name, namespace)
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name,
                         subresource="log")
    request = ApiRequest("GET", path, query, _ACCEPT)
    transport = handle.client.transport
    try:
        if not follow:
            return str((await transport.send(request)).content.decode("utf-8", "replace"))
        # a followed log may stay silent for hours: no read timeout; aclose() ends it
        response = await transport.send(request, stream=True, read_timeout=math.inf)
        return AsyncLogStream(response, path)
    except BadRequestError as e:
        if container and e.message.startswith(f"container {container} is not valid"):
            await _name_containers(transport, pod, e)
        raise


async def _name_containers(transport: Any, pod: PodChoice, error: BadRequestError) -> None:
    """The server says only that a container is wrong: add a note naming the right ones."""
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name)
    try:
        spec: Mapping[str, Any] = (await transport.send(ApiRequest("GET", path))).json() \
            .get("spec") or {}
    except DynakubeError:
        return
    error.add_note(container_note(pod, spec))
