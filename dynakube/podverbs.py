"""The verbs that reach into a Pod: logs, exec, attach, stream, port-forward and cp.

:class:`PodVerbs` is mixed into :class:`~dynakube.resource.Resource`. On pods they act on
the named Pod; on a workload or Service handle, on the Pod ``kubectl logs TYPE/NAME`` would
pick (:meth:`PodVerbs.log_pod`). Their implementations (:mod:`dynakube.logs`,
:mod:`dynakube.exec`, :mod:`dynakube.portforward`, :mod:`dynakube.cp`) are imported on first
use, so a client that never streams does not pay for loading them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, overload

if TYPE_CHECKING:
    from .exec import ExecResult, ExecStream
    from .exec import _Handle as _StreamHandle
    from .logs import LogStream, PodChoice
    from .logs import _Handle as _LogHandle
    from .portforward import PortForward
    from .transport.forwarding import ForwardError

__all__ = ["PodVerbs"]


class PodVerbs:
    """``logs()``, ``log_pod()``, ``exec()``, ``attach()``, ``stream()``,
    ``port_forward()``, ``copy_from()`` and ``copy_to()`` of a resource handle."""

    def log_pod(self: _LogHandle, name: str, namespace: str | None = None) -> PodChoice:
        """The Pod whose logs :meth:`logs` reads: ``name`` itself for pods, else the one
        kubectl picks among the workload's (a ``NotFoundError`` when it has none)."""
        from .logs import log_pod

        return log_pod(self, name, namespace)

    @overload
    def logs(self: _LogHandle, name: str, namespace: str | None = None, *,
             container: str | None = None, follow: Literal[False] = False,
             tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
             since_time: datetime | str | None = None, timestamps: bool = False,
             previous: bool = False, limit_bytes: int | None = None) -> str: ...

    @overload
    def logs(self: _LogHandle, name: str, namespace: str | None = None, *,
             container: str | None = None, follow: Literal[True],
             tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
             since_time: datetime | str | None = None, timestamps: bool = False,
             previous: bool = False, limit_bytes: int | None = None) -> LogStream: ...

    @overload
    def logs(self: _LogHandle, name: str, namespace: str | None = None, *,
             container: str | None = None, follow: bool,
             tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
             since_time: datetime | str | None = None, timestamps: bool = False,
             previous: bool = False, limit_bytes: int | None = None) -> str | LogStream: ...

    def logs(self: _LogHandle, name: str, namespace: str | None = None, *,
             container: str | None = None, follow: bool = False,
             tail_lines: int | None = None, since_seconds: float | timedelta | None = None,
             since_time: datetime | str | None = None, timestamps: bool = False,
             previous: bool = False, limit_bytes: int | None = None) -> str | LogStream:
        """A Pod's log: the text (``str``), or with ``follow`` a :class:`LogStream` of lines.

        On a workload handle, the log of the Pod :meth:`log_pod` picks. ``since_seconds`` /
        ``since_time`` (a timezone-aware datetime or RFC 3339 text; the server takes whole
        seconds) start later; ``tail_lines`` keeps the last lines; ``limit_bytes`` stops
        after that many bytes; ``timestamps`` prefixes each line with the kubelet's
        RFC 3339 time; ``previous`` reads the container's last terminated instance.
        """
        from .logs import read_logs

        return read_logs(self, name, namespace, container=container, follow=follow,
                         tail_lines=tail_lines, since_seconds=since_seconds,
                         since_time=since_time, timestamps=timestamps, previous=previous,
                         limit_bytes=limit_bytes)

    def exec(self: _StreamHandle, name: str, command: Sequence[str],
             container: str | None = None, stdin: bytes | str | IO[bytes] | None = None,
             tty: bool = False, timeout: float | None = None,
             namespace: str | None = None) -> ExecResult:
        """Run ``command`` in a container to its end: the exit code, stdout and stderr.

        ``stdin`` (bytes, text or a binary file) is sent, then closed. A non-zero exit code
        is a result (``result.exit_code``), not an error; a command the runtime cannot run
        raises the server's error. ``timeout`` (seconds) hangs up on a command that runs
        longer, raising ``TimeoutError``.
        """
        from .exec import _command, run_command, stream_pod

        pod = stream_pod(self, name, namespace, "exec")
        return run_command(self, pod, _command(command), container, stdin, tty, timeout)

    def attach(self: _StreamHandle, name: str, container: str | None = None,
               stdin: bytes | str | IO[bytes] | None = None, tty: bool = False,
               timeout: float | None = None, namespace: str | None = None) -> ExecResult:
        """Attach to a container's main process until it ends (``exec`` without command)."""
        from .exec import run_command, stream_pod

        pod = stream_pod(self, name, namespace, "attach")
        return run_command(self, pod, None, container, stdin, tty, timeout)

    def stream(self: _StreamHandle, name: str, command: Sequence[str] | None = None,
               container: str | None = None, *, stdin: bool = False, stderr: bool = True,
               tty: bool = False, namespace: str | None = None) -> ExecStream:
        """Start ``command`` (attach when None) and stream it: an :class:`ExecStream`."""
        from .exec import _command, start_stream, stream_pod

        argv = _command(command) if command is not None else None
        pod = stream_pod(self, name, namespace, "exec" if argv is not None else "attach")
        return start_stream(self, pod, argv, container, stdin=stdin, stderr=stderr, tty=tty)

    def port_forward(self: _StreamHandle, name: str,
                     ports: Mapping[int, int] | Iterable[int | str],
                     namespace: str | None = None, *, address: str = "127.0.0.1",
                     on_error: Callable[[ForwardError], None] | None = None) -> PortForward:
        """Listen on local ports and forward them to a Pod's: ``{8080: 80}`` (local:
        remote; local 0 picks a free port), ``[80]`` or ``["8080:80", ":443"]``."""
        from .exec import stream_pod
        from .portforward import PortForward, parse_port_pairs

        pairs = parse_port_pairs(ports)
        pod = stream_pod(self, name, namespace, "port-forward")
        return PortForward(self, pod, pairs, address=address, on_error=on_error)

    def copy_from(self: _StreamHandle, name: str, src: str,
                  dest: str | os.PathLike[str], *, container: str | None = None,
                  namespace: str | None = None) -> Path:
        """Copy ``src`` (a file or directory in the container) to the local ``dest``, through
        tar as ``kubectl cp`` does; returns the local path written. A member that would land
        outside ``dest`` (``..``, an absolute symlink) is refused."""
        from .cp import copy_from

        return copy_from(self, name, src, dest, container=container, namespace=namespace)

    def copy_to(self: _StreamHandle, name: str, src: str | os.PathLike[str],
                dest: str, *, container: str | None = None,
                namespace: str | None = None) -> str:
        """Copy the local ``src`` (a file or directory) to ``dest`` in the container;
        returns the path written there."""
        from .cp import copy_to

        return copy_to(self, name, src, dest, container=container, namespace=namespace)
