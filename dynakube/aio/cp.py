"""``kubectl cp`` on the event loop: tar through an async exec stream.

The checks of what the container sends, the unpacking into a staging directory and the move
into place are :mod:`dynakube.cp`'s. ``tarfile`` and the local files block, so the packing or
unpacking of one copy runs in a worker thread (``asyncio.to_thread``) that reads or writes the
stream through the loop; the connection itself stays on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from ..cp import _STDERR_KEPT, _finish, _place, _remote_path, _unpack, remote_member_name
from ..errors import InvalidArgumentError
from .exec import AsyncPipe, run_command, start_stream, target_pod

if TYPE_CHECKING:
    from .exec import AsyncExecStream
    from .handles import Handle

__all__ = ["copy_from", "copy_to"]

_BUFFER = 256 * 1024


class _PipeReader(io.RawIOBase):
    """An :class:`AsyncPipe` read from a worker thread (each read waits on the loop)."""

    def __init__(self, pipe: AsyncPipe, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self._pipe, self._loop = pipe, loop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._loop.is_closed():
            raise BrokenPipeError("the container's stdout is gone")
        view = memoryview(buffer).cast("B")
        data = asyncio.run_coroutine_threadsafe(self._pipe.read(len(view)), self._loop).result()
        view[:len(data)] = data
        return len(data)


class _StdinWriter(io.RawIOBase):
    """A stream's stdin written from a worker thread (each write waits on the loop)."""

    def __init__(self, stream: AsyncExecStream, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self._stream, self._loop = stream, loop
        self.broken = False
        """Set after a failed write: later writes (a buffer's flush on close) fail at once,
        without making a coroutine that no loop will run."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.broken or self._loop.is_closed():
            raise BrokenPipeError("the container's stdin is gone")
        chunk = bytes(data)
        try:
            asyncio.run_coroutine_threadsafe(self._stream.write(chunk), self._loop).result()
        except BaseException:
            self.broken = True
            raise
        return len(chunk)


class _Ended:
    """What ``cp._finish`` asks of a stream that already ended: its exit code."""

    def __init__(self, code: int):
        self.code = code

    def wait(self) -> int:
        return self.code


async def _kept_stderr(stream: AsyncExecStream) -> bytearray:
    kept = bytearray()
    if stream.stderr is not None:
        async for chunk in stream.stderr:
            kept.extend(chunk)
            del kept[:-_STDERR_KEPT]
    return kept


async def _finished(stream: AsyncExecStream, stderr: asyncio.Task[bytearray],
                    what: str) -> None:
    code = await stream.wait()
    _finish(cast(Any, _Ended(code)), await stderr, None, what)


async def copy_from(handle: Handle, name: str, src: str, dest: str | os.PathLike[str], *,
                    container: str | None = None, namespace: str | None = None) -> Path:
    """``src`` in the container to the local ``dest`` (as :meth:`Resource.copy_from`)."""
    import tarfile

    src = _remote_path(src)
    target = Path(dest)
    pod = await target_pod(handle, name, namespace, "cp")
    prefix = remote_member_name(src)
    if target.is_dir():
        probe = await run_command(handle, pod, ["test", "-d", src], container)
        if probe.exit_code != 0:  # a file into an existing directory, as cp does
            target = target / posixpath.basename(src.rstrip("/"))
    if not target.parent.is_dir():
        raise InvalidArgumentError(f"{target.parent} is not a local directory")
    staged = Path(tempfile.mkdtemp(prefix=".dynakube-cp-", dir=target.parent))
    loop = asyncio.get_running_loop()
    try:
        stream = await start_stream(handle, pod, ["tar", "cf", "-", src], container,
                                    stdin=False)
        async with stream:
            stderr = loop.create_task(_kept_stderr(stream))
            archive = io.BufferedReader(_PipeReader(stream.stdout, loop), _BUFFER)
            broken: tarfile.TarError | None = None
            try:
                is_dir = await asyncio.to_thread(_unpack, cast(IO[bytes], archive), prefix,
                                                 staged)
            except tarfile.TarError as e:  # tar's own complaint, if any, says more
                broken = e
            await _finished(stream, stderr, f"cp {pod.name}:{src}")
            if broken is not None:
                raise InvalidArgumentError(f"cp {pod.name}:{src}: the container sent a "
                                           f"broken tar archive: {broken}") from broken
        item = staged / "item"
        if not is_dir and not item.exists() and not item.is_symlink():
            raise InvalidArgumentError(f"cp {pod.name}:{src}: the container sent no such "
                                       "file")
        await asyncio.to_thread(_place, staged, target, is_dir)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return target


async def copy_to(handle: Handle, name: str, src: str | os.PathLike[str], dest: str, *,
                  container: str | None = None, namespace: str | None = None) -> str:
    """The local ``src`` to ``dest`` in the container (as :meth:`Resource.copy_to`)."""
    import tarfile

    dest = _remote_path(dest)
    source = Path(src)
    if not source.exists():
        raise InvalidArgumentError(f"{source} doesn't exist in local filesystem")
    pod = await target_pod(handle, name, namespace, "cp")
    remote = dest.rstrip("/") or "/"
    probe = await run_command(handle, pod, ["test", "-d", remote], container)
    if probe.exit_code == 0:  # into an existing directory, as kubectl does
        remote = posixpath.join(remote, source.resolve().name)
    directory, base = posixpath.split(remote)
    command = ["tar", "-xmf", "-"] + (["-C", directory] if directory else [])
    loop = asyncio.get_running_loop()
    stream = await start_stream(handle, pod, command, container, stdin=True)
    async with stream:
        stderr = loop.create_task(_kept_stderr(stream))
        drained = loop.create_task(stream.stdout.read())

        def pack() -> None:
            raw = _StdinWriter(stream, loop)
            writer = io.BufferedWriter(raw, _BUFFER)
            try:
                with tarfile.open(fileobj=writer, mode="w|") as tar:
                    tar.add(source, arcname=base, recursive=True)
                writer.close()
            finally:
                if not writer.closed:  # the stream broke: drop what is buffered
                    raw.broken = True
                    with contextlib.suppress(OSError):
                        writer.close()

        await asyncio.to_thread(pack)
        await stream.close_stdin()  # tar in the container sees the end
        await _finished(stream, stderr, f"cp {source} {pod.name}:{dest}")
        await drained
    return remote
