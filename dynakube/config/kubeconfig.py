"""Kubeconfig files: found, decoded and merged exactly as kubectl (client-go clientcmd) does.

Which files: an explicit path (must exist), else ``$KUBECONFIG`` split on ``os.pathsep``
(missing files skipped, duplicates and empty entries ignored), else ``~/.kube/config``.
Merging: for every cluster, user and context, and for ``current-context``, the first file that
defines it wins and the entry is taken whole. Relative file references resolve against the
directory of the file that defined them. Every file is decoded completely (a malformed entry
fails the load, as in kubectl); only the selected context is checked for usability.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from .load import ClusterConfig, ExecConfig, KubeconfigPaths, check_config

__all__ = ["Kubeconfig", "EXEC_EXTENSION"]

#: The cluster extension whose value is handed to exec plugins as ``spec.cluster.config``.
EXEC_EXTENSION = "client.authentication.k8s.io/exec"

_CLUSTER_KEYS = {
    "server": "server",
    "certificate_authority": "certificate-authority",
    "certificate_authority_data": "certificate-authority-data",
    "insecure_skip_tls_verify": "insecure-skip-tls-verify",
    "tls_server_name": "tls-server-name",
    "proxy_url": "proxy-url",
}
_USER_KEYS = {
    "client_certificate": "client-certificate",
    "client_certificate_data": "client-certificate-data",
    "client_key": "client-key",
    "client_key_data": "client-key-data",
    "token": "token",
    "token_file": "tokenFile",
    "username": "username",
    "password": "password",
    "exec": "exec",
    "impersonate": "as",
    "impersonate_uid": "as-uid",
    "impersonate_groups": "as-groups",
    "impersonate_extra": "as-user-extra",
}


@dataclass(frozen=True)
class _Cluster:
    name: str
    origin: str
    values: dict[str, Any]  # ClusterConfig field -> value
    exec_extension: Any = None


@dataclass(frozen=True)
class _User:
    name: str
    origin: str
    values: dict[str, Any]
    auth_provider: str | None = None


@dataclass(frozen=True)
class _Context:
    name: str
    origin: str
    cluster: str | None
    user: str | None
    namespace: str | None


@dataclass
class Kubeconfig:
    """The merged view of kubeconfig files; :meth:`config` turns one context into a value."""

    files: tuple[str, ...] = ()  # the files read, first (highest precedence) first
    tried: tuple[str, ...] = ()  # what was looked at, for "nothing found" messages
    current_context: str | None = None
    current_context_origin: str | None = None
    clusters: dict[str, _Cluster] = field(default_factory=dict)
    users: dict[str, _User] = field(default_factory=dict)
    contexts_by_name: dict[str, _Context] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: KubeconfigPaths = None, *, allow_empty: bool = False) -> Kubeconfig:
        """Find, read and merge the files (see the module docstring for which ones).

        Raises ConfigError for an explicit path that does not exist, any file that cannot be
        read or decoded, and (unless ``allow_empty``) when no file defines anything.
        """
        candidates, tried = _candidates(paths)
        merged = cls()
        files: list[str] = []
        for path in candidates:
            data = _read(path)
            if data is None:
                continue
            files.append(path)
            _merge(merged, _decode(path, data))
        merged.files = tuple(files)
        merged.tried = tuple(tried)
        if merged.is_empty and not allow_empty:
            raise ConfigError("no kubeconfig found: " + "; ".join(tried)
                              + ". Set KUBECONFIG or pass a kubeconfig path")
        return merged

    @property
    def is_empty(self) -> bool:
        """True when no file defined a cluster, user, context or current-context."""
        return not (self.clusters or self.users or self.contexts_by_name or self.current_context)

    def contexts(self) -> list[str]:
        """The names of all defined contexts, sorted."""
        return sorted(self.contexts_by_name)

    def config(self, context: str | None = None) -> ClusterConfig:
        """The ClusterConfig for ``context`` (default: the merged ``current-context``)."""
        sources = ", ".join(self.files) or "(no kubeconfig file: " + "; ".join(self.tried) + ")"
        name = context or self.current_context
        if not name:
            raise ConfigError(f"{sources}: no current-context is set and no context was given; "
                              f"pass context= (existing contexts: {self._names()}) or run "
                              "'kubectl config use-context NAME'")
        ctx = self.contexts_by_name.get(name)
        if ctx is None:
            origin = (f"{self.current_context_origin}: current-context" if context is None
                      else f"{sources}: contexts")
            raise ConfigError(f"{origin}: context {name!r} does not exist; existing contexts: "
                              f"{self._names()}")
        at = f'{ctx.origin}: contexts["{ctx.name}"].context'
        if not ctx.cluster:
            raise ConfigError(f"{at}.cluster: the context names no cluster")
        cluster = self.clusters.get(ctx.cluster)
        if cluster is None:
            raise ConfigError(f"{at}.cluster: cluster {ctx.cluster!r} is not defined in "
                              f"{sources}; defined clusters: {_quoted(self.clusters)}")
        user: _User | None = None
        if ctx.user:
            user = self.users.get(ctx.user)
            if user is None:
                raise ConfigError(f"{at}.user: user {ctx.user!r} is not defined in {sources}; "
                                  f"defined users: {_quoted(self.users)}")
            if user.auth_provider is not None:
                raise ConfigError(
                    f'{user.origin}: users["{user.name}"].user.auth-provider: auth-provider '
                    f"{user.auth_provider!r} is not supported; use an exec credential plugin "
                    "(e.g. kubelogin for OIDC, gke-gcloud-auth-plugin, kubelogin for Azure)")
        values: dict[str, Any] = dict(cluster.values)
        if user is not None:
            values.update(user.values)
            if values.get("exec") is not None and cluster.exec_extension is not None:
                values["exec"] = replace(values["exec"], cluster_config=cluster.exec_extension)
        config = ClusterConfig(
            namespace=ctx.namespace or "default",
            context=ctx.name,
            cluster_name=cluster.name,
            user_name=user.name if user else None,
            source=os.pathsep.join(self.files),
            **values,
        )

        def where(field_name: str) -> str:
            if field_name in _CLUSTER_KEYS:
                return (f'{cluster.origin}: clusters["{cluster.name}"].cluster.'
                        f"{_CLUSTER_KEYS[field_name]}")
            if user is not None:
                key = _USER_KEYS.get(field_name, field_name)
                return f'{user.origin}: users["{user.name}"].user.{key}'
            return at

        return check_config(config, where)

    def _names(self) -> str:
        return _quoted(self.contexts_by_name)


def _quoted(names: Mapping[str, Any]) -> str:
    return ", ".join(repr(n) for n in sorted(names)) or "(none)"


# --- finding and reading files ---------------------------------------------------------------


def _candidates(paths: KubeconfigPaths) -> tuple[list[str], list[str]]:
    """The files to read, in precedence order, and a description of what was tried."""
    if isinstance(paths, (str, os.PathLike)):
        path = os.fspath(paths)
        if not os.path.exists(path):
            raise ConfigError(f"{path}: the kubeconfig file does not exist")
        return [path], [path]
    if paths is not None:
        listed = [os.fspath(p) for p in paths]
        files = _dedupe(listed)
        return files, [f"the files given ({', '.join(files) or 'none'}) " + _missing(files)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        files = _dedupe(env.split(os.pathsep))
        return files, [f"KUBECONFIG={env} " + _missing(files)]
    home = os.path.join(os.path.expanduser("~"), ".kube", "config")
    return [home], [f"{home} " + _missing([home])]


def _dedupe(paths: list[str]) -> list[str]:
    seen: list[str] = []
    for p in paths:
        if p and p not in seen:
            seen.append(p)
    return seen


def _missing(files: list[str]) -> str:
    absent = [f for f in files if not os.path.exists(f)]
    if not absent:
        return "(defines nothing)"
    if len(absent) == len(files):
        return "(does not exist)" if len(files) == 1 else "(none of them exists)"
    return "(missing: " + ", ".join(absent) + ")"


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    """A safe YAML loader that keeps numbers and dates as written (kubeconfig has only
    strings and booleans; ``name: 1.20`` must stay "1.20", as sigs.k8s.io/yaml keeps it)."""
    import yaml

    dropped = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
               "tag:yaml.org,2002:timestamp"}

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


def _read(path: str) -> dict[str, Any] | None:
    """The file's top-level mapping; None when it does not exist or is empty."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a kubeconfig: the file is not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the kubeconfig: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {line}not valid YAML: {problem}") from exc
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a kubeconfig: expected a mapping at the top level, "
                          f"found {_kind(data)}")
    return data


