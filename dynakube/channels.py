"""The channel protocols of exec, attach and port-forward, as values (no I/O).

kube-apiserver and the kubelet carry a container's streams in WebSocket binary messages whose
first byte names the channel (apimachinery ``wsstream`` and ``remotecommand``): 0 stdin,
1 stdout, 2 stderr, 3 the final ``Status``, 4 a terminal resize, and, in
``v5.channel.k8s.io`` only, 255 a close signal naming the channel that ends. Port-forward
(``v4.channel.k8s.io`` over ``/portforward``) gives the i-th port the data channel ``2*i``
and the error channel ``2*i+1``, each opened by the port number (2 bytes, little-endian).
Everything here is pure so the framing can be tested byte by byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, InvalidArgumentError, error_from_response

__all__ = [
    "STDIN", "STDOUT", "STDERR", "ERROR", "RESIZE", "CLOSE",
    "V5", "V4", "EXEC_PROTOCOLS", "PORT_FORWARD_PROTOCOLS",
    "ExitStatus", "PortChannels",
    "frame", "split", "close_signal", "resize_message", "exit_status", "port_channels",
    "port_prefix", "parse_port_prefix", "exec_query", "port_forward_query",
]

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
#: v5 only: the payload is the one channel byte being closed (``b"\xff\x00"`` ends stdin).
CLOSE = 255
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
#: Offered in this order; the server picks the first it speaks (v5 since Kubernetes 1.30).
EXEC_PROTOCOLS = (V5, V4)
#: What kube-apiserver 1.31+ and the kubelet serve a plain WebSocket port-forward with.
PORT_FORWARD_PROTOCOLS = (V4, "portforward.k8s.io")


def frame(channel: int, data: bytes | bytearray | memoryview = b"") -> bytes:
    """One message: the channel byte, then the payload."""
    if not 0 <= channel <= 255:
        raise InvalidArgumentError(f"a channel is a byte (0-255), got {channel}")
    return bytes((channel,)) + bytes(data)


def split(message: bytes) -> tuple[int, bytes]:
    """A received message as (channel, payload); an empty message is refused as the
    kubelet refuses it."""
    if not message:
        raise InvalidArgumentError("an empty message has no channel byte")
    return message[0], message[1:]


def close_signal(channel: int = STDIN) -> bytes:
    """v5's half-close: "no more data on ``channel``" (stdin, so the command sees EOF)."""
    return frame(CLOSE, bytes((channel,)))


def resize_message(width: int, height: int) -> bytes:
    """A terminal resize (tty only): ``{"Width": w, "Height": h}`` on channel 4."""
    for what, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            raise InvalidArgumentError(f"terminal {what} must be an integer 0-65535, "
                                       f"got {value!r}")
    return frame(RESIZE, json.dumps({"Width": width, "Height": height}).encode())


@dataclass(frozen=True)
class ExitStatus:
    """How a command ended, from the ``Status`` on channel 3.

    ``exit_code`` is 0 on success and the command's code for ``NonZeroExitCode``; ``error``
    is the ``dynakube.errors`` exception of any other failure (the runtime could not run the
    command, the container went), which has no exit code.
    """

    exit_code: int | None
    reason: str | None = None
    message: str | None = None
    status: Mapping[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> ApiError | None:
        if self.exit_code is not None:
            return None
        return error_from_response(int(self.status.get("code") or 500), self.status)


def exit_status(payload: bytes | None) -> ExitStatus:
    """Read channel 3's ``Status``; ``None`` (the stream ended without one) is a failure."""
    if payload is None:
        return ExitStatus(None, "InternalError", "the stream ended before the command's "
                          "exit status arrived", _failure("the stream ended before the "
                                                          "command's exit status arrived"))
    try:
        status = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        status = None
    if not isinstance(status, dict):
        # v1 servers sent the error text itself on this channel
        text = payload.decode("utf-8", "replace").strip()
        return ExitStatus(None, "InternalError", text, _failure(text))
    if status.get("status") == "Success":
        return ExitStatus(0, None, None, status)
    reason = str(status.get("reason") or "") or None
    message = str(status.get("message") or "") or None
    if reason == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return ExitStatus(int(str(cause.get("message"))), reason, message, status)
                except ValueError:
                    break
    return ExitStatus(None, reason, message, status)


def _failure(message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": "InternalError", "code": 500, "message": message}


@dataclass(frozen=True)
class PortChannels:
    """The two channels of the i-th port of a port-forward WebSocket."""

    port: int
    data: int
    error: int


def port_channels(ports: Sequence[int]) -> list[PortChannels]:
    """Channel pairs in the order the ports are asked for (``ports=80&ports=443``)."""
    if len(ports) > 127:
        raise InvalidArgumentError("one port-forward WebSocket carries at most 127 ports")
    return [PortChannels(p, 2 * i, 2 * i + 1) for i, p in enumerate(_ports(ports))]


def port_prefix(port: int) -> bytes:
    """The first payload on each of a port's channels: the port, 2 bytes little-endian."""
    return int(port).to_bytes(2, "little")


def parse_port_prefix(payload: bytes) -> tuple[int, bytes]:
    """(port, the rest) of a channel's first payload."""
    if len(payload) < 2:
        raise InvalidArgumentError("a port-forward channel must start with its port "
                                   f"(2 bytes), got {payload!r}")
    return int.from_bytes(payload[:2], "little"), payload[2:]


def _ports(ports: Sequence[int]) -> list[int]:
    out = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidArgumentError(f"a port must be an integer 1-65535, got {port!r}")
        out.append(port)
    if not out:
        raise InvalidArgumentError("port-forward needs at least one port")
    return out


def exec_query(command: Sequence[str] | None, *, container: str | None, stdin: bool,
               stdout: bool = True, stderr: bool = True,
               tty: bool = False) -> tuple[tuple[str, str], ...]:
    """The query of an exec (``command`` given) or attach (``command`` None) request, as
    kubectl sends it: with a tty, stderr is merged into stdout and not asked for."""
    pairs: list[tuple[str, str]] = []
    if command is not None:
        if isinstance(command, str) or not command or \
                not all(isinstance(c, str) for c in command):
            raise InvalidArgumentError("command must be a non-empty list of strings, such as "
                                       f"['sh', '-c', 'echo hi'], got {command!r}")
        pairs += [("command", c) for c in command]
    if container is not None:
        pairs.append(("container", container))
    stderr = stderr and not tty
    if not (stdin or stdout or stderr):
        raise InvalidArgumentError("at least one of stdin, stdout or stderr must be on")
    pairs += [(name, "true") for name, on in (("stdin", stdin), ("stdout", stdout),
                                              ("stderr", stderr), ("tty", tty)) if on]
    return tuple(pairs)


def port_forward_query(ports: Sequence[int]) -> tuple[tuple[str, str], ...]:
    return tuple(("ports", str(p)) for p in _ports(ports))
