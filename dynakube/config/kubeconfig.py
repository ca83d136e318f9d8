"""Kubeconfig files: found, decoded and merged exactly as kubectl (client-go clientcmd) does.

Which files: an explicit path (must exist), else ``$KUBECONFIG`` split on ``os.pathsep``
(missing files skipped, duplicates and empty entries ignored), else ``~/.kube/config``.
Merging: for every cluster, user and context, and for ``current-context``, the first file that
defines it wins and the entry is taken whole. Relative file references resolve against the
directory of the file that defined them. Every file is decoded completely (a malformed entry
fails the load, as in kubectl); only the selected context is checked for usability.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._record import Record, field
from ..errors import ConfigError
from . import fields

__all__ = ["Kubeconfig", "KubeconfigEntry", "KubeconfigPaths", "EXEC_EXTENSION",
           "MAX_KUBECONFIG_BYTES"]

#: A kubeconfig location: one path, several (merged like ``KUBECONFIG``), or None (default).
KubeconfigPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None

#: The cluster extension whose value is handed to exec plugins as ``spec.cluster.config``.
EXEC_EXTENSION = "client.authentication.k8s.io/exec"

#: The largest kubeconfig file read (real ones are a few KiB; a bigger file is a mistake or
#: an attack, e.g. a link to /dev/zero would otherwise be read forever).
MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024

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


# The parsed entries are plain slotted classes, not dataclasses: this module is read on every
# cold start, and each dataclass costs about half a millisecond to create (bench/run.py
# --only discovery, "cold, kubeconfig read included").
class _Cluster:
    __slots__ = ("name", "origin", "values", "exec_extension")

    def __init__(self, name: str, origin: str, values: dict[str, Any],
                 exec_extension: Any = None):
        self.name, self.origin, self.values = name, origin, values  # values: field -> value
        self.exec_extension = exec_extension


class _User:
    __slots__ = ("name", "origin", "values", "auth_provider")

    def __init__(self, name: str, origin: str, values: dict[str, Any],
                 auth_provider: str | None = None):
        self.name, self.origin, self.values = name, origin, values
        self.auth_provider = auth_provider


class _Context:
    __slots__ = ("name", "origin", "cluster", "user", "namespace")

    def __init__(self, name: str, origin: str, cluster: str | None, user: str | None,
                 namespace: str | None):
        self.name, self.origin = name, origin
        self.cluster, self.user, self.namespace = cluster, user, namespace


class KubeconfigEntry(Record):
    """One context resolved: the ``ClusterConfig`` field values it names, unchecked.

    ``values["exec"]`` is a mapping of ``ExecConfig`` fields (or None); ``where(field)``
    names the file and key a field came from, for error messages. The checks and the value
    itself belong to :mod:`dynakube.config.cluster`, so this module needs neither.
    """

    values: Mapping[str, Any]
    where: Callable[[str], str]


class Kubeconfig(Record, frozen=False):
    """The merged view of kubeconfig files; :meth:`select` resolves one context."""

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

    def select(self, context: str | None = None) -> KubeconfigEntry:
        """The entry for ``context`` (default: the merged ``current-context``)."""
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
                values["exec"] = {**values["exec"], "cluster_config": cluster.exec_extension}
        values.update(namespace=ctx.namespace or "default", context=ctx.name,
                      cluster_name=cluster.name, user_name=user.name if user else None,
                      source=os.pathsep.join(self.files))

        def where(field_name: str) -> str:
            if field_name in _CLUSTER_KEYS:
                return (f'{cluster.origin}: clusters["{cluster.name}"].cluster.'
                        f"{_CLUSTER_KEYS[field_name]}")
            if user is not None:
                key = _USER_KEYS.get(field_name, field_name)
                return f'{user.origin}: users["{user.name}"].user.{key}'
            return at

        return KubeconfigEntry(values, where)

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
    strings and booleans; ``name: 1.20`` must stay "1.20", as sigs.k8s.io/yaml keeps it).

    libyaml's parser when PyYAML has it: about ten times faster than the pure-Python one,
    which is most of reading a kubeconfig (``bench/run.py --only discovery``), and it
    refuses nesting deeper than 1,000 levels instead of recursing."""
    import yaml

    dropped = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
               "tag:yaml.org,2002:timestamp"}
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[misc,valid-type]
        pass

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


