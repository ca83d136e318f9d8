"""``pods/{name}/exec`` and ``pods/{name}/attach``: kube-apiserver's checks, then the
kubelet's remote command over a WebSocket (``v5.channel.k8s.io``, ``v4.channel.k8s.io``).

Before the upgrade, kube-apiserver finds the Pod (``404``), the container (``400 container c
is not valid for pod p``), the node (``400 pod p does not have a host assigned``); a finished
Pod or a container that is not running yet cannot run anything (kubectl's and the kubelet's
words, ``400``), and exec needs a command and one of stdin, stdout and stderr.

After it, every message's first byte is its channel: 0 stdin, 1 stdout, 2 stderr, 3 the final
``Status``, 4 terminal sizes (``{"Width": w, "Height": h}``), and in v5 255, the close signal
(``b"\\xff\\x00"``: stdin is done). The container's handler runs in a thread of its own with
binary file-likes: stdin ends at the close signal (v4: when the connection ends), and its
writes leave at once, framed in pieces of :data:`~.channels.CHUNK_BYTES`, each write waiting
for the socket (a slow reader slows the handler: memory stays bounded). The end is a ``Status``
on channel 3 worded as the server that writes it words it (kube-apiserver's stream translator
for v5, the runtime's streaming server for v4), then the close (1000). A client that leaves
ends the handler's stdin, and its writes raise ``BrokenPipeError``.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from ..call import Call
from ..objects import Obj
from ..rules.podlogs import container_names
from ..rules.podstreams import ContainerExecError, ExecHandler, ResizeEvents
from ..status import bad_request
from .channels import CHUNK_BYTES, MessageSocket

__all__ = ["EXEC_PROTOCOLS", "STDIN_BUFFER_BYTES", "ExecTarget", "exec_target", "run_exec"]

EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""The subprotocols served, the newest first (the client's order decides)."""
STDIN_BUFFER_BYTES = 256 * 1024
"""How much stdin waits for the handler before the server stops reading the socket."""
START_SECONDS = 0.05
"""How long after the handshake the command starts. On a cluster the API server dials the
kubelet and the runtime starts the process first, which takes milliseconds; kubectl
registers its channels after the handshake and drops what comes before ("Unknown stream
id"), so a command that prints at once must not beat it."""
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("", "0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True)
class ExecTarget:
    """What one exec or attach request runs, once kube-apiserver let it through."""

    pod: Obj
    container: str
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    attach: bool


def _flag(multi: Mapping[str, Sequence[str]], key: str) -> bool:
    """A boolean option as the parameter codec reads it (the last value counts)."""
    text = (multi.get(key) or [""])[-1]
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise bad_request(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _names(pod: Obj, field: str) -> str:
    return " ".join(str(c.get("name")) for c in (pod.get("spec") or {}).get(field) or []
                    if isinstance(c, dict))


def _container(pod: Obj, wanted: str) -> str:
    """``streamLocation``'s choice of container."""
    name = pod["metadata"].get("name")
    if wanted:
        if wanted not in container_names(pod):
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    containers = [c for c in (pod.get("spec") or {}).get("containers") or []
                  if isinstance(c, dict)]
    if len(containers) == 1:
        return str(containers[0].get("name"))
    if not containers:
        raise bad_request(f"a container name must be specified for pod {name}")
    message = (f"a container name must be specified for pod {name}, choose one of: "
               f"[{_names(pod, 'containers')}]")
    for field, what in (("initContainers", "init"), ("ephemeralContainers", "ephemeral")):
        if _names(pod, field):
            message += f" or one of the {what} containers: [{_names(pod, field)}]"
    raise bad_request(message)


def _check_running(pod: Obj, container: str, attach: bool) -> None:
    """A finished Pod, or a container reported waiting or terminated, runs nothing."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase in ("Succeeded", "Failed"):
        verb = "attach to" if attach else "exec into"
        raise bad_request(f"cannot {verb} a container in a completed pod; current phase is "
                          f"{phase}")
    for field in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(field) or []:
            if isinstance(entry, dict) and entry.get("name") == container and \
                    not (entry.get("state") or {}).get("running") and entry.get("state"):
                raise bad_request(
                    f'unable to upgrade connection: container not found ("{container}")')


def exec_target(call: Call, pod: Obj, multi: Mapping[str, Sequence[str]],
                attach: bool) -> ExecTarget:
    """The checks before the upgrade of an exec (or ``attach``) of the stored ``pod``.

    ``multi`` is the query with every value (``command`` repeats). Raises ``StatusError``.
    """
    stdin, stdout, stderr = (_flag(multi, k) for k in ("stdin", "stdout", "stderr"))
    tty = _flag(multi, "tty")
    container = _container(pod, (multi.get("container") or [""])[-1])
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {call.name} does not have a host assigned")
    _check_running(pod, container, attach)
    command = [] if attach else list(multi.get("command", []))
    if not attach and not command:
        raise bad_request("you must specify at least one command for the container")
    if tty and stderr:
        stderr = False  # the kubelet: a terminal has no separate stderr
    if not (stdin or stdout or stderr):
        raise bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return ExecTarget(pod, container, command, stdin, stdout, stderr, tty, attach)


class _StdinPipe(io.RawIOBase):
    """What the client sends on channel 0, for the handler to read; bounded."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self._eof = False
        self._abandoned = False

    def readable(self) -> bool:
        return True

    def feed(self, data: bytes) -> None:
        """Add ``data``; waits while the handler has not read what came before."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._buffer) < STDIN_BUFFER_BYTES or
                                self._abandoned)
            if not self._abandoned and not self._eof:
                self._buffer += data
                self._cond.notify_all()

    def end(self) -> None:
        """No more input (the close signal, or the connection ended)."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abandon(self) -> None:
        """The handler finished: what still comes is dropped, nobody waits."""
        with self._cond:
            self._abandoned = True
            self._buffer.clear()
            self._cond.notify_all()

    def readinto(self, b: Any) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._buffer or self._eof or self._abandoned)
            n = min(len(b), len(self._buffer))
            b[:n] = self._buffer[:n]
            del self._buffer[:n]
            self._cond.notify_all()
            return n


class _ChannelWriter(io.RawIOBase):
    """The handler's stdout or stderr: each write leaves as channel messages right away."""

    def __init__(self, ws: MessageSocket, channel: int, wanted: bool):
        self._ws = ws
        self._prefix = bytes([channel])
        self._wanted = wanted

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        if self.closed:
            raise ValueError("write to a closed stream")
        if self._wanted:
            for start in range(0, len(data), CHUNK_BYTES):
                self._ws.send(self._prefix + data[start:start + CHUNK_BYTES])
        return len(data)


def _status(body: dict[str, Any]) -> bytes:
    return bytes([STATUS]) + json.dumps({"metadata": {}, **body},
                                        separators=(",", ":")).encode()


def _internal(message: str) -> dict[str, Any]:
    return {"status": "Failure", "message": f"Internal error occurred: {message}",
            "reason": "InternalError", "details": {"causes": [{"message": message}]},
            "code": 500}


def _final_status(target: ExecTarget, v5: bool, code: int | None,
                  error: Exception | None) -> dict[str, Any]:
    """The ``Status`` that ends the session, worded as the kubelet (v4) or kube-apiserver's
    stream translator (v5) words it."""
    if error is not None:
        what = "attaching to" if target.attach else "executing command in"
        return _internal(f"error {what} container: {error}")
    if target.attach or not code:
        return {"status": "Success"}
    inner = (f"command terminated with exit code {code}" if v5 else
             f"error executing command [{' '.join(target.command)}], exit code {code}")
    return {"status": "Failure", "message": f"command terminated with non-zero exit code: "
            f"{inner}", "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def _resize(resize: ResizeEvents, payload: bytes) -> None:
    try:
        size = json.loads(payload)
        resize.put(int(size["Width"]), int(size["Height"]))
    except (ValueError, TypeError, KeyError):
        pass  # the kubelet logs a bad size and goes on


def run_exec(ws: MessageSocket, target: ExecTarget, handler: ExecHandler) -> None:
    """The session on ``ws``: run ``handler`` in its own thread, carry the channels, send the
    final ``Status`` and close. Returns once the handler returned and the WebSocket ended."""
    v5 = ws.subprotocol.startswith("v5.")
    pipe = _StdinPipe()
    stdin = io.BufferedReader(pipe) if target.stdin else io.BytesIO()
    stdout = _ChannelWriter(ws, STDOUT, target.stdout)
    stderr = _ChannelWriter(ws, STDERR, target.stderr)
    resize = ResizeEvents()

    def run() -> None:
        code: int | None = None
        error: Exception | None = None
        time.sleep(START_SECONDS)
        try:
            code = int(handler(list(target.command), cast(BinaryIO, stdin),
                               cast(BinaryIO, stdout), cast(BinaryIO, stderr),
                               tty=target.tty, resize=resize))
        except ContainerExecError as exc:
            error = exc
        except BrokenPipeError:
            pass  # the client left; nobody to tell
        except Exception as exc:  # a handler's bug: the client hears of it
            error = ContainerExecError(f"{type(exc).__name__}: {exc}")
        finally:
            pipe.abandon()
        try:
            ws.send(_status(_final_status(target, v5, code, error)))
        except BrokenPipeError:
            pass
        ws.close(1000)

    worker = threading.Thread(target=run, name="dynakube-exec", daemon=True)
    worker.start()
    try:
        while (message := ws.recv()) is not None:
            if not message:
                continue
            channel, payload = message[0], message[1:]
            if channel == STDIN and target.stdin:
                pipe.feed(payload)
            elif channel == RESIZE and target.tty:
                _resize(resize, payload)
            elif channel == CLOSE and v5 and payload[:1] == bytes([STDIN]):
                pipe.end()
    finally:
        pipe.end()
        resize.close()
        worker.join()
