"""Copy files and directories to and from a container, as ``kubectl cp`` does: exec and tar.

``pods.copy_from("web-0", "/var/log/app", "./app-logs")`` runs ``tar cf - /var/log/app`` in
the container and unpacks the stream locally; ``pods.copy_to("web-0", "./conf", "/etc/app")``
packs locally and runs ``tar -xmf - -C /etc`` there (into ``/etc/app/conf`` when
``/etc/app`` is a directory, kubectl's ``test -d`` check). Like ``cp``, ``DEST`` names the
copy (a file copied to an existing local directory lands inside it).

The archive comes from the container, so it is not trusted: a member that would land
outside the destination (an absolute name, ``..``, a link whose target leaves it) stops the
copy with :class:`~dynakube.errors.InvalidArgumentError`. Nothing is half-written: the
archive is unpacked into a temporary directory beside the destination and moved into
place only once it is complete and the command succeeded.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import shutil
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .errors import InvalidArgumentError
from .exec import ExecStream, _Handle, run_command, start_stream, stream_pod

if TYPE_CHECKING:
    import tarfile

__all__ = ["copy_from", "copy_to", "remote_member_name", "check_member"]

_STDERR_KEPT = 64 * 1024


def _remote_path(path: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgumentError("the path in the container must not be empty")
    return path


def remote_member_name(path: str) -> str:
    """The name tar gives ``path`` in its archive: without leading slashes, normalized."""
    return posixpath.normpath(path.lstrip("/")) if path.strip("/") else "."


def check_member(name: str, prefix: str) -> str | None:
    """``name`` relative to the copied ``prefix`` ("" for the prefix itself); None for a
    member outside it. Absolute names and ``..`` are refused: they would escape."""
    if name.startswith("/") or ".." in name.split("/"):
        raise InvalidArgumentError(f"the archive from the container holds {name!r}, which "
                                   "would land outside the destination: nothing was copied")
    clean = posixpath.normpath(name)
    if prefix in (".", ""):
        return "" if clean == "." else clean
    if clean == prefix:
        return ""
    if clean.startswith(prefix + "/"):
        return clean[len(prefix) + 1:]
    return None


def _check_link(member: tarfile.TarInfo, rel: str, prefix: str) -> str:
    target = member.linkname
    if member.issym():
        if target.startswith("/") or posixpath.normpath(
                posixpath.join(posixpath.dirname(rel), target)).split("/")[0] == "..":
            raise InvalidArgumentError(
                f"the archive from the container holds the symlink {member.name!r} -> "
                f"{target!r}, which points outside the destination: nothing was copied")
        return target
    inside = check_member(target, prefix)
    if inside is None:
        raise InvalidArgumentError(
            f"the archive from the container holds the hard link {member.name!r} -> "
            f"{target!r}, outside what is copied: nothing was copied")
    return inside


def _drain(pipe: io.RawIOBase | None, sink: bytearray) -> threading.Thread | None:
    if pipe is None:
        return None

    def run() -> None:
        with contextlib.suppress(Exception):
            while chunk := pipe.read(64 * 1024):
                sink.extend(chunk)
                del sink[:-_STDERR_KEPT]

    thread = threading.Thread(target=run, daemon=True, name="dynakube-cp-stderr")
    thread.start()
    return thread


def _finish(stream: ExecStream, stderr: bytearray, drained: threading.Thread | None,
            what: str) -> None:
    code = stream.wait()
    if drained is not None:
        drained.join(5)
    if code != 0:
        said = stderr.decode("utf-8", "replace").strip()
        raise InvalidArgumentError(f"{what} failed: tar exited with {code}"
                                   + (f": {said}" if said else "")
                                   + " (the container needs tar for cp)")


def _unpack(archive: IO[bytes], prefix: str, into: Path) -> bool:
    """Unpack the members under ``prefix`` into ``into``; whether the prefix was a dir."""
    import tarfile  # here: a client that never copies does not import it

    # Python 3.11.4+ takes an extraction filter (and 3.14 defaults to one): ours are the
    # checks above, so the archive is then extracted as it is
    filters = hasattr(tarfile, "data_filter")
    is_dir = False
    with tarfile.open(fileobj=archive, mode="r|") as tar:
        for member in tar:
            rel = check_member(member.name, prefix)
            if rel is None:
                continue
            if rel == "":
                is_dir = member.isdir()
                if is_dir:
                    continue
                rel = "item"  # a single file: renamed to the destination's name later
            elif not is_dir:
                continue  # the prefix was a file: nothing else belongs to it
            if member.issym() or member.islnk():
                member.linkname = _check_link(member, rel, prefix)
                if member.islnk():
                    member.linkname = member.linkname or "item"
            elif not (member.isfile() or member.isdir()):
                continue  # devices and fifos are not copied, as kubectl skips them
            member.name = rel
            member.mode &= 0o777
            if filters:
                tar.extract(member, into, set_attrs=not member.issym(), filter="fully_trusted")
            else:
                tar.extract(member, into, set_attrs=not member.issym())
    return is_dir


def _place(staged: Path, dest: Path, is_dir: bool) -> None:
    """Move what was unpacked to ``dest``: a rename, or a merge into an existing dir."""
    source = staged if is_dir else staged / "item"
    if is_dir and dest.is_dir():
        for root, dirs, files in os.walk(source):
            rel = Path(root).relative_to(source)
            (dest / rel).mkdir(exist_ok=True)
            for name in files:
                os.replace(Path(root) / name, dest / rel / name)
            for name in list(dirs):
                if (Path(root) / name).is_symlink():
                    os.replace(Path(root) / name, dest / rel / name)
                    dirs.remove(name)
        return
    if dest.is_dir() and not dest.is_symlink():
        raise InvalidArgumentError(f"{dest} is a directory; the copy would replace it")
    os.replace(source, dest)


def copy_from(handle: _Handle, name: str, src: str, dest: str | os.PathLike[str], *,
              container: str | None = None, namespace: str | None = None) -> Path:
    """``Resource.copy_from``: ``src`` in the container to the local ``dest``."""
    src = _remote_path(src)
    target = Path(dest)
    pod = stream_pod(handle, name, namespace, "cp")
    prefix = remote_member_name(src)
    if target.is_dir():
        probe = run_command(handle, pod, ["test", "-d", src], container)
        if probe.exit_code != 0:  # a file into an existing directory, as cp does
            target = target / posixpath.basename(src.rstrip("/"))
    parent = target.parent if target.parent.is_dir() else None
    if parent is None:
        raise InvalidArgumentError(f"{target.parent} is not a local directory")
    import tarfile

    staged = Path(tempfile.mkdtemp(prefix=".dynakube-cp-", dir=parent))
    try:
        stream = start_stream(handle, pod, ["tar", "cf", "-", src], container, stdin=False)
        with stream:
            stderr = bytearray()
            drained = _drain(stream.stderr, stderr)
            broken: tarfile.TarError | None = None
            try:
                is_dir = _unpack(io.BufferedReader(stream.stdout, 256 * 1024), prefix,
                                 staged)
            except tarfile.TarError as e:  # tar's own complaint, if any, says more
                broken = e
            _finish(stream, stderr, drained, f"cp {pod.name}:{src}")
            if broken is not None:
                raise InvalidArgumentError(f"cp {pod.name}:{src}: the container sent a "
                                           f"broken tar archive: {broken}") from broken
        if not is_dir and not (staged / "item").exists() and not (staged / "item").is_symlink():
            raise InvalidArgumentError(f"cp {pod.name}:{src}: the container sent no such "
                                       "file")
        _place(staged, target, is_dir)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return target


def copy_to(handle: _Handle, name: str, src: str | os.PathLike[str], dest: str, *,
            container: str | None = None, namespace: str | None = None) -> str:
    """``Resource.copy_to``: the local ``src`` to ``dest`` in the container."""
    dest = _remote_path(dest)
    source = Path(src)
    if not source.exists():
        raise InvalidArgumentError(f"{source} doesn't exist in local filesystem")
    pod = stream_pod(handle, name, namespace, "cp")
    remote = dest.rstrip("/") or "/"
    probe = run_command(handle, pod, ["test", "-d", remote], container)
    if probe.exit_code == 0:  # into an existing directory, as kubectl does
        remote = posixpath.join(remote, source.resolve().name)
    directory, base = posixpath.split(remote)
    command = ["tar", "-xmf", "-"] + (["-C", directory] if directory else [])
    import tarfile

    stream = start_stream(handle, pod, command, container, stdin=True)
    with stream:
        stderr = bytearray()
        drained = _drain(stream.stderr, stderr)
        out = _drain(stream.stdout, bytearray())
        assert stream.stdin is not None
        writer = io.BufferedWriter(stream.stdin, 256 * 1024)
        with tarfile.open(fileobj=writer, mode="w|") as tar:
            tar.add(source, arcname=base, recursive=True)
        writer.close()  # flushes, then closes stdin: tar in the container sees the end
        _finish(stream, stderr, drained, f"cp {source} {pod.name}:{dest}")
        if out is not None:
            out.join(5)
    return remote
