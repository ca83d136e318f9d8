"""What exec, attach and port-forward reach inside a Pod: the kubelet stand-in's registry.

The embedded server runs no containers, so tests say what a container does when a command
runs in it (``server.pods.on_exec(namespace, pod, container, handler)``) and what a Pod's port
leads to (``server.pods.on_port(namespace, pod, port, target)``). Like the container logs,
registrations belong to one Pod instance (its ``uid``) and are forgotten once it is gone.
Without a registration a command is "not found" (the runtime's words) and a port refuses the
connection (the kubelet's and containerd's words), as in a container that has neither.
"""

from __future__ import annotations

import collections
import hashlib
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol

from dynakube.errors import DynakubeError, InvalidArgumentError

from ..call import ApiState
from ..objects import Obj
from ..storage.store import storage_key
from .podlogs import container_names

__all__ = ["ContainerExecError", "ExecHandler", "PodConnection", "PodStreams", "PortForwardError",
           "PortTarget", "ResizeEvents", "command_not_found", "sandbox_id", "stored_pod"]


class ResizeEvents:
    """The terminal sizes a client sends (channel 4), as ``(width, height)`` tuples.

    Iterate it to wait for each one (the iteration ends with the session); :meth:`latest`
    looks without waiting. Only the last :data:`KEPT` unread sizes are kept.
    """

    KEPT = 64

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: collections.deque[tuple[int, int]] = collections.deque(maxlen=self.KEPT)
        self._latest: tuple[int, int] | None = None
        self._closed = False

    def put(self, width: int, height: int) -> None:
        with self._cond:
            self._pending.append((width, height))
            self._latest = (width, height)
            self._cond.notify_all()

    def close(self) -> None:
        """No more sizes will come: iterators stop once the pending ones are read."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def latest(self) -> tuple[int, int] | None:
        """The last size received, or None when none came yet (never blocks)."""
        with self._cond:
            return self._latest

    def get(self, timeout: float | None = None) -> tuple[int, int] | None:
        """The next unread size; None when the session ended (or ``timeout`` passed)."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._closed, timeout)
            return self._pending.popleft() if self._pending else None

    def __iter__(self) -> Iterator[tuple[int, int]]:
        while (size := self.get()) is not None:
            yield size


class ExecHandler(Protocol):
    """What runs when a command is executed in (or attached to) a container: returns the
    exit code; raises :class:`ContainerExecError` when the runtime cannot start it."""

    def __call__(self, command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                 *, tty: bool, resize: ResizeEvents) -> int: ...


class ContainerExecError(DynakubeError):
    """The container runtime could not run the command (its message is the runtime's)."""


class PortForwardError(DynakubeError, ConnectionError):
    """A forwarded port cannot be reached; the message is the kubelet's error text."""


class PodConnection:
    """One forwarded TCP connection into a Pod: a duplex byte stream over a socket."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def recv(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` once the other side finished writing (or went)."""
        try:
            return self._sock.recv(n)
        except OSError:
            return b""

    def sendall(self, data: bytes) -> None:
        """Send all of ``data``; raises ``BrokenPipeError`` when the other side is gone."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise BrokenPipeError(str(exc)) from None

    def shutdown_write(self) -> None:
        """Tell the other side no more data comes (its ``recv`` returns ``b""``)."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def shutdown(self, how: int = socket.SHUT_RDWR) -> None:
        try:
            self._sock.shutdown(how)
        except OSError:
            pass

    def close(self) -> None:
        """Shut down, then close: a thread blocked reading this socket wakes up, and the
        other side sees the end (a bare close waits for such a read to return)."""
        self.shutdown()
        self._sock.close()

    def __enter__(self) -> PodConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PortTarget = Callable[[PodConnection], Any] | tuple[str, int]
"""What a Pod's port reaches: a callable serving one connection, or a local address."""


def sandbox_id(uid: str) -> str:
    """The Pod sandbox's id as containerd names it (64 hex digits), stable for the Pod."""
    return hashlib.sha256(("sandbox:" + uid).encode()).hexdigest()


def command_not_found(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                      *, tty: bool, resize: ResizeEvents) -> int:
    """The default: the container has no such executable (runc's words through containerd).

    Attach (no command) has no process to talk to: it ends at once with exit code 0.
    """
    if not command:
        return 0
    exec_id = uuid.uuid4().hex + uuid.uuid4().hex
    raise ContainerExecError(
        f'failed to exec in container: failed to start exec "{exec_id}": OCI runtime exec '
        f'failed: exec failed: unable to start container process: exec: "{command[0]}": '
        "executable file not found in $PATH: unknown")


def _refused(pod: Obj, port: int) -> PortForwardError:
    """containerd's refusal, wrapped by the kubelet (``uid`` is empty on the CRI path)."""
    uid = str(pod["metadata"].get("uid"))
    sandbox = sandbox_id(uid)
    netns = f"/var/run/netns/cni-{uuid.uuid5(uuid.NAMESPACE_OID, uid)}"
    return PortForwardError(
        f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward "
        f'in network namespace "{netns}": failed to connect to localhost:{port} inside '
        f'namespace "{sandbox}", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused '
        f"IPv6 dial tcp6 [::1]:{port}: connect: connection refused ")


