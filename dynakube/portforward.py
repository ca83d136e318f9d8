"""Port-forward: reach a Pod's ports from local sockets (``kubectl port-forward``).

``with kube.resource("pods").port_forward("web-0", {8080: 80}) as fwd:`` listens on
127.0.0.1:8080 and forwards each accepted connection to the Pod's port 80, over a WebSocket
of its own (``GET pods/web-0/portforward?ports=80``, ``v4.channel.k8s.io``, what
kube-apiserver 1.31+ serves). A local port of 0 picks a free one; ``fwd.ports`` maps each
remote port to its local one. ``fwd.connect(80)`` is the low level: one connection as a
socket-like :class:`~dynakube.transport.forwarding.PortStream`, no listener. On a workload
handle, the Pod is the one ``logs()`` picks. The sockets themselves live in
:mod:`dynakube.transport.forwarding`; this module says which Pod and which ports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .channels import PORT_FORWARD_PROTOCOLS, port_forward_query
from .errors import InvalidArgumentError
from .exec import _Handle, open_stream
from .logs import PodChoice

if TYPE_CHECKING:
    from .transport.forwarding import ForwardError, PortStream

__all__ = ["PortForward", "parse_port_pairs", "connect_port"]


def parse_port_pairs(ports: Mapping[int, int] | Iterable[int | str]) -> list[tuple[int, int]]:
    """(local, remote) pairs from a mapping ``{local: remote}``, remote ports (``80``: the
    same local port) or kubectl's ``"8080:80"`` / ``":80"`` (any free local port) strings."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(ports, Mapping):
        items = ports.items()
    elif isinstance(ports, (str, int)):
        raise InvalidArgumentError("ports is a mapping {local: remote} or a list such as "
                                   f"['8080:80'], got {ports!r}")
    else:
        items = [_pair(p) for p in ports]
    pairs = [(_port(local, "local", 0), _port(remote, "remote", 1)) for local, remote in items]
    taken = [local for local, _ in pairs if local]
    if len(taken) != len(set(taken)):
        raise InvalidArgumentError(f"a local port is given twice: {taken}")
    if not pairs:
        raise InvalidArgumentError("port-forward needs at least one port")
    return pairs


def _pair(spec: int | str) -> tuple[Any, Any]:
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec, spec
    if not isinstance(spec, str):
        raise InvalidArgumentError(f"a port is a number or 'LOCAL:REMOTE', got {spec!r}")
    local, sep, remote = spec.partition(":")
    if not sep:
        return local, local
    return (local or "0"), remote


def _port(value: Any, what: str, minimum: int) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{what} port {value!r} is not a number") from None
    if isinstance(value, bool) or not minimum <= port <= 65535:
        raise InvalidArgumentError(f"{what} port {value!r} must be {minimum}-65535")
    return port


class PortForward:
    """Listening local ports forwarding to one Pod (a context manager; :meth:`close`
    stops it). ``ports`` maps remote port to local port; ``errors`` keeps the last
    remote errors (each closed its own connection only)."""

    def __init__(self, handle: _Handle, pod: PodChoice, pairs: list[tuple[int, int]], *,
                 address: str, on_error: Callable[[ForwardError], None] | None):
        from .transport.forwarding import Forwarder

        self._handle = handle
        self.pod = pod
        self._forwarder = Forwarder(self.connect, pairs, address=address, on_error=on_error)

    @property
    def ports(self) -> dict[int, int]:
        return dict(self._forwarder.ports)

    @property
    def errors(self) -> list[ForwardError]:
        return list(self._forwarder.errors)

    @property
    def address(self) -> str:
        return self._forwarder.address

    def connect(self, port: int) -> PortStream:
        """One new connection to the Pod's ``port`` (listed or not), as a socket-like
        stream; the Pod's refusal comes as ``ForwardError`` from its first ``recv``."""
        return connect_port(self._handle, self.pod, port)

    def close(self) -> None:
        self._forwarder.close()

    def __enter__(self) -> PortForward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        listening = ", ".join(f"{self.address}:{local} -> {remote}"
                              for remote, local in self.ports.items())
        return f"<PortForward pod/{self.pod.name} {listening}>"


def connect_port(handle: _Handle, pod: PodChoice, port: int) -> PortStream:
    """A WebSocket to one port of ``pod``, as a socket-like stream."""
    from .transport.forwarding import PortStream

    socket = open_stream(handle, pod, "portforward", port_forward_query([port]),
                         PORT_FORWARD_PROTOCOLS)
    return PortStream(socket, port)
