"""A small on-disk cache for documents the server rarely changes (discovery, OpenAPI).

A new process should not have to ask the server again what it asked a minute ago, and a
cached answer must never be the reason a program fails. So: one private directory per
server, every write atomic (a temporary file in the same directory, then ``os.replace``),
directories ``0700`` and files ``0600``, the server's ``Etag`` kept with each document, and
anything unreadable or corrupt treated as a miss (the next write replaces it). Only regular
files are read, and only up to a size cap: a cache file that is a FIFO, a link to
``/dev/zero`` or absurdly large is a miss too, never a hang or an unbounded read.

Writes happen behind the caller, on one thread for every cache in the process: a cold start
does not wait for the disk (two discovery files cost about as much as a request to a local
server), and the asyncio client's event loop never blocks on it. Until a write is on disk,
reads of its key answer from memory; :meth:`DiskCache.flush` waits for the disk, and a
process that exits waits for its writes first.

File format (one file per key, so body and Etag can never disagree): a one-line JSON header
``{"format": 1, "etag": ..., "length": N, "sha256": ...}`` followed by the body bytes. The
time a document was stored (or last confirmed by a ``304``) is the file's modification time.
"""

from __future__ import annotations

import _thread
import atexit
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

from ._record import Record
from .errors import InvalidArgumentError

__all__ = ["CacheEntry", "DiskCache", "MAX_FILE_BYTES", "default_cache_base"]

log = logging.getLogger(__name__)

_FORMAT = 1
_MAX_HEADER = 64 * 1024
#: The largest cache file read (header included); big CRD-heavy OpenAPI documents stay under.
MAX_FILE_BYTES = 128 * 1024 * 1024
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class CacheEntry(Record):
    """One cached document: its bytes, the server's ``Etag`` and when it was last known fresh."""

    body: bytes
    etag: str | None
    stored_at: float


def default_cache_base() -> Path:
    """``$DYNAKUBE_CACHE_DIR``, else ``$XDG_CACHE_HOME/dynakube``, else ``~/.cache/dynakube``."""
    explicit = os.environ.get("DYNAKUBE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "dynakube"
    return Path.home() / ".cache" / "dynakube"


def _replace_unsafe(name: str) -> str:
    """Each run of characters outside ``[A-Za-z0-9._-]`` becomes one ``_`` (a loop, not a
    regex: compiling one cost each process more than this does)."""
    out: list[str] = []
    in_run = False
    for ch in name:
        if ch in _SAFE:
            out.append(ch)
            in_run = False
        elif not in_run:
            out.append("_")
            in_run = True
    return "".join(out)


def _server_dir_name(server_url: str) -> str:
    """``https://10.0.0.1:6443`` -> ``https_10.0.0.1_6443``; a path prefix is kept too."""
    parts = urlsplit(server_url.strip())
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or parts.path or "unknown").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    name = f"{scheme}_{host}_{port}"
    path = parts.path.strip("/") if parts.hostname else ""
    if path:
        name += "_" + path
    safe = _replace_unsafe(name).strip("._") or "server"
    if len(safe) > 120:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        safe = safe[:100] + "_" + digest
    return safe


