"""Which objects a command means: ``TYPE NAME...``, ``TYPE/NAME...``, ``TYPE -l SEL`` or
``TYPE --all``, resolved against discovery and the server, with kubectl's usage errors.

``get`` keeps its own listing (it prints tables from the server); ``label``, ``annotate``,
``scale`` and ``rollout`` share this one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, NotFoundError, UnknownResourceError
from .session import Session, UsageError, report_error

if TYPE_CHECKING:
    from ..client import Client, Resource

__all__ = ["Target", "no_resources_error", "report", "resolve_targets", "select",
           "split_type_names"]


def no_resources_error() -> UsageError:
    """kubectl's complaint when a command is given no object at all."""
    return UsageError("You must provide one or more resources by argument or filename.",
                      hint="Example resource specifications include:\n"
                           "   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                           "   '<resource> <name>'\n   '<resource>'")


def resolve_targets(kube: Client, text: str) -> list[Resource]:
    """``cm``, ``cm,deploy`` or a category such as ``all`` / ``gadgets`` -> resources."""
    from ..client import Resource

    out: list[Resource] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(kube.resource(part))
        except UnknownResourceError:
            members = kube.resources_in_category(part)
            if not members:
                raise
            out += [Resource(kube, info) for info in members if "list" in info.verbs]
    if not out:
        raise UsageError("name a resource type, for example 'dynakube get pods'")
    return out


def split_type_names(words: Sequence[str], prog: str) -> list[tuple[str, list[str]]]:
    """``["deploy", "a", "b"]`` or ``["deploy/a", "cm/b"]`` -> ``[(type, names)...]``."""
    if "/" not in words[0]:
        return [(words[0], list(words[1:]))]
    groups: dict[str, list[str]] = {}
    for word in words:
        kind, sep, name = word.partition("/")
        if not sep or not kind or not name:
            raise UsageError("there is no need to specify a resource type as a separate "
                             "argument when passing arguments in resource/name form (e.g. "
                             "'dynakube get resource/<resource_name>' instead of "
                             "'dynakube get resource resource/<resource_name>'")  # sic
        groups.setdefault(kind, []).append(name)
    return list(groups.items())


@dataclass
class Target:
    """One object a command works on, as read from the server."""

    resource: Resource
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        return self.obj["metadata"].get("namespace") if self.resource.info.namespaced else None

    def label(self) -> str:
        """``deployment.apps/web``: how kubectl names it in its result lines."""
        from .printing import object_name

        return object_name(self.resource.info, self.name)


def select(session: Session, resource: str | None, names: Sequence[str], *,
           prog: str, failed: list[bool], missing: str = "") -> Iterator[Target]:
    """The objects named, selected (``-l``) or all (``--all``); a missing name is reported
    (kubectl's words; ``missing`` is what the command's own words put first, as ``scale``'s
    ``no objects passed to scale``) and sets ``failed[0]``, and the others still come."""
    args = session.args
    if not resource:
        raise no_resources_error()
    kube = session.client
    selector = getattr(args, "selector", None)  # edit takes names only
    everything = bool(selector) or getattr(args, "all", False)
    for kind, kind_names in split_type_names([resource, *names], prog):
        if kind_names and selector:
            raise UsageError("name cannot be provided when a selector is specified")
        listing = everything and not kind_names  # as kubectl: names win over --all
        if not kind_names and not listing:
            raise UsageError("resource(s) were provided, but no name was specified")
        target = kube.resource(kind)
        if listing:
            listed = target.list(label_selector=selector,
                                 all_namespaces=getattr(args, "all_namespaces", False))
            for obj in listed.get("items") or []:  # items of a list carry no type: add it
                yield Target(target, {"apiVersion": target.info.api_version,
                                      "kind": target.info.kind, **obj})
            continue
        for name in kind_names:
            try:
                yield Target(target, target.get(name))
            except NotFoundError as e:
                if missing:
                    session.stderr.write(f"error: {missing}{e.message}\n")
                else:
                    report_error(e, session.stderr)
                failed[0] = True


def report(session: Session, error: ApiError, failed: list[bool]) -> None:
    """A write refused for one object: say so, go on with the next."""
    report_error(error, session.stderr)
    failed[0] = True
