"""Port-forward on the event loop: local listeners (``asyncio.start_server``) forwarding to a
Pod's ports, one WebSocket per connection, and no thread anywhere.

The ports' parsing (:func:`~dynakube.portforward.parse_port_pairs`), the query and the
channel framing (:mod:`dynakube.channels`) and :class:`~dynakube.transport.forwarding.
ForwardError` are the sync side's; the copying of bytes is awaited here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..channels import PORT_FORWARD_PROTOCOLS, parse_port_prefix, port_forward_query
from ..errors import DynakubeError, InvalidArgumentError, TransportError
from ..logs import PodChoice
from ..request import ApiRequest, resource_path
from ..transport.forwarding import KEPT_ERRORS, READ_SIZE, ForwardError

if TYPE_CHECKING:
    from ..transport.asyncconn import AsyncWebSocket
    from .handles import Handle

__all__ = ["AsyncPortForward", "AsyncPortStream", "connect_port", "port_forward"]

log = logging.getLogger("dynakube.portforward")


class AsyncPortStream:
    """One TCP connection to a Pod port over its own WebSocket: ``await recv()`` (``b""``
    when the Pod side closed; :class:`ForwardError` with the kubelet's message when the
    connection failed there), ``await sendall(data)``, ``await aclose()``."""

    def __init__(self, socket: AsyncWebSocket, port: int):
        self._socket = socket
        self.port = port
        self._buffer = b""
        self._opened: set[int] = set()
        self._ended = False

    async def _next(self) -> bytes:
        while not self._ended:
            message = await self._socket.recv()
            if message is None:
                self._ended = True
                break
            if not message:
                continue
            channel, payload = message[0], message[1:]
            if channel not in (0, 1):
                continue
            if channel not in self._opened:  # each channel opens with its port number
                self._opened.add(channel)
                _, payload = parse_port_prefix(payload)
            if channel == 1:
                if payload:
                    self._ended = True
                    await self._socket.close()
                    raise ForwardError(self.port, payload.decode("utf-8", "replace").strip())
                continue
            if payload:
                return payload
        return b""

    async def recv(self, size: int = READ_SIZE) -> bytes:
        if not self._buffer:
            self._buffer = await self._next()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    async def sendall(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), READ_SIZE):
            await self._socket.send(b"\x00" + bytes(view[start:start + READ_SIZE]))

    async def aclose(self) -> None:
        self._ended = True
        await self._socket.close()

    def abort(self) -> None:
        self._ended = True
        self._socket.abort()

    async def __aenter__(self) -> AsyncPortStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncPortStream port {self.port}>"


async def connect_port(handle: Handle, pod: PodChoice, port: int) -> AsyncPortStream:
    """A WebSocket to one port of ``pod``, as an :class:`AsyncPortStream`."""
    path = resource_path("", "v1", "pods", namespace=pod.namespace, name=pod.name,
                         subresource="portforward")
    transport = handle.client.transport
    opener = getattr(transport, "open_websocket", None)
    if opener is None:
        from ..errors import UnsupportedError

        raise UnsupportedError(f"the client's transport ({type(transport).__name__}) cannot "
                               "open WebSockets; port-forward needs "
                               "dynakube.transport.asynchttp.AsyncTransport")
    socket = await opener(ApiRequest("GET", path, port_forward_query([port])),
                          PORT_FORWARD_PROTOCOLS)
    return AsyncPortStream(socket, port)


class AsyncPortForward:
    """Local ports forwarding to one Pod (``async with`` it; :meth:`aclose` stops it), as
    :class:`~dynakube.portforward.PortForward`: ``ports`` maps remote to local port,
    ``errors`` keeps the last remote errors (each closed its own connection only)."""

    def __init__(self, handle: Handle, pod: PodChoice, pairs: list[tuple[int, int]], *,
                 address: str, on_error: Callable[[ForwardError], None] | None):
        self._handle = handle
        self.pod = pod
        self.address = address
        self._pairs = pairs
        self._on_error = on_error
        self._errors: deque[ForwardError] = deque(maxlen=KEPT_ERRORS)
        self._servers: list[asyncio.Server] = []
        self._live: set[asyncio.Task[None]] = set()
        self.ports: dict[int, int] = {}

    async def _listen(self) -> AsyncPortForward:
        for local, remote in self._pairs:
            try:
                server = await asyncio.start_server(
                    functools.partial(self._accepted, remote=remote), self.address, local)
            except OSError as e:
                await self.aclose()
                raise InvalidArgumentError(f"cannot listen on {self.address}:{local}: "
                                           f"{e.strerror or e}") from e
            self._servers.append(server)
            self.ports[remote] = server.sockets[0].getsockname()[1]
        return self

    @property
    def errors(self) -> list[ForwardError]:
        return list(self._errors)

    async def connect(self, port: int) -> AsyncPortStream:
        """One new connection to the Pod's ``port`` (listed or not)."""
        return await connect_port(self._handle, self.pod, port)

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  remote: int) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer, remote))
        self._live.add(task)
        task.add_done_callback(self._live.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     remote: int) -> None:
        stream: AsyncPortStream | None = None
        upload: asyncio.Task[None] | None = None
        try:
            stream = await self.connect(remote)
            upload = asyncio.get_running_loop().create_task(_upload(reader, stream))
            while data := await stream.recv(READ_SIZE):
                writer.write(data)
                await writer.drain()
        except ForwardError as e:
            self._report(e)
        except (TransportError, OSError) as e:
            log.debug("forwarded connection to port %d ended: %s", remote, e)
            if stream is None:
                self._report(ForwardError(remote, str(e)))
        except DynakubeError as e:  # an API error opening the stream (the Pod went, ...)
            self._report(ForwardError(remote, str(e)))
        finally:
            if upload is not None:
                upload.cancel()
            if stream is not None:
                stream.abort()
            writer.transport.abort()

    def _report(self, error: ForwardError) -> None:
        self._errors.append(error)
        log.info("an error occurred forwarding %d: %s", error.port, error)
        if self._on_error is not None:
            self._on_error(error)

    async def aclose(self) -> None:
        """Stop listening and drop every forwarded connection."""
        for server in self._servers:
            server.close()
        for task in list(self._live):
            task.cancel()
        for task in list(self._live):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self._servers:
            await server.wait_closed()

    async def __aenter__(self) -> AsyncPortForward:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        listening = ", ".join(f"{self.address}:{local} -> {remote}"
                              for remote, local in self.ports.items())
        return f"<AsyncPortForward pod/{self.pod.name} {listening}>"


async def _upload(reader: asyncio.StreamReader, stream: AsyncPortStream) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            await stream.sendall(data)
    except (TransportError, OSError):
        pass  # the protocol cannot half-close: the Pod side decides when it ends


async def port_forward(handle: Handle, pod: PodChoice, pairs: list[tuple[int, int]], *,
                       address: str = "127.0.0.1",
                       on_error: Callable[[ForwardError], None] | None = None
                       ) -> AsyncPortForward:
    """An :class:`AsyncPortForward` listening on ``pairs`` (see ``parse_port_pairs``)."""
    forward = AsyncPortForward(handle, pod, pairs, address=address, on_error=on_error)
    return await forward._listen()