def _merge(into: Kubeconfig, other: Kubeconfig) -> None:
    for name, cluster in other.clusters.items():
        into.clusters.setdefault(name, cluster)
    for name, user in other.users.items():
        into.users.setdefault(name, user)
    for name, ctx in other.contexts_by_name.items():
        into.contexts_by_name.setdefault(name, ctx)
    if into.current_context is None and other.current_context:
        into.current_context = other.current_context
        into.current_context_origin = other.current_context_origin


# --- decoding one file -----------------------------------------------------------------------


def _decode(path: str, data: dict[str, Any]) -> Kubeconfig:
    kind = _string(data.get("kind"), f"{path}: kind")
    if kind and kind != "Config":
        raise ConfigError(f"{path}: kind: expected 'Config', found {kind!r}; this is not a "
                          "kubeconfig file")
    base = os.path.abspath(os.path.dirname(path))
    out = Kubeconfig()
    for name, body in _entries(path, data, "clusters", "cluster"):
        out.clusters[name] = _decode_cluster(path, base, name, body)
    for name, body in _entries(path, data, "users", "user"):
        out.users[name] = _decode_user(path, base, name, body)
    for name, body in _entries(path, data, "contexts", "context"):
        at = f'{path}: contexts["{name}"].context'
        out.contexts_by_name[name] = _Context(
            name, path, _string(body.get("cluster"), f"{at}.cluster"),
            _string(body.get("user"), f"{at}.user"),
            _string(body.get("namespace"), f"{at}.namespace"))
    current = _string(data.get("current-context"), f"{path}: current-context")
    if current:
        out.current_context, out.current_context_origin = current, path
    return out


