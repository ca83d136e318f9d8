"""URL routing of the embedded server: from method and path to a verb on a resource.

Paths are the ones kube-apiserver serves (``/api/v1/namespaces/{ns}/{plural}/{name}/{sub}``,
``/apis/{group}/{version}/...``, the legacy ``/watch/`` prefix); anything else is the plain
``404 page not found`` (within a built-in group, the JSON ``Status`` 404 the real server
sends), and a verb the resource does not support is ``405``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from ..kinds.specs import KindSpec
from ..status import PlainNotFound, method_not_allowed, resource_not_found
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


_SERVED_SUBRESOURCES = ("status", "scale", "finalize", "binding", "log", "exec", "attach",
                        "portforward")


def verb_of(method: str, has_name: bool, watch: bool, subresource: str | None = None) -> str:
    """The verb of a request; ``405`` for a method the path cannot take (POST to an item,
    PUT or PATCH to a collection), as the real server's route table answers."""
    if method == "GET":
        if watch:
            return "watch"
        return "get" if has_name else "list"
    if method == "POST" and (not has_name or subresource is not None):
        return "create"
    if method == "PUT" and has_name:
        return "update"
    if method == "PATCH" and has_name:
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    raise method_not_allowed()


def _builtin_group(table: ResourceTable, group: str) -> bool:
    """Whether ``group`` is one of kube-apiserver's own (a CRD's group is served by the
    apiextensions server, which answers unknown paths with the plain-text 404)."""
    return any(not s.is_custom for s in table.all() if s.group == group)


def route(table: ResourceTable, method: str, path: str, watch_param: bool) -> Route:
    """Resolve a resource path; raises :class:`PlainNotFound`, a JSON ``404`` (an unknown
    version, resource or subresource of a built-in group) or a ``405``."""
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
    builtin = _builtin_group(table, group)
    missing = resource_not_found if builtin else PlainNotFound
    watch = watch_param
    if rest and rest[0] == "watch":
        watch = True
        rest = rest[1:]
    if not table.served_version(group, version):
        raise missing() if group else PlainNotFound()
    if not rest:
        raise PlainNotFound()
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_spec = table.lookup(group, version, "namespaces")
        candidate = table.lookup(group, version, rest[2])
        if ns_spec is not None and len(rest) == 3 and candidate is None and \
                ns_spec.subresource(rest[2]) is not None:
            return _finish(ns_spec, None, rest[1], rest[2], method, watch, group, version,
                           missing)
        namespace, rest = rest[1], rest[2:]
    spec = table.lookup(group, version, rest[0])
    if spec is None:
        raise missing()
    if namespace is not None and not spec.namespaced:
        raise missing()
    if namespace is None and spec.namespaced and len(rest) > 1:
        raise missing()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        raise missing()
    return _finish(spec, namespace, name, sub, method, watch, group, version, missing)


def _finish(spec: KindSpec, namespace: str | None, name: str | None, sub: str | None,
            method: str, watch: bool, group: str, version: str,
            missing: Callable[[], Exception]) -> Route:
    if sub is not None:
        info = spec.subresource(sub)
        if info is None or sub not in _SERVED_SUBRESOURCES:
            raise missing()
        verb = verb_of(method, name is not None, watch, sub)
        if verb not in info.verbs:
            raise method_not_allowed()
    else:
        verb = verb_of(method, name is not None, watch)
        if verb not in spec.verbs:
            raise method_not_allowed()
        if spec.namespaced and namespace is None and verb in ("create", "deletecollection") \
                and name is None:
            raise method_not_allowed()
    return Route(spec, namespace, name, sub, verb, group, version)
