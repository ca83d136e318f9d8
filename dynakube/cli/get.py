"""``dynakube get`` and ``dynakube api-resources``: reading what the server holds.

Tables come from the server (``as=Table``), so custom resources show their printer columns;
``-A`` adds a NAMESPACE column, ``-o wide`` the columns of priority above zero; ``-w`` prints
what is there and then one line per change. Formatting itself is :mod:`dynakube.cli.printing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DynakubeError, NotFoundError, UnknownResourceError
from . import printing
from .session import Session, UsageError, report_error

if TYPE_CHECKING:
    from ..client import Client, Resource

__all__ = ["cmd_api_resources", "cmd_get", "deprecated_versions", "resolve_targets", "watch"]


# -- api-resources ------------------------------------------------------------------------

def cmd_api_resources(session: Session) -> int:
    args = session.args
    kube = session.client
    resources = kube.api_resources()
    if args.api_group is not None:
        resources = [r for r in resources if r.group == args.api_group]
    if args.namespaced is not None:
        resources = [r for r in resources if r.namespaced == args.namespaced]
    if args.output == "name":
        for r in resources:
            session.stdout.write(r.qualified + "\n")
        return 0
    deprecated = deprecated_versions(kube) if args.output == "wide" else {}
    rows = printing.api_resource_rows(resources, wide=args.output == "wide",
                                      deprecated=deprecated, headers=not args.no_headers)
    session.stdout.write(printing.format_table(rows))
    return 0


def deprecated_versions(kube: Client) -> dict[tuple[str, str], list[str]]:
    """``(group, plural) -> deprecated versions``: what discovery learned, plus what the
    CustomResourceDefinitions say (``versions[].deprecated``), when they can be read."""
    found: dict[tuple[str, str], set[str]] = {}
    for r in kube.discovery.registry().resources:
        if r.deprecated:
            found.setdefault((r.group, r.plural), set()).add(r.version)
    try:
        crds = kube.resource("customresourcedefinitions.apiextensions.k8s.io").list()
    except DynakubeError:  # not served, or not allowed to list: discovery's word is all
        crds = {}
    for crd in crds.get("items") or []:
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        for version in spec.get("versions") or []:
            if version.get("deprecated") and spec.get("group") and plural:
                found.setdefault((spec["group"], plural), set()).add(str(version.get("name")))
    return {key: sorted(versions) for key, versions in found.items()}


# -- get ----------------------------------------------------------------------------------

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


def _with_type(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    if "apiVersion" in obj and "kind" in obj:
        return obj
    return {"apiVersion": resource.info.api_version, "kind": resource.info.kind, **obj}


def _name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def cmd_get(session: Session) -> int:
    args = session.args
    if args.names and (args.selector or args.field_selector):
        raise UsageError("a name cannot be combined with a selector")
    if args.names and args.all_namespaces:  # kubectl's words
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    kube = session.client
    targets = resolve_targets(kube, args.resource)
    if len(targets) > 1 and args.names:
        raise UsageError("names need exactly one resource type")
    if args.watch:
        if len(targets) > 1:
            raise UsageError("--watch needs exactly one resource type")
        return watch(session, targets[0])
    failed = False
    found = 0
    objects: list[dict[str, Any]] = []
    printed_table = False
    for resource in targets:
        if args.output in ("table", "wide"):
            table, missing = _table(session, resource)
            failed |= missing
            if not table.get("rows"):
                continue
            found += len(table["rows"])
            prefix = (printing.object_name(resource.info, "") if len(targets) > 1 else "")
            rows = printing.table_rows(
                table, wide=args.output == "wide",
                namespace_column=args.all_namespaces and resource.info.namespaced,
                name_prefix=prefix, headers=not args.no_headers)
            if printed_table:
                session.stdout.write("\n")
            session.stdout.write(printing.format_table(rows))
            printed_table = True
        else:
            items, missing = _objects(session, resource)
            failed |= missing
            found += len(items)
            objects += items
            if args.output == "name":
                for obj in items:
                    session.stdout.write(printing.object_name(resource.info, _name_of(obj))
                                         + "\n")
    if args.output in ("yaml", "json"):
        # as kubectl: one name gives the object (or only its error), else a List, even empty
        doc = (objects[0] if objects else None) if len(args.names) == 1 else {
            "apiVersion": "v1", "items": objects, "kind": "List",
            "metadata": {"resourceVersion": ""}}
        render = printing.to_yaml if args.output == "yaml" else printing.to_json
        if doc is not None:
            session.stdout.write(render(doc))
    elif not found and not args.names and args.output != "name":
        session.stderr.write(no_resources_message(session, targets))
    return 1 if failed else 0


def no_resources_message(session: Session, targets: Sequence[Resource]) -> str:
    if session.args.all_namespaces or not any(t.info.namespaced for t in targets):
        return "No resources found\n"
    return f"No resources found in {session.client.namespace} namespace.\n"


def _table(session: Session, resource: Resource) -> tuple[dict[str, Any], bool]:
    """The Table of the listed objects (or of each named one); True when a name is missing."""
    args = session.args
    kube = session.client
    if not args.names:
        return kube.table(resource, label_selector=args.selector,
                          field_selector=args.field_selector,
                          all_namespaces=args.all_namespaces), False
    merged: dict[str, Any] = {}
    missing = False
    for name in args.names:
        try:
            one = kube.table(resource, name=name)
        except NotFoundError as e:
            report_error(e, session.stderr)
            missing = True
            continue
        if not merged:
            merged = dict(one, rows=[])
        merged["rows"] += one.get("rows") or []
    return merged, missing


def _objects(session: Session, resource: Resource) -> tuple[list[dict[str, Any]], bool]:
    args = session.args
    if not args.names:
        listed = resource.list(label_selector=args.selector, field_selector=args.field_selector,
                               all_namespaces=args.all_namespaces)
        return [_with_type(resource, o) for o in listed.get("items") or []], False
    out = []
    missing = False
    for name in args.names:
        try:
            out.append(_with_type(resource, resource.get(name)))
        except NotFoundError as e:
            report_error(e, session.stderr)
            missing = True
    return out, missing


def watch(session: Session, resource: Resource) -> int:
    """``get -w``: what is there now, then one line (or document) per change until ^C."""
    args = session.args
    kube = session.client
    wanted = set(args.names)
    field_selector = args.field_selector
    if len(wanted) == 1:
        field_selector = f"metadata.name={args.names[0]}"
    tabular = args.output in ("table", "wide")
    namespace_column = args.all_namespaces and resource.info.namespaced
    header: list[str] = []
    widths: list[int] = []
    last_rows: dict[str, list[str]] = {}
    printed = 0  # objects printed (-o yaml|json|name)
    if tabular:
        table = kube.table(resource, label_selector=args.selector, field_selector=field_selector,
                           all_namespaces=args.all_namespaces)
        listed = [r for r in table.get("rows") or []
                  if not wanted or _name_of(r.get("object") or {}) in wanted]
        rows = printing.table_rows(dict(table, rows=listed), wide=args.output == "wide",
                                   namespace_column=namespace_column)
        header = rows[0]
        widths = printing.column_widths(rows)
        for row, raw in zip(rows[1:], listed, strict=True):
            last_rows[_row_key(raw.get("object") or {})] = row
        if listed:
            for row in rows[1:] if args.no_headers else rows:
                session.stdout.write(printing.format_row(row, widths) + "\n")
        rv = (table.get("metadata") or {}).get("resourceVersion")
    else:
        listing = resource.list(label_selector=args.selector, field_selector=field_selector,
                                all_namespaces=args.all_namespaces)
        for obj in listing.get("items") or []:
            if not wanted or _name_of(obj) in wanted:
                _print_object(session, resource, _with_type(resource, obj), printed)
                printed += 1
        rv = (listing.get("metadata") or {}).get("resourceVersion")
    if not last_rows and tabular:
        session.stderr.write(no_resources_message(session, [resource]))
    session.stdout.flush()
    header_shown = bool(last_rows) and not args.no_headers
    stream = resource.watch(resource_version=rv, label_selector=args.selector,
                            field_selector=field_selector, all_namespaces=args.all_namespaces)
    with stream:
        for event in stream:
            if event.type == "ERROR":
                error = event.as_error()
                if error is not None:
                    raise error
            if event.type not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            obj = event.object
            if wanted and _name_of(obj) not in wanted:
                continue
            if not tabular:
                _print_object(session, resource, _with_type(resource, obj), printed)
                printed += 1
            else:
                row = _event_row(session, resource, obj, last_rows, namespace_column)
                if not header_shown and not args.no_headers:
                    widths = printing.column_widths([header, row], widths)
                    session.stdout.write(printing.format_row(header, widths) + "\n")
                    header_shown = True
                widths = printing.column_widths([row], widths)
                session.stdout.write(printing.format_row(row, widths) + "\n")
            session.stdout.flush()
    return 0


def _row_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def _event_row(session: Session, resource: Resource, obj: dict[str, Any],
               last_rows: dict[str, list[str]], namespace_column: bool) -> list[str]:
    """The object's Table row now; for a deleted one, the last row seen (or its name)."""
    key = _row_key(obj)
    namespace = (obj.get("metadata") or {}).get("namespace") if resource.info.namespaced \
        else None
    try:
        table = session.client.table(resource, namespace, name=_name_of(obj))
        rows = printing.table_rows(table, wide=session.args.output == "wide",
                                   namespace_column=namespace_column, headers=False)
        if rows:
            last_rows[key] = rows[0]
            return rows[0]
    except NotFoundError:
        pass
    if key in last_rows:
        return last_rows[key]
    return ([namespace or ""] if namespace_column else []) + [_name_of(obj)]


def _print_object(session: Session, resource: Resource, obj: dict[str, Any],
                  printed_before: int) -> None:
    output = session.args.output
    if output == "name":
        session.stdout.write(printing.object_name(resource.info, _name_of(obj)) + "\n")
    elif output == "json":
        session.stdout.write(printing.to_json(obj))
    else:  # as kubectl: "---" between YAML documents, none before the first
        session.stdout.write(("---\n" if printed_before else "") + printing.to_yaml(obj))