def _entries(path: str, data: dict[str, Any], section: str, inner: str
             ) -> list[tuple[str, dict[str, Any]]]:
    items = data.get(section)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: {section}: expected a list of named entries, "
                          f"found {_kind(items)}")
    result: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        at = f"{path}: {section}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a mapping with 'name' and '{inner}', "
                              f"found {_kind(item)}")
        name = _string(item.get("name"), f"{at}.name")
        if not name:
            raise ConfigError(f"{at}.name: the entry has no name")
        if name in result:
            raise ConfigError(f"{at}.name: duplicate name {name!r} in {section}")
        result[name] = _mapping(item.get(inner), f'{path}: {section}["{name}"].{inner}')
    return list(result.items())


def _decode_cluster(path: str, base: str, name: str, body: dict[str, Any]) -> _Cluster:
    at = f'{path}: clusters["{name}"].cluster.'
    values: dict[str, Any] = {
        "server": _string(body.get("server"), at + "server") or "",
        "certificate_authority": _path(base, body.get("certificate-authority"),
                                       at + "certificate-authority"),
        "certificate_authority_data": _data(body.get("certificate-authority-data"),
                                            at + "certificate-authority-data"),
        "insecure_skip_tls_verify": _bool(body.get("insecure-skip-tls-verify"),
                                          at + "insecure-skip-tls-verify"),
        "tls_server_name": _string(body.get("tls-server-name"), at + "tls-server-name"),
        "proxy_url": _string(body.get("proxy-url"), at + "proxy-url"),
    }
    _bool(body.get("disable-compression"), at + "disable-compression")
    extension = None
    for i, ext in enumerate(_list(body.get("extensions"), at + "extensions")):
        ext = _mapping(ext, f"{at}extensions[{i}]")
        if _string(ext.get("name"), f"{at}extensions[{i}].name") == EXEC_EXTENSION:
            extension = ext.get("extension")
    return _Cluster(name, path, values, extension)


