"""Where credentials come from: static tokens, rotating token files, basic auth, exec plugins.

Each source answers ``current()`` with the headers (and, for exec plugins, client certificate
files) to attach, and ``unauthorized()`` after a 401 so the transport can retry once with
fresh credentials. No HTTP here: the transport attaches what these return.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..config.load import ClusterConfig, ExecConfig
from ..errors import ConfigError

__all__ = [
    "Credentials",
    "CredentialSource",
    "StaticCredentials",
    "TokenFile",
    "ExecPlugin",
    "SecretFiles",
    "credential_source",
]


@dataclass(frozen=True)
class Credentials:
    """What to attach to a request: headers, and client certificate files if any."""

    headers: dict[str, str] = field(default_factory=dict)
    cert: tuple[str, str] | None = None


class CredentialSource(Protocol):
    def current(self) -> Credentials: ...

    def unauthorized(self) -> bool:
        """Forget cached credentials after a 401; True when a retry may now succeed."""
        ...


class SecretFiles:
    """A private (0700) temporary directory for key material that must exist as files.

    ``requests`` only takes certificates and keys as paths, so inline kubeconfig data and exec
    plugin certificates are written here, and the directory is removed at exit.
    """

    def __init__(self) -> None:
        self._dir: str | None = None
        self._lock = threading.Lock()

    def write(self, name: str, data: bytes) -> str:
        with self._lock:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="dynakube-")
                os.chmod(self._dir, 0o700)
                atexit.register(self.remove)
            path = os.path.join(self._dir, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return path

    def remove(self) -> None:
        """Delete the directory now (``Transport.close``); the exit hook is then dropped so
        a closed transport is not kept alive until the interpreter exits."""
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
                atexit.unregister(self.remove)


class StaticCredentials:
    """A bearer token or username/password from the kubeconfig: never changes."""

    def __init__(self, headers: dict[str, str]):
        self._credentials = Credentials(headers)

    def current(self) -> Credentials:
        return self._credentials

    def unauthorized(self) -> bool:
        return False


class TokenFile:
    """A bearer token read from a file that rotates (service accounts): re-read every minute."""

    def __init__(self, path: str, *, reread_after: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.path = path
        self._reread_after = reread_after
        self._clock = clock
        self._token: str | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def _read(self) -> str:
        try:
            token = Path(self.path).read_text().strip()
        except OSError as e:
            raise ConfigError(f"cannot read token file {self.path}: {e.strerror}") from e
        if not token:
            raise ConfigError(f"token file {self.path} is empty")
        return token

    def current(self) -> Credentials:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._read_at >= self._reread_after:
                self._token = self._read()
                self._read_at = now
            return Credentials({"Authorization": f"Bearer {self._token}"})

    def unauthorized(self) -> bool:
        with self._lock:
            old, self._token = self._token, None
        return self._read() != old


def _parse_time(value: Any) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError, TypeError) as e:  # not an RFC 3339 string
        raise ConfigError(f"exec plugin returned a bad expirationTimestamp {value!r}") from e


class ExecPlugin:
    """A client-go credential plugin: run the command, cache its answer until it expires."""

    def __init__(self, config: ExecConfig, cluster: dict[str, Any], files: SecretFiles, *,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self._cluster = cluster
        self._files = files
        self._clock = clock
        self._cached: Credentials | None = None
        self._expires: float | None = None
        self._runs = 0
        self._lock = threading.Lock()

    def current(self) -> Credentials:
        with self._lock:
            if self._cached is None or (self._expires is not None
                                        and self._clock() >= self._expires):
                self._cached, self._expires = self._run()
            return self._cached

    def unauthorized(self) -> bool:
        with self._lock:
            self._cached = None
        return True

    def _exec_info(self, interactive: bool) -> str:
        spec: dict[str, Any] = {"interactive": interactive}
        if self.config.provide_cluster_info:
            spec["cluster"] = self._cluster
        return json.dumps({"apiVersion": self.config.api_version, "kind": "ExecCredential",
                           "spec": spec})

    def _run(self) -> tuple[Credentials, float | None]:
        cfg = self.config
        tty = sys.stdin is not None and sys.stdin.isatty()
        if cfg.interactive_mode == "Always" and not tty:
            raise ConfigError(f"exec plugin {cfg.command!r} needs an interactive terminal "
                              "(interactiveMode: Always) but standard input is not one")
        interactive = tty and cfg.interactive_mode != "Never"
        env = dict(os.environ)
        env.update(dict(cfg.env))
        env["KUBERNETES_EXEC_INFO"] = self._exec_info(interactive)
        hint = f"; {cfg.install_hint}" if cfg.install_hint else ""
        import subprocess  # only exec-plugin users pay for importing it

        try:
            proc = subprocess.run(
                [cfg.command, *cfg.args], env=env, stdout=subprocess.PIPE,
                stdin=None if interactive else subprocess.DEVNULL,
                timeout=None if interactive else 120, check=False,
            )
        except FileNotFoundError as e:
            raise ConfigError(f"exec plugin {cfg.command!r} was not found{hint}") from e
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ConfigError(f"exec plugin {cfg.command!r} could not run: {e}") from e
        self._runs += 1
        if proc.returncode != 0:
            raise ConfigError(f"exec plugin {cfg.command!r} failed with exit code "
                              f"{proc.returncode}{hint}")
        try:
            answer = json.loads(proc.stdout)
            status = answer["status"]
            if not isinstance(status, dict):
                raise TypeError("status is not an object")
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"exec plugin {cfg.command!r} did not print an ExecCredential "
                              f"with a status: {e}") from e
        if answer.get("apiVersion") != cfg.api_version:
            raise ConfigError(f"exec plugin {cfg.command!r} answered apiVersion "
                              f"{answer.get('apiVersion')!r}, expected {cfg.api_version!r}")
        expires = status.get("expirationTimestamp")
        expiry = _parse_time(expires) if expires else None
        token = status.get("token")
        if token and isinstance(token, str):
            return Credentials({"Authorization": f"Bearer {token}"}), expiry
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if cert and key and isinstance(cert, str) and isinstance(key, str):
            n = self._runs
            paths = (self._files.write(f"exec-{n}.crt", cert.encode()),
                     self._files.write(f"exec-{n}.key", key.encode()))
            return Credentials({}, paths), expiry
        raise ConfigError(f"exec plugin {cfg.command!r} returned neither a token nor a client "
                          "certificate and key (as strings)")

    @property
    def runs(self) -> int:
        """How many times the plugin has been run (for diagnostics)."""
        return self._runs


def _cluster_info(config: ClusterConfig) -> dict[str, Any]:
    """The ``spec.cluster`` an exec plugin gets with ``provideClusterInfo``."""
    info: dict[str, Any] = {"server": config.server}
    ca = config.certificate_authority_data
    if ca is None and config.certificate_authority:
        try:
            ca = Path(config.certificate_authority).read_bytes()
        except OSError:
            ca = None
    if ca:
        info["certificate-authority-data"] = base64.b64encode(ca).decode()
    if config.tls_server_name:
        info["tls-server-name"] = config.tls_server_name
    if config.insecure_skip_tls_verify:
        info["insecure-skip-tls-verify"] = True
    if config.proxy_url:
        info["proxy-url"] = config.proxy_url
    if config.exec is not None and config.exec.cluster_config is not None:
        info["config"] = config.exec.cluster_config
    return info


def credential_source(config: ClusterConfig, files: SecretFiles) -> CredentialSource | None:
    """The one credential source the configuration names (config loading refused two)."""
    if config.token:
        return StaticCredentials({"Authorization": f"Bearer {config.token}"})
    if config.token_file:
        return TokenFile(config.token_file)
    if config.username or config.password:  # client-go sends basic auth if either is set
        raw = f"{config.username or ''}:{config.password or ''}".encode()
        return StaticCredentials({"Authorization": "Basic " + base64.b64encode(raw).decode()})
    if config.exec is not None:
        return ExecPlugin(config.exec, _cluster_info(config), files)
    return None
