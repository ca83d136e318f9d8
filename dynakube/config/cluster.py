"""Cluster configuration: which server to talk to, as whom, and how to trust it.

A :class:`ClusterConfig` is an immutable value built in one of three ways: from kubeconfig
files merged exactly as kubectl merges them (:meth:`ClusterConfig.from_kubeconfig`; the files
are read by :mod:`dynakube.config.kubeconfig`, which knows nothing of this class), from the
pod's service account (:meth:`ClusterConfig.from_incluster`), or by hand
(:meth:`ClusterConfig.for_server`). :func:`check_config` holds every one of them to
client-go's rules; whatever cannot be used raises :class:`~dynakube.errors.ConfigError`
naming the file and the key to fix, and never echoes a secret.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from .._record import Record, field
from ..errors import ConfigError

if TYPE_CHECKING:  # the kubeconfig reader loads only when a kubeconfig is read
    from .kubeconfig import KubeconfigEntry, KubeconfigPaths

__all__ = [
    "ClusterConfig",
    "ExecConfig",
    "SERVICE_ACCOUNT_DIR",
    "check_config",
    "check_no_userinfo",
    "incluster_missing",
    "redact_url",
    "token_defect",
]

log = logging.getLogger(__name__)

#: Where a pod finds its service-account token, CA and namespace (read at call time, so tests
#: may point it elsewhere).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
_HIDDEN = "<hidden>"


class ExecConfig(Record):
    """A client-go credential plugin (``users[].user.exec``).

    ``command`` is absolute when the kubeconfig gave a path relative to its own directory;
    a bare name is looked up on ``PATH``. ``cluster_config`` is the cluster's
    ``extensions[client.authentication.k8s.io/exec]`` value, handed to the plugin in
    ``KUBERNETES_EXEC_INFO`` when ``provide_cluster_info`` is set. The repr hides env values.
    """

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"  # Never | IfAvailable | Always
    install_hint: str | None = None
    cluster_config: Any = field(default=None, hash=False)

    def __repr__(self) -> str:
        parts = [f"command={self.command!r}"]
        if self.args:
            parts.append(f"args={self.args!r}")
        if self.env:
            parts.append("env=(" + ", ".join(f"{n}={_HIDDEN}" for n, _ in self.env) + ")")
        parts.append(f"api_version={self.api_version!r}")
        parts.append(f"interactive_mode={self.interactive_mode!r}")
        if self.provide_cluster_info:
            parts.append("provide_cluster_info=True")
        return "ExecConfig(" + ", ".join(parts) + ")"


_SECRET_FIELDS = frozenset({"token", "password", "client_key", "client_key_data"})


class ClusterConfig(Record):
    """Everything needed to talk to one API server as one user. Immutable; repr hides secrets.

    ``server`` has a scheme and no trailing slash, and never credentials (``user:pass@`` is
    refused: it would end up in every message that names the server). At most one of token
    (``token`` and/or ``token_file``), basic auth and ``exec`` is set; client certificates may
    come with any of them. ``token_file`` is kept as a path because the token rotates.
    """

    server: str
    namespace: str = "default"
    context: str | None = None
    cluster_name: str | None = None
    user_name: str | None = None
    source: str = ""  # the kubeconfig file(s) (os.pathsep-joined) or "in-cluster"
    # TLS and the wire
    certificate_authority: str | None = None  # path
    certificate_authority_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    disable_compression: bool = False  # no Accept-Encoding: gzip (kubeconfig's key)
    client_certificate: str | None = None  # path
    client_certificate_data: bytes | None = field(default=None, repr=False)
    client_key: str | None = field(default=None, repr=False)  # path
    client_key_data: bytes | None = field(default=None, repr=False)
    # credentials (at most one method besides client certificates)
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    exec: ExecConfig | None = None
    # impersonation
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        # The one check every way of building a config passes, so no caller can hold a
        # server URL whose password would show in a repr, a log line or an error.
        check_no_userinfo(self.server, "ClusterConfig(server=...)")

    def __repr__(self) -> str:
        parts = []
        for name in self._record.names:
            value = getattr(self, name)
            if name != "server" and value == self._record.specs[name].default:
                continue
            if name in _SECRET_FIELDS:
                shown = _HIDDEN
            elif isinstance(value, bytes):
                shown = f"<{len(value)} bytes>"
            elif name in ("proxy_url", "server"):
                shown = repr(redact_url(value))
            else:
                shown = repr(value)
            parts.append(f"{name}={shown}")
        return "ClusterConfig(" + ", ".join(parts) + ")"

    @classmethod
    def from_kubeconfig(
        cls, path_or_paths: KubeconfigPaths = None, context: str | None = None
    ) -> ClusterConfig:
        """Load kubeconfig file(s) as kubectl does, without the in-cluster fallback.

        One path is explicit (missing is an error); a sequence is merged like ``KUBECONFIG``
        (missing files skipped, duplicates ignored); None means ``$KUBECONFIG``, else
        ``~/.kube/config``. ``context`` overrides the files' ``current-context``.
        """
        from .kubeconfig import Kubeconfig

        return cls.from_entry(Kubeconfig.load(path_or_paths).select(context))

    @classmethod
    def from_entry(cls, entry: KubeconfigEntry) -> ClusterConfig:
        """The checked config for one context of loaded kubeconfig files."""
        values = dict(entry.values)
        check_no_userinfo(values.get("server") or "", entry.where("server"))
        if values.get("exec") is not None:
            values["exec"] = ExecConfig(**values["exec"])
        return check_config(cls(**values), entry.where)

    @classmethod
    def from_incluster(cls, directory: str | os.PathLike[str] | None = None) -> ClusterConfig:
        """The pod's own service account: ``KUBERNETES_SERVICE_HOST``/``_PORT``, token, CA.

        ``directory`` defaults to :data:`SERVICE_ACCOUNT_DIR`. The token is not read into the
        value: ``token_file`` points at it because the kubelet rotates it.
        """
        base = os.fspath(directory) if directory is not None else SERVICE_ACCOUNT_DIR
        host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
        if not host or not port:
            raise ConfigError(
                "not running inside a cluster: KUBERNETES_SERVICE_HOST and "
                "KUBERNETES_SERVICE_PORT must both be set (they are set in every pod)"
            )
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        token_file = os.path.join(base, "token")
        _check_readable(token_file, f"in-cluster service-account token {token_file}",
                        "mount a service-account token (automountServiceAccountToken)")
        ca_file: str | None = os.path.join(base, "ca.crt")
        if not os.access(os.path.join(base, "ca.crt"), os.R_OK):
            log.error("in-cluster CA %s is not readable; using the system trust store", ca_file)
            ca_file = None
        namespace = os.environ.get("POD_NAMESPACE", "") or _read_text(
            os.path.join(base, "namespace")
        )
        return cls(
            server=f"https://{host}:{port}",
            namespace=namespace or "default",
            source="in-cluster",
            certificate_authority=ca_file,
            token_file=token_file,
        )

    @classmethod
    def for_server(
        cls,
        url: str,
        token: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        *,
        ca_data: bytes | str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        client_certificate: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        insecure_skip_tls_verify: bool = False,
        tls_server_name: str | None = None,
        proxy_url: str | None = None,
        namespace: str = "default",
    ) -> ClusterConfig:
        """A config for a server given by hand, checked like a kubeconfig entry would be."""
        check_no_userinfo(url, "ClusterConfig.for_server(url=...)")
        config = cls(
            server=url,
            namespace=namespace,
            source="ClusterConfig.for_server()",
            certificate_authority=_opt_path(ca_file),
            certificate_authority_data=ca_data.encode() if isinstance(ca_data, str) else ca_data,
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            tls_server_name=tls_server_name,
            proxy_url=proxy_url,
            client_certificate=_opt_path(client_certificate),
            client_key=_opt_path(client_key),
            token=token,
            token_file=_opt_path(token_file),
            username=username,
            password=password,
        )
        params = {"server": "url", "certificate_authority": "ca_file",
                  "certificate_authority_data": "ca_data"}
        return check_config(config,
                            lambda f: f"ClusterConfig.for_server({params.get(f, f)}=...)")


def incluster_missing() -> str:
    """Why this process cannot use the in-cluster config ("" when it can)."""
    if not os.environ.get("KUBERNETES_SERVICE_HOST") or not os.environ.get(
        "KUBERNETES_SERVICE_PORT"
    ):
        return "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT not set"
    token = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not os.path.isfile(token):
        return f"no service-account token at {token}"
    return ""


# --- checks shared by kubeconfig entries and for_server --------------------------------------


def check_config(config: ClusterConfig, where: Callable[[str], str]) -> ClusterConfig:
    """Validate ``config`` as client-go does and return it normalized.

    Shared by kubeconfig entries and :meth:`ClusterConfig.for_server`, so a hand-made config
    is held to the same rules as a file. ``where(field_name)`` says where a field came from
    (file and key) for error messages.

    Normalizing: the server gets a scheme and loses a trailing slash; a client key without a
    certificate is dropped, and so is ``exec`` when a token, basic auth or a client
    certificate is present (client-go never runs the plugin then).
    """
    changes: dict[str, Any] = {"server": _server_url(config, where)}
    if config.proxy_url:
        proxy = _split(config.proxy_url)
        if proxy is None or proxy.scheme not in ("http", "https", "socks5") or not proxy.netloc:
            raise ConfigError(f"{where('proxy_url')}: invalid proxy URL "
                              f"{redact_url(config.proxy_url)!r}: the scheme must be http, "
                              "https or socks5")
    has_ca = bool(config.certificate_authority or config.certificate_authority_data)
    if config.certificate_authority and config.certificate_authority_data:
        raise ConfigError(f"{where('certificate_authority')}: both certificate-authority and "
                          "certificate-authority-data are set; keep only one")
    if config.certificate_authority:
        _check_readable(config.certificate_authority, where("certificate_authority"),
                        "fix the path (relative paths are relative to the kubeconfig file)")
    if config.insecure_skip_tls_verify and has_ca:
        raise ConfigError(f"{where('insecure_skip_tls_verify')}: insecure-skip-tls-verify "
                          "cannot be combined with a certificate authority; remove one of them")
    has_cert = bool(config.client_certificate or config.client_certificate_data)
    if has_cert:
        if config.client_certificate and config.client_certificate_data:
            raise ConfigError(f"{where('client_certificate')}: both client-certificate and "
                              "client-certificate-data are set; keep only one")
        if config.client_key and config.client_key_data:
            raise ConfigError(f"{where('client_key')}: both client-key and client-key-data "
                              "are set; keep only one")
        if not (config.client_key or config.client_key_data):
            raise ConfigError(f"{where('client_certificate')}: a client certificate needs a "
                              "key: set client-key or client-key-data")
        for name in ("client_certificate", "client_key"):
            path = getattr(config, name)
            if path:
                _check_readable(path, where(name), "fix the path (relative paths are "
                                "relative to the kubeconfig file)")
    else:
        changes.update(client_key=None, client_key_data=None)
    if config.token:
        defect = token_defect(config.token)
        if defect:
            raise ConfigError(f"{where('token')}: the token contains {defect}; a bearer token "
                              "is one line of printable ASCII (a YAML '|' block keeps a "
                              "trailing newline: use '|-' or a plain string)")
    # client-go counts token and tokenFile as one method ("token")
    methods = [m for m, on in (("token", config.token or config.token_file),
                               ("basicAuth", config.username or config.password)) if on]
    if len(methods) > 1:
        raise ConfigError(f"{where('token')}: more than one authentication method found "
                          f"({', '.join(methods)}); only one is allowed: remove token/tokenFile "
                          "or username/password")
    if config.token_file and not config.token:
        _check_readable(config.token_file, where("token_file"), "fix the path")
    if config.exec is not None:
        _check_exec(config.exec, where)
        if methods or config.token_file or has_cert:
            changes["exec"] = None
    if (config.impersonate_uid or config.impersonate_groups or config.impersonate_extra) and (
        not config.impersonate
    ):
        raise ConfigError(f"{where('impersonate')}: as-uid, as-groups or as-user-extra "
                          "require a user to impersonate: set 'as'")
    return config.replace(**changes)


def token_defect(token: str) -> str:
    """What makes ``token`` unusable in an ``Authorization`` header ("" when nothing).

    Says where, never what: the message must not carry the token itself.
    """
    for i, ch in enumerate(token):
        if ch in "\r\n":
            return f"a line break (at character {i + 1})"
        if not " " <= ch <= "~":
            return f"a control or non-ASCII character (at character {i + 1})"
    return ""


def check_no_userinfo(url: str, at: str) -> None:
    """Refuse ``scheme://user:pass@host``: dynakube never sends URL credentials, and a URL is
    shown in reprs, logs and errors, so a password in it would leak everywhere."""
    if redact_url(url) != url:
        raise ConfigError(f"{at}: the server URL {redact_url(url)!r} has credentials in it; "
                          "remove them from the URL and set a token, client certificate or "
                          "username/password for the user instead")


def _server_url(config: ClusterConfig, where: Callable[[str], str]) -> str:
    server = (config.server or "").strip()
    if not server:
        cluster = f" for cluster {config.cluster_name!r}" if config.cluster_name else ""
        raise ConfigError(f"{where('server')}: no server found{cluster}: set the API server "
                          "URL (https://HOST[:PORT])")
    if "://" not in server:  # host:port, as client-go accepts: pick the scheme from TLS
        tls = bool(config.certificate_authority or config.certificate_authority_data
                   or config.client_certificate or config.client_certificate_data
                   or config.insecure_skip_tls_verify or config.tls_server_name)
        server = ("https://" if tls else "http://") + server
    parts = _split(server)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where('server')}: {server!r} is not a usable server URL; "
                          "expected https://HOST[:PORT]")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))


def _check_exec(ex: ExecConfig, where: Callable[[str], str]) -> None:
    at = where("exec")
    if not ex.command:
        raise ConfigError(f"{at}.command: command must be specified to use an exec plugin")
    if not ex.api_version:
        raise ConfigError(f"{at}.apiVersion: apiVersion must be specified to use an exec "
                          f"plugin (one of {', '.join(EXEC_API_VERSIONS)})")
    if ex.api_version not in EXEC_API_VERSIONS:
        raise ConfigError(f"{at}.apiVersion: unsupported exec plugin apiVersion "
                          f"{ex.api_version!r}; use one of {', '.join(EXEC_API_VERSIONS)}")
    for name, _ in ex.env:
        if not name:
            raise ConfigError(f"{at}.env: every env entry needs a name")
    if not ex.interactive_mode:
        raise ConfigError(f"{at}.interactiveMode: interactiveMode must be specified for "
                          f"{ex.api_version} (one of {', '.join(INTERACTIVE_MODES)})")
    if ex.interactive_mode not in INTERACTIVE_MODES:
        raise ConfigError(f"{at}.interactiveMode: invalid interactiveMode "
                          f"{ex.interactive_mode!r}; use one of {', '.join(INTERACTIVE_MODES)}")


def _check_readable(path: str, where: str, fix: str) -> None:
    """The file opens and is a regular file (O_NONBLOCK: a FIFO with no writer would make
    the open hang; a FIFO or a device would make the later read hang or never end)."""
    hint = f"; {fix}" if fix else ""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror or exc}{hint}") from exc
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if not regular:
        raise ConfigError(f"{where}: {path} is not a regular file (a pipe, device or "
                          f"directory){hint}")


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _opt_path(value: str | os.PathLike[str] | None) -> str | None:
    return os.fspath(value) if value is not None else None


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return parts


def redact_url(url: str | None) -> str | None:
    """The URL with its credentials hidden (``user:<hidden>@``), for messages and repr.

    Parsed by hand rather than with ``urlsplit``, which fails on a bad port or bracket and
    reads ``user:pass@host`` without a scheme as a scheme: this must work on any input.
    """
    if not url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" not in authority:
        return url
    userinfo, _, host = authority.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{_HIDDEN}" if colon else _HIDDEN
    return f"{scheme}{sep}{shown}@{host}{rest[end:]}"