def _read_bytes(path: str) -> bytes | None:
    """The file's bytes (None when it does not exist), bounded in size and in waiting.

    Opened with O_NONBLOCK so a FIFO without a writer cannot hang the open. A regular file
    is read up to the cap; a pipe (``--kubeconfig <(vault read ...)``, as kubectl accepts)
    is read until its writer closes it, for at most ``PIPE_SECONDS``; a device (/dev/zero
    would be read forever) or a directory is refused; /dev/null is the empty file it is.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the kubeconfig: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISFIFO(st.st_mode):
            data = _read_pipe(fd, path)
        elif stat.S_ISREG(st.st_mode):
            os.set_blocking(fd, True)
            data = os.read(fd, MAX_KUBECONFIG_BYTES + 1)
            while data and len(data) <= MAX_KUBECONFIG_BYTES:
                more = os.read(fd, MAX_KUBECONFIG_BYTES + 1 - len(data))
                if not more:
                    break
                data += more
        elif _is_devnull(st):  # KUBECONFIG=/dev/null: "no kubeconfig", as kubectl reads it
            return None
        else:
            raise ConfigError(f"{path}: cannot read the kubeconfig: not a regular file (a "
                              "device or directory); write the configuration to a file")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the kubeconfig: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise ConfigError(f"{path}: not a kubeconfig: larger than "
                          f"{MAX_KUBECONFIG_BYTES // (1024 * 1024)} MiB")
    return data


PIPE_SECONDS = 10.0


def _read_pipe(fd: int, path: str) -> bytes:
    """A pipe's bytes up to its end (or the size cap), waiting at most ``PIPE_SECONDS``."""
    import select
    import time

    deadline = time.monotonic() + PIPE_SECONDS
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_KUBECONFIG_BYTES:
        try:
            chunk = os.read(fd, 65536)  # b"" at once when no writer has the pipe open
        except BlockingIOError:  # a writer that has not written yet
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise ConfigError(f"{path}: cannot read the kubeconfig: the pipe gave no "
                                  f"end of file within {PIPE_SECONDS:.0f} s") from None
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _is_devnull(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return (st.st_dev, st.st_ino, st.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)


def _read(path: str) -> dict[str, Any] | None:
    """The file's top-level mapping; None when it does not exist or is empty."""
    import yaml

    raw = _read_bytes(path)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a kubeconfig: the file is not UTF-8 text") from exc
    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if problem == "exceeded maximum nesting depth":  # libyaml's limit
            raise ConfigError(f"{path}: {line}not a kubeconfig: the YAML is nested too "
                              "deeply") from None
        raise ConfigError(f"{path}: {line}not valid YAML: {problem}") from exc
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise ConfigError(f"{path}: not a kubeconfig: the YAML is nested too deeply") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a kubeconfig: expected a mapping at the top level, "
                          f"found {fields.kind_of(data)}")
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
    kind = fields.string(data.get("kind"), f"{path}: kind")
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
            name, path, fields.string(body.get("cluster"), f"{at}.cluster"),
            fields.string(body.get("user"), f"{at}.user"),
            fields.string(body.get("namespace"), f"{at}.namespace"))
    current = fields.string(data.get("current-context"), f"{path}: current-context")
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
                          f"found {fields.kind_of(items)}")
    result: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        at = f"{path}: {section}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a mapping with 'name' and '{inner}', "
                              f"found {fields.kind_of(item)}")
        name = fields.string(item.get("name"), f"{at}.name")
        if not name:
            raise ConfigError(f"{at}.name: the entry has no name")
        if name in result:
            raise ConfigError(f"{at}.name: duplicate name {name!r} in {section}")
        result[name] = fields.mapping(item.get(inner), f'{path}: {section}["{name}"].{inner}')
    return list(result.items())


