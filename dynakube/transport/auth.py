"""Where credentials come from: static tokens, rotating token files, basic auth, exec plugins.

Each source answers ``current()`` with the headers (and, for exec plugins, a client
certificate and key as PEM data) to attach, and ``unauthorized()`` after a 401 so the
transport can retry once with fresh credentials. No HTTP here: the transport attaches what
these return.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .._record import Record, field
from ..config.cluster import ClusterConfig, ExecConfig, token_defect
from ..errors import ConfigError

__all__ = [
    "Credentials",
    "CredentialSource",
    "StaticCredentials",
    "TokenFile",
    "ExecPlugin",
    "credential_source",
]


class Credentials(Record):
    """What to attach to a request: headers, and a client certificate and key (PEM) if any.

    The certificate is data, never a path: the transport loads it into its TLS context.
    """

    headers: dict[str, str] = field(default_factory=dict)
    cert: tuple[bytes, bytes] | None = field(default=None, repr=False)


class CredentialSource(Protocol):
    def current(self) -> Credentials: ...

    def unauthorized(self) -> bool:
        """Forget cached credentials after a 401; True when a retry may now succeed."""
        ...


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
        defect = token_defect(token)
        if defect:
            raise ConfigError(f"token file {self.path}: the token contains {defect}; a bearer "
                              "token is one line of printable ASCII")
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

    def __init__(self, config: ExecConfig, cluster: dict[str, Any], *,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self._cluster = cluster
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
        try:
            return json.dumps({"apiVersion": self.config.api_version, "kind": "ExecCredential",
                               "spec": spec}, allow_nan=False)
        except (ValueError, TypeError, RecursionError) as e:  # a circular or odd extension
            raise ConfigError(f"exec plugin {self.config.command!r}: the cluster's "
                              f"client.authentication.k8s.io/exec extension cannot be sent as "
                              f"JSON ({type(e).__name__}: {str(e)[:100]}); it must be plain, "
                              "finite JSON that does not refer to itself") from None

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
            defect = token_defect(token)
            if defect:
                raise ConfigError(f"exec plugin {cfg.command!r} returned a token that "
                                  f"contains {defect}; a bearer token is one line of "
                                  "printable ASCII")
            return Credentials({"Authorization": f"Bearer {token}"}), expiry
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if cert and key and isinstance(cert, str) and isinstance(key, str):
            return Credentials({}, (cert.encode(), key.encode())), expiry
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


def credential_source(config: ClusterConfig) -> CredentialSource | None:
    """The one credential source the configuration names (config loading refused two)."""
    if config.token:
        defect = token_defect(config.token)
        if defect:  # a hand-made ClusterConfig skips check_config
            raise ConfigError(f"the token of {config.user_name or 'the user'} contains "
                              f"{defect}; a bearer token is one line of printable ASCII")
        return StaticCredentials({"Authorization": f"Bearer {config.token}"})
    if config.token_file:
        return TokenFile(config.token_file)
    if config.username or config.password:  # client-go sends basic auth if either is set
        raw = f"{config.username or ''}:{config.password or ''}".encode()
        return StaticCredentials({"Authorization": "Basic " + base64.b64encode(raw).decode()})
    if config.exec is not None:
        return ExecPlugin(config.exec, _cluster_info(config))
    return None
