"""TLS settings held in memory: trust and client keys never wait on disk for an exit hook.

Inline ``certificate-authority-data`` is loaded straight into an :class:`ssl.SSLContext`.
``ssl`` reads a certificate chain only from a path, so inline ``client-key-data`` and exec
plugin keys go through an anonymous in-memory file (``memfd_create``, Linux) or, elsewhere,
a 0600 temporary file deleted as soon as ``load_cert_chain`` returns. Either way no key is
left behind by a process killed with SIGKILL. What a killed process did leave under
``$TMPDIR`` (a fallback file caught mid-load, a :class:`SecretFiles` directory of a tool
that needs real paths) is named after its process id, and swept by the next process that
writes such a file of its own, before it does (a process that writes none, such as every
one on Linux without :class:`SecretFiles`, never scans ``$TMPDIR``: that cost a cold
start about 0.35 ms).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import ssl
import tempfile
import threading
from typing import Any

from ..config.cluster import ClusterConfig
from ..errors import ConfigError

__all__ = ["TLSSettings", "SecretFiles", "sweep_stale_files", "PREFIX"]

#: Every file or directory dynakube puts in the temporary directory starts with this and the
#: owning process id (``dynakube-1234-...``), so a later process can tell whose it is.
PREFIX = "dynakube-"

_swept = False
_sweep_lock = threading.Lock()


class TLSSettings:
    """The TLS context of one transport: its trust, and the client certificate in use.

    Exec plugins may hand out a new certificate at any time; :meth:`use_client_certificate`
    then builds a new context, and because the context is part of urllib3's pool key, new
    connections use the new certificate while the old pool simply goes idle.
    """

    def __init__(self, config: ClusterConfig, default_ca_file: str | None):
        self.insecure = config.insecure_skip_tls_verify
        self._ca_file = config.certificate_authority or (None if config.certificate_authority_data
                                                         else default_ca_file)
        self._ca_data = config.certificate_authority_data
        # files named in the kubeconfig are read by urllib3 per connection, so a rotated
        # certificate on disk is picked up as client-go's ReloadTLSFiles does
        self.cert_file = config.client_certificate
        self.key_file = config.client_key
        inline: tuple[bytes, bytes] | None = None
        if config.client_certificate_data or config.client_key_data:
            cert = config.client_certificate_data
            key = config.client_key_data
            if cert is None and config.client_certificate:
                cert = _read(config.client_certificate)
            if key is None and config.client_key:
                key = _read(config.client_key)
            if cert and key:
                inline = (cert, key)
                self.cert_file = self.key_file = None
        self._lock = threading.Lock()
        self._client_cert = inline
        self.context = self._build(inline, "client-certificate-data/client-key-data")

    def use_client_certificate(self, pem: tuple[bytes, bytes]) -> None:
        """Switch to a certificate and key (PEM) from an exec plugin, if not already in use."""
        with self._lock:
            if pem != self._client_cert:
                self.context = self._build(pem, "the exec plugin's clientCertificateData/"
                                                "clientKeyData")
                self._client_cert = pem
                self.cert_file = self.key_file = None

    def pool_kwargs(self) -> dict[str, Any]:
        """What urllib3 needs for an HTTPS pool (and its pool key)."""
        return {"ssl_context": self.context, "cert_reqs": self.cert_reqs,
                "cert_file": self.cert_file, "key_file": self.key_file}

    @property
    def cert_reqs(self) -> str:
        return "CERT_NONE" if self.insecure else "CERT_REQUIRED"

    def _build(self, client_cert: tuple[bytes, bytes] | None, what: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # as client-go
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            try:
                if self._ca_data:
                    ctx.load_verify_locations(cadata=self._ca_data.decode("ascii", "replace"))
                elif self._ca_file:
                    ctx.load_verify_locations(cafile=self._ca_file)
                else:
                    ctx.load_default_certs()
            except (ssl.SSLError, OSError, ValueError) as e:
                source = ("certificate-authority-data" if self._ca_data
                          else f"certificate-authority {self._ca_file}")
                raise ConfigError(f"{source}: not a usable PEM certificate authority: "
                                  f"{_reason(e)}") from None
        if client_cert is not None:
            load_cert_chain(ctx, *client_cert, what=what)
        return ctx


def load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes, *, what: str) -> None:
    """Load a PEM certificate and key into ``ctx`` without leaving them in a file."""
    data = cert.rstrip(b"\n") + b"\n" + key
    try:
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            fd = os.memfd_create("dynakube-client-cert", os.MFD_CLOEXEC)
            try:
                _write_all(fd, data)
                ctx.load_cert_chain(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
            return
        sweep_stale_files()
        fd, path = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".pem")
        try:
            _write_all(fd, data)
            ctx.load_cert_chain(path)
        finally:
            os.close(fd)
            os.unlink(path)
    except (ssl.SSLError, OSError) as e:
        # the reason is OpenSSL's ("KEY_VALUES_MISMATCH", "PEM lib"): never the key itself
        raise ConfigError(f"{what}: not a usable certificate and private key: "
                          f"{_reason(e)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from e


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or getattr(error, "strerror", None) or error)


class SecretFiles:
    """A private (0700) temporary directory, for tools that need key material as paths.

    dynakube itself never uses it (see the module docstring); the benchmark hands paths to
    other libraries. The directory is removed by :meth:`remove` or at exit, and, named after
    this process, by :func:`sweep_stale_files` in a later process if this one is killed.
    """

    def __init__(self) -> None:
        self._dir: str | None = None
        self._lock = threading.Lock()

    def write(self, name: str, data: bytes) -> str:
        with self._lock:
            if self._dir is None:
                sweep_stale_files()
                self._dir = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
                os.chmod(self._dir, 0o700)
                atexit.register(self.remove)
            path = os.path.join(self._dir, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return path

    def remove(self) -> None:
        """Delete the directory now; the exit hook is then dropped so a closed owner is not
        kept alive until the interpreter exits."""
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
                atexit.unregister(self.remove)


def sweep_stale_files(directory: str | None = None) -> list[str]:
    """Remove ``dynakube-PID-*`` entries of this user whose process is gone; once per process
    unless ``directory`` is given. Returns what was removed."""
    global _swept
    with _sweep_lock:
        if directory is None:
            if _swept:
                return []
            _swept = True
        base = directory or tempfile.gettempdir()
        removed = []
        with contextlib.suppress(OSError), os.scandir(base) as entries:
            for entry in entries:
                pid = _owner_pid(entry.name)
                if pid is None or pid == os.getpid() or _alive(pid):
                    continue
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(entry.path)
        return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(PREFIX):
        return None
    pid, sep, _ = name[len(PREFIX):].partition("-")
    return int(pid) if sep and pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True
