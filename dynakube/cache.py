"""A small on-disk cache for documents the server rarely changes (discovery, OpenAPI).

A new process should not have to ask the server again what it asked a minute ago, and a
cached answer must never be the reason a program fails. So: one private directory per
server, every write atomic (a temporary file in the same directory, then ``os.replace``),
directories ``0700`` and files ``0600``, the server's ``Etag`` kept with each document, and
anything unreadable or corrupt treated as a miss (the next write replaces it). Only regular
files are read, and only up to a size cap: a cache file that is a FIFO, a link to
``/dev/zero`` or absurdly large is a miss too, never a hang or an unbounded read.

File format (one file per key, so body and Etag can never disagree): a one-line JSON header
``{"format": 1, "etag": ..., "length": N, "sha256": ...}`` followed by the body bytes. The
time a document was stored (or last confirmed by a ``304``) is the file's modification time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
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
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
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
    safe = _UNSAFE.sub("_", name).strip("._") or "server"
    if len(safe) > 120:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        safe = safe[:100] + "_" + digest
    return safe


class DiskCache:
    """Documents stored under one directory; ``DiskCache(None)`` is a cache that keeps nothing.

    ``max_bytes`` caps the size of a file that is read (a larger one is a miss) or written.
    """

    def __init__(self, directory: str | os.PathLike[str] | None, *,
                 max_bytes: int = MAX_FILE_BYTES):
        self.directory: Path | None = Path(directory) if directory is not None else None
        self.max_bytes = max_bytes

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
        not a regular file."""
        path = self.path(key)
        if path is None:
            return None
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
        header = json.dumps(
            {
                "format": _FORMAT,
                "etag": etag,
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
            separators=(",", ":"),
        ).encode("utf-8")
        if len(header) + 1 + len(body) > self.max_bytes:
            log.debug("not caching %s: %d bytes, more than %d", key, len(body), self.max_bytes)
            return
        tmp: str | None = None
        try:
            _make_private_dirs(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(header + b"\n" + body)
                fh.flush()
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            log.warning("could not write cache file %s: %s", path, exc)
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def touch(self, key: str) -> None:
        """Mark a stored document fresh again (the server answered ``304 Not Modified``)."""
        path = self.path(key)
        if path is None:
            return
        try:
            os.utime(path, None)
        except OSError as exc:
            log.debug("could not touch cache file %s: %s", path, exc)


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