def _decode_user(path: str, base: str, name: str, body: dict[str, Any]) -> _User:
    at = f'{path}: users["{name}"].user.'

    def s(key: str) -> str | None:
        return _string(body.get(key), at + key)

    extra: list[tuple[str, tuple[str, ...]]] = []
    for key, vals in _mapping(body.get("as-user-extra"), at + "as-user-extra").items():
        extra.append((str(key), _strings(vals, f"{at}as-user-extra.{key}")))
    values: dict[str, Any] = {
        "client_certificate": _path(base, body.get("client-certificate"),
                                    at + "client-certificate"),
        "client_certificate_data": _data(body.get("client-certificate-data"),
                                         at + "client-certificate-data"),
        "client_key": _path(base, body.get("client-key"), at + "client-key"),
        "client_key_data": _data(body.get("client-key-data"), at + "client-key-data"),
        "token": s("token"),
        "token_file": _path(base, body.get("tokenFile"), at + "tokenFile"),
        "username": s("username"),
        "password": s("password"),
        "impersonate": s("as"),
        "impersonate_uid": s("as-uid"),
        "impersonate_groups": _strings(body.get("as-groups"), at + "as-groups"),
        "impersonate_extra": tuple(sorted(extra)),
        "exec": _decode_exec(base, body.get("exec"), at + "exec"),
    }
    provider = None
    if body.get("auth-provider") is not None:
        ap = _mapping(body.get("auth-provider"), at + "auth-provider")
        provider = _string(ap.get("name"), at + "auth-provider.name") or "(unnamed)"
        if values["exec"] is not None:
            raise ConfigError(f"{at}auth-provider: auth-provider cannot be combined with exec; "
                              "remove auth-provider")
    return _User(name, path, values, provider)


def _decode_exec(base: str, raw: Any, at: str) -> ExecConfig | None:
    if raw is None:
        return None
    body = _mapping(raw, at)
    command = _string(body.get("command"), at + ".command") or ""
    if os.sep in command or (os.altsep and os.altsep in command):
        command = _path(base, command, at + ".command") or ""  # else found on PATH
    env: list[tuple[str, str]] = []
    for i, item in enumerate(_list(body.get("env"), at + ".env")):
        item = _mapping(item, f"{at}.env[{i}]")
        env.append((_string(item.get("name"), f"{at}.env[{i}].name") or "",
                    _string(item.get("value"), f"{at}.env[{i}].value") or ""))
    api_version = _string(body.get("apiVersion"), at + ".apiVersion") or ""
    mode = _string(body.get("interactiveMode"), at + ".interactiveMode") or ""
    if not mode and api_version == "client.authentication.k8s.io/v1beta1":
        mode = "IfAvailable"  # client-go's default for v1beta1; v1 requires the field
    return ExecConfig(
        command=command,
        args=_strings(body.get("args"), at + ".args"),
        env=tuple(env),
        api_version=api_version,
        provide_cluster_info=_bool(body.get("provideClusterInfo"), at + ".provideClusterInfo"),
        interactive_mode=mode,
        install_hint=_string(body.get("installHint"), at + ".installHint"),
    )


# --- typed field readers: each names the key in its error ------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return type(value).__name__


def _string(value: Any, at: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    raise ConfigError(f"{at}: expected a string, found {_kind(value)}")


def _bool(value: Any, at: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{at}: expected true or false, found {_kind(value)}")


def _mapping(value: Any, at: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ConfigError(f"{at}: expected a mapping, found {_kind(value)}")


def _list(value: Any, at: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ConfigError(f"{at}: expected a list, found {_kind(value)}")


def _strings(value: Any, at: str) -> tuple[str, ...]:
    return tuple(_string(v, f"{at}[{i}]") or "" for i, v in enumerate(_list(value, at)))


def _path(base: str, value: Any, at: str) -> str | None:
    path = _string(value, at)
    if path is None or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))  # Go's filepath.Join cleans too


def _data(value: Any, at: str) -> bytes | None:
    text = _string(value, at)
    if text is None:
        return None
    text = text.replace("\r", "").replace("\n", "")  # as Go's base64.StdEncoding ignores them
    try:
        return base64.b64decode(text, validate=True) if text else None
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{at}: not valid base64 ({exc}); the -data fields hold "
                          "base64-encoded PEM (base64 -w0 FILE)") from exc
