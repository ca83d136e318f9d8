"""URL routing of the embedded server: from method and path to a verb on a resource.

Paths are the ones kube-apiserver serves (``/api/v1/namespaces/{ns}/{plural}/{name}/{sub}``,
``/apis/{group}/{version}/...``, the legacy ``/watch/`` prefix); anything else is the plain
``404 page not found``, and a verb the resource does not support is ``405``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ..kinds.specs import KindSpec
from ..status import PlainNotFound, method_not_allowed
from ..storage.resources import ResourceTable

__all__ = ["Route", "route", "verb_of"]


@dataclass
class Route:
    """A resolved request: the resource, where, and which verb."""

    spec: KindSpec
    namespace: str | None
    name: str | None
    subresource: str | None
    verb: str
    group: str
    version: str


def verb_of(method: str, has_name: bool, watch: bool) -> str:
    if method == "GET":
        if watch:
            return "watch"
        return "get" if has_name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    raise method_not_allowed()


def route(table: ResourceTable, method: str, path: str, watch_param: bool) -> Route:
    """Resolve a resource path; raises :class:`PlainNotFound` or a 405 ``StatusError``."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts and parts[0] == "api":
        if len(parts) < 3:
            raise PlainNotFound()
        group, version, rest = "", parts[1], parts[2:]
    elif parts and parts[0] == "apis":
        if len(parts) < 4:
            raise PlainNotFound()
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise PlainNotFound()
    watch = watch_param
    if rest and rest[0] == "watch":
        watch = True
        rest = rest[1:]
    if not table.served_version(group, version) or not rest:
        raise PlainNotFound()
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_spec = table.lookup(group, version, "namespaces")
        candidate = table.lookup(group, version, rest[2])
        if ns_spec is not None and len(rest) == 3 and candidate is None and \
                ns_spec.subresource(rest[2]) is not None:
            return _finish(ns_spec, None, rest[1], rest[2], method, watch, group, version)
        namespace, rest = rest[1], rest[2:]
    spec = table.lookup(group, version, rest[0])
    if spec is None:
        raise PlainNotFound()
    if namespace is not None and not spec.namespaced:
        raise PlainNotFound()
    if namespace is None and spec.namespaced and len(rest) > 1:
        raise PlainNotFound()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        raise PlainNotFound()
    return _finish(spec, namespace, name, sub, method, watch, group, version)


def _finish(spec: KindSpec, namespace: str | None, name: str | None, sub: str | None,
            method: str, watch: bool, group: str, version: str) -> Route:
    verb = verb_of(method, name is not None, watch)
    if sub is not None:
        info = spec.subresource(sub)
        if info is None or sub not in ("status", "scale"):
            raise PlainNotFound()
        if verb not in info.verbs:
            raise method_not_allowed()
    else:
        if verb not in spec.verbs:
            raise method_not_allowed()
        if spec.namespaced and namespace is None and verb in ("create", "deletecollection") \
                and name is None:
            raise method_not_allowed()
    return Route(spec, namespace, name, sub, verb, group, version)