def _decode_cluster(path: str, base: str, name: str, body: dict[str, Any]) -> _Cluster:
    at = f'{path}: clusters["{name}"].cluster.'
    values: dict[str, Any] = {
        "server": fields.string(body.get("server"), at + "server") or "",
        "certificate_authority": fields.path(base, body.get("certificate-authority"),
                                       at + "certificate-authority"),
        "certificate_authority_data": fields.data(body.get("certificate-authority-data"),
                                            at + "certificate-authority-data"),
        "insecure_skip_tls_verify": fields.boolean(body.get("insecure-skip-tls-verify"),
                                          at + "insecure-skip-tls-verify"),
        "tls_server_name": fields.string(body.get("tls-server-name"), at + "tls-server-name"),
        "proxy_url": fields.string(body.get("proxy-url"), at + "proxy-url"),
    }
    values["disable_compression"] = fields.boolean(body.get("disable-compression"),
                                          at + "disable-compression")
    extension = None
    for i, ext in enumerate(fields.listing(body.get("extensions"), at + "extensions")):
        ext = fields.mapping(ext, f"{at}extensions[{i}]")
        if fields.string(ext.get("name"), f"{at}extensions[{i}].name") == EXEC_EXTENSION:
            extension = fields.json_value(ext.get("extension"), f"{at}extensions[{i}].extension")
    return _Cluster(name, path, values, extension)


def _decode_user(path: str, base: str, name: str, body: dict[str, Any]) -> _User:
    at = f'{path}: users["{name}"].user.'

    def s(key: str) -> str | None:
        return fields.string(body.get(key), at + key)

    extra: list[tuple[str, tuple[str, ...]]] = []
    for key, vals in fields.mapping(body.get("as-user-extra"), at + "as-user-extra").items():
        extra.append((str(key), fields.strings(vals, f"{at}as-user-extra.{key}")))
    values: dict[str, Any] = {
        "client_certificate": fields.path(base, body.get("client-certificate"),
                                    at + "client-certificate"),
        "client_certificate_data": fields.data(body.get("client-certificate-data"),
                                         at + "client-certificate-data"),
        "client_key": fields.path(base, body.get("client-key"), at + "client-key"),
        "client_key_data": fields.data(body.get("client-key-data"), at + "client-key-data"),
        "token": s("token"),
        "token_file": fields.path(base, body.get("tokenFile"), at + "tokenFile"),
        "username": s("username"),
        "password": s("password"),
        "impersonate": s("as"),
        "impersonate_uid": s("as-uid"),
        "impersonate_groups": fields.strings(body.get("as-groups"), at + "as-groups"),
        "impersonate_extra": tuple(sorted(extra)),
        "exec": _decode_exec(base, body.get("exec"), at + "exec"),
    }
    provider = None
    if body.get("auth-provider") is not None:
        ap = fields.mapping(body.get("auth-provider"), at + "auth-provider")
        provider = fields.string(ap.get("name"), at + "auth-provider.name") or "(unnamed)"
        if values["exec"] is not None:
            raise ConfigError(f"{at}auth-provider: auth-provider cannot be combined with exec; "
                              "remove auth-provider")
    return _User(name, path, values, provider)


def _decode_exec(base: str, raw: Any, at: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    body = fields.mapping(raw, at)
    command = fields.string(body.get("command"), at + ".command") or ""
    if os.sep in command or (os.altsep and os.altsep in command):
        command = fields.path(base, command, at + ".command") or ""  # else found on PATH
    env: list[tuple[str, str]] = []
    for i, item in enumerate(fields.listing(body.get("env"), at + ".env")):
        item = fields.mapping(item, f"{at}.env[{i}]")
        env.append((fields.string(item.get("name"), f"{at}.env[{i}].name") or "",
                    fields.string(item.get("value"), f"{at}.env[{i}].value") or ""))
    api_version = fields.string(body.get("apiVersion"), at + ".apiVersion") or ""
    mode = fields.string(body.get("interactiveMode"), at + ".interactiveMode") or ""
    if not mode and api_version == "client.authentication.k8s.io/v1beta1":
        mode = "IfAvailable"  # client-go's default for v1beta1; v1 requires the field
    return {  # ExecConfig's fields
        "command": command,
        "args": fields.strings(body.get("args"), at + ".args"),
        "env": tuple(env),
        "api_version": api_version,
        "provide_cluster_info": fields.boolean(body.get("provideClusterInfo"),
                                      at + ".provideClusterInfo"),
        "interactive_mode": mode,
        "install_hint": fields.string(body.get("installHint"), at + ".installHint"),
    }