class DiskCache:
    """Documents stored under one directory; ``DiskCache(None)`` is a cache that keeps nothing.

    ``max_bytes`` caps the size of a file that is read (a larger one is a miss) or written.
    ``write_behind=False`` writes before :meth:`write` and :meth:`touch` return.
    """

    def __init__(self, directory: str | os.PathLike[str] | None, *,
                 max_bytes: int = MAX_FILE_BYTES, write_behind: bool = True):
        self.directory: Path | None = Path(directory) if directory is not None else None
        self.max_bytes = max_bytes
        self.write_behind = write_behind

    @classmethod
    def for_server(cls, server_url: str, base: str | os.PathLike[str] | None = None) -> DiskCache:
        """The cache directory for one server (scheme, host and port made safe for a file name)."""
        root = Path(base).expanduser() if base is not None else default_cache_base()
        return cls(root / _server_dir_name(server_url))

    @property
    def enabled(self) -> bool:
        """False for ``DiskCache(None)``, whose reads always miss."""
        return self.directory is not None

    def __repr__(self) -> str:
        return f"DiskCache({str(self.directory) if self.directory else None!r})"

    def path(self, key: str) -> Path | None:
        """Where ``key`` lives on disk (``None`` for a disabled cache)."""
        if self.directory is None:
            return None
        return self.directory.joinpath(*_split_key(key))

    def read(self, key: str) -> CacheEntry | None:
        """The stored document, or ``None`` when absent, unreadable, corrupt, too large or
        not a regular file. A write or touch not on disk yet is answered from memory."""
        path = self.path(key)
        if path is None:
            return None
        pending = _WRITER.pending(path)
        if pending is not None and pending.body is not None:
            return CacheEntry(body=pending.body, etag=pending.etag, stored_at=pending.at)
        entry = self._read_file(path)
        if entry is not None and pending is not None:  # touched, the new time not on disk yet
            return entry.replace(stored_at=pending.at)
        return entry

    def _read_file(self, path: Path) -> CacheEntry | None:
        try:
            raw, stored_at = self._read_regular(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.debug("ignoring unreadable cache file %s: %s", path, exc)
            return None
        if raw is None:
            return None
        entry = _decode(raw, stored_at)
        if entry is None:
            log.debug("ignoring corrupt cache file %s", path)
        return entry

    def _read_regular(self, path: Path) -> tuple[bytes | None, float]:
        """The bytes of a regular file of at most ``max_bytes`` (``None`` for anything else).

        ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer;
        the type and size are checked on the opened file, so a swap in between cannot fool it.
        """
        fd = os.open(path, _READ_FLAGS)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                log.debug("ignoring cache file %s: not a regular file", path)
                return None, 0.0
            if info.st_size > self.max_bytes:
                log.debug("ignoring cache file %s: %d bytes, more than %d", path,
                          info.st_size, self.max_bytes)
                return None, 0.0
            raw = fh.read(self.max_bytes + 1)  # it may have grown since fstat
        if len(raw) > self.max_bytes:
            return None, 0.0
        return raw, info.st_mtime

    def write(self, key: str, body: bytes, etag: str | None = None) -> None:
        """Store ``body`` (and its ``Etag``) atomically; failures are logged, never raised."""
        path = self.path(key)
        if path is None:
            return
        if len(_header(body, etag, digest="0" * 64)) + 1 + len(body) > self.max_bytes:
            log.debug("not caching %s: %d bytes, more than %d", key, len(body), self.max_bytes)
            return
        self._submit(path, _Pending(body, etag, time.time()))

    def touch(self, key: str) -> None:
        """Mark a stored document fresh again (the server answered ``304 Not Modified``)."""
        path = self.path(key)
        if path is not None:
            self._submit(path, _Pending(None, None, time.time()))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write and touch so far, of every cache in the process, is on
        disk (or given up, and logged); ``False`` if ``timeout`` seconds passed first."""
        return _WRITER.wait(timeout)

    def _submit(self, path: Path, change: _Pending) -> None:
        writer = _WRITER
        writer.put(path, change, behind=self.write_behind)
        if not self.write_behind:
            writer.apply(path)


class _Pending:
    """A write (``body`` set) or a touch not on disk yet, and when it was made (the file's
    time once it is)."""

    __slots__ = ("body", "etag", "at")

    def __init__(self, body: bytes | None, etag: str | None, at: float):
        self.body, self.etag, self.at = body, etag, at


def _header(body: bytes, etag: str | None, digest: str | None = None) -> bytes:
    """The file's first line: ``{"format":1,"etag":...,"length":N,"sha256":...}``."""
    digest = digest or hashlib.sha256(body).hexdigest()
    return (f'{{"format":{_FORMAT},"etag":{json.dumps(etag)},"length":{len(body)},'
            f'"sha256":"{digest}"}}').encode()


def _store(path: Path, data: bytes, at: float) -> None:
    """Write ``data`` to ``path`` atomically, dated ``at`` (when it was fetched)."""
    tmp: str | None = None
    try:
        _make_private_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.utime(fh.fileno(), (at, at))
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


class _Writer:
    """The changes not on disk yet, by file, for every cache in the process (so a second
    client reads what the first one fetched), and the one thread that carries them out.

    The thread is started when there is work and is gone after ``_LINGER`` seconds without
    (a cold start writes ``/api``'s document, then a round trip later ``/apis``'s). It is a
    bare ``_thread`` thread: ``threading.Thread.start`` waits until the new thread runs,
    which cost a cold start more than the writes it takes off it. A change waits ``_SETTLE``
    seconds after it is queued, unless somebody waits for it: the Python code of a write
    (directories, temporary file, rename) holds the GIL, and done at once it slowed the
    requests that follow a cold discovery by more than the write costs (``bench/run.py
    --only discovery``). A process that exits waits for the changes first (``atexit``, at
    most ``_EXIT_WAIT`` seconds), and they go at once then; it does not wait for the thread.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._changed = threading.Condition(self.lock)  # notified as changes land
        self._work = threading.Condition(self.lock)  # notified as changes are queued
        self._pending: dict[Path, _Pending] = {}
        self._queue: deque[tuple[Path, float]] = deque()  # and when it was queued
        self._running = False
        self._waiting = 0  # callers of wait(): what is queued goes now, not after _SETTLE

    def pending(self, path: Path) -> _Pending | None:
        with self.lock:
            return self._pending.get(path)

    def put(self, path: Path, change: _Pending, *, behind: bool) -> None:
        """Record ``change``; ``behind``: queue it for the thread (else the caller applies it)."""
        with self.lock:
            before = self._pending.get(path)
            if change.body is None and before is not None and before.body is not None:
                change = _Pending(before.body, before.etag, change.at)  # a touch of a write
            self._pending[path] = change
            if not behind:
                return
            self._queue.append((path, time.monotonic()))
            if self._running:
                self._work.notify()
                return
            self._running = True
        try:
            _thread.start_new_thread(self._run, (_LINGER,))
        except RuntimeError:  # no new thread to be had: write here
            self._run(0.0)

    def _run(self, linger: float) -> None:
        """The writer thread (``linger`` 0: the caller, when no thread could be had)."""
        while True:
            with self.lock:
                if not self._queue and linger:
                    self._work.wait(linger)
                if not self._queue:
                    self._running = False
                    return
                path, queued = self._queue[0]
                settle = queued + _SETTLE - time.monotonic()
                if linger and settle > 0 and not self._waiting:
                    self._work.wait(settle)  # woken early by wait()
                    continue
                self._queue.popleft()
            try:
                self.apply(path)
            except Exception:  # a bug here must not stop every later write
                log.exception("the cache writer failed for %s", path)

    def apply(self, path: Path) -> None:
        """Carry out what is pending for ``path``."""
        with self.lock:
            change = self._pending.get(path)
        if change is None:
            return  # an earlier turn already wrote the latest
        try:
            if change.body is None:
                os.utime(path, (change.at, change.at))
            else:
                _store(path, _header(change.body, change.etag) + b"\n" + change.body, change.at)
        except OSError as exc:
            level = logging.DEBUG if change.body is None else logging.WARNING
            log.log(level, "could not %s cache file %s: %s",
                    "touch" if change.body is None else "write", path, exc)
        finally:
            with self.lock:
                if self._pending.get(path) is change:
                    del self._pending[path]
                self._changed.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Until nothing is pending; ``False`` if ``timeout`` passed first."""
        with self.lock:
            self._waiting += 1
            self._work.notify()
            try:
                return self._changed.wait_for(lambda: not self._pending, timeout)
            finally:
                self._waiting -= 1


_LINGER = 1.0
_SETTLE = 0.2
#: How long an exiting process waits for its cache writes: a cache on a filesystem that
#: hangs must not hang the exit for good (what is not written is fetched again next time).
_EXIT_WAIT = 30.0
_WRITER = _Writer()


@atexit.register
def _write_before_exit() -> None:
    if not _WRITER.wait(_EXIT_WAIT):
        log.warning("gave up waiting %g s for cache writes at exit", _EXIT_WAIT)


def _after_fork() -> None:
    """A child has no writer thread, and its copy of the lock may be held by one: it starts
    empty (what was pending is the parent's to write)."""
    global _WRITER
    _WRITER = _Writer()


os.register_at_fork(after_in_child=_after_fork)


def _split_key(key: str) -> list[str]:
    parts = key.replace("\\", "/").split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgumentError(
            f"cache key {key!r} must be a relative path such as 'discovery/apis.json'"
        )
    return parts


def _make_private_dirs(leaf: Path) -> None:
    """Create ``leaf`` and its missing parents, each one mode 0700 whatever the umask."""
    missing: list[Path] = []
    current = leaf
    while not current.is_dir():
        missing.append(current)
        if current == current.parent:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(directory, 0o700)


def _decode(raw: bytes, stored_at: float) -> CacheEntry | None:
    newline = raw.find(b"\n", 0, _MAX_HEADER)
    if newline < 0:
        return None
    try:
        header = json.loads(raw[:newline])
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        return None
    body = raw[newline + 1 :]
    etag = header.get("etag")
    if header.get("length") != len(body) or not isinstance(etag, str | None):
        return None
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        return None
    return CacheEntry(body=body, etag=etag, stored_at=stored_at)