_Key = tuple[str, str, str]  # (namespace/name, uid, container or port)


def stored_pod(api: ApiState, namespace: str, name: str) -> Obj | None:
    """The Pod ``namespace/name`` as stored now, or None."""
    spec = api.table.lookup("", "v1", "pods")
    if spec is None:
        return None
    found: Any = api.store.get(api.bucket(spec), storage_key(namespace, name))
    return found


class PodStreams:
    """Exec handlers per container and port targets per port, for each Pod instance.

    ``default_handler(namespace, pod, container)`` gives the handler of a container nobody
    registered one for (:func:`command_not_found`, unless the standalone server sets a shell).
    """

    def __init__(self, api: ApiState):
        self._api = api
        self._lock = threading.Lock()
        self._exec: dict[_Key, ExecHandler] = {}
        self._ports: dict[_Key, PortTarget] = {}
        self._connections: weakref.WeakSet[PodConnection] = weakref.WeakSet()
        self.default_handler: Callable[[str, str, str], ExecHandler] = \
            lambda namespace, pod, container: command_not_found

    def _existing(self, namespace: str, name: str) -> Obj:
        pod = stored_pod(self._api, namespace, name)
        if pod is None:
            raise InvalidArgumentError(f"there is no Pod {namespace}/{name}: create it first")
        return pod

    def _forget_gone(self) -> None:
        """Drop what belongs to Pod instances no longer stored (under the lock)."""
        alive: dict[str, str | None] = {}
        for table in (self._exec, self._ports):
            for key in list(table):
                if key[0] not in alive:
                    namespace, _, name = key[0].partition("/")
                    pod = stored_pod(self._api, namespace, name)
                    alive[key[0]] = str(pod["metadata"].get("uid")) if pod else None
                if alive[key[0]] != key[1]:
                    del table[key]

    def on_exec(self, namespace: str, pod: str, container: str, handler: ExecHandler) -> None:
        """Commands run in (and attaches to) ``container`` of Pod ``namespace/pod`` call
        ``handler`` from now on, until the Pod is deleted."""
        obj = self._existing(namespace, pod)
        names = container_names(obj)
        if container not in names:
            raise InvalidArgumentError(f"Pod {namespace}/{pod} has no container {container!r} "
                                       f"(it has: {', '.join(names) or 'none'})")
        if not callable(handler):
            raise InvalidArgumentError(f"the exec handler must be callable, not {handler!r}")
        with self._lock:
            self._forget_gone()
            self._exec[(storage_key(namespace, pod), str(obj["metadata"].get("uid")),
                        container)] = handler

    def on_port(self, namespace: str, pod: str, port: int, target: PortTarget) -> None:
        """Connections forwarded to ``port`` of Pod ``namespace/pod`` reach ``target``: a
        callable given each connection (in a thread of its own), or a ``(host, port)``."""
        obj = self._existing(namespace, pod)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgumentError(f"port must be a number from 1 to 65535, not {port!r}")
        if not callable(target) and not (
                isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str)
                and isinstance(target[1], int)):
            raise InvalidArgumentError("the port target must be a callable or a (host, port) "
                                       f"address, not {target!r}")
        with self._lock:
            self._forget_gone()
            self._ports[(storage_key(namespace, pod), str(obj["metadata"].get("uid")),
                         str(port))] = target

    def handler(self, pod: Obj, container: str) -> ExecHandler:
        """The handler for ``container`` of the stored Pod ``pod``."""
        meta = pod["metadata"]
        key = (storage_key(meta.get("namespace"), meta.get("name")), str(meta.get("uid")),
               container)
        with self._lock:
            found = self._exec.get(key)
        return found or self.default_handler(str(meta.get("namespace")), str(meta.get("name")),
                                             container)

    def dial(self, pod: Obj, port: int) -> PodConnection:
        """Connect to ``port`` of the stored Pod ``pod``; :class:`PortForwardError` with the
        kubelet's words when nothing listens there."""
        meta = pod["metadata"]
        key = (storage_key(meta.get("namespace"), meta.get("name")), str(meta.get("uid")),
               str(port))
        with self._lock:
            target = self._ports.get(key)
        if target is None:
            raise _refused(pod, port)
        if isinstance(target, tuple):
            try:
                sock = socket.create_connection(target, timeout=10)
            except OSError:
                raise _refused(pod, port) from None
            sock.settimeout(None)
            return self._opened(PodConnection(sock))
        ours, theirs = socket.socketpair()
        serve = target

        def run() -> None:
            with PodConnection(theirs) as conn:
                try:
                    serve(conn)
                except OSError:
                    pass  # the forwarded connection went away under the target

        threading.Thread(target=run, name=f"dynakube-port-{port}", daemon=True).start()
        return self._opened(PodConnection(ours))

    def _opened(self, conn: PodConnection) -> PodConnection:
        with self._lock:
            self._connections.add(conn)
        return conn

    def close_connections(self) -> None:
        """End every forwarded connection still open (the server stops): the targets see
        the end of their input, as a container's sockets do when its node goes away."""
        with self._lock:
            open_now = list(self._connections)
        for conn in open_now:
            conn.close()
