"""``dynakube get`` and ``dynakube api-resources``: reading what the server holds.

Tables come from the server (``as=Table``), so custom resources show their printer columns;
``-A`` adds a NAMESPACE column, ``-o wide`` the columns of priority above zero, ``-L`` and
``--show-labels`` label columns; ``-w`` prints what is there and then one line per change.
``-o`` and ``--sort-by`` are parsed in :mod:`dynakube.cli.output`; formatting itself is
:mod:`dynakube.cli.printing`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DynakubeError, NotFoundError
from ..jsonpath import JSONPathError
from . import output, printing
from .session import Session, UsageError, report_error
from .targets import resolve_targets, split_type_names

if TYPE_CHECKING:
    from ..client import Client, Resource

__all__ = ["cmd_api_resources", "cmd_get", "deprecated_versions", "no_resources_message",
           "output_of", "type_name_groups", "watch"]


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

def _with_type(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    if "apiVersion" in obj and "kind" in obj:
        return obj
    return {"apiVersion": resource.info.api_version, "kind": resource.info.kind, **obj}


def _name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


_NO_RESOURCE = (
    'You must specify the type of resource to get. Use "dynakube api-resources" for a complete '
    "list of supported resources.\n\n")
_NO_RESOURCE_HINT = (
    'Use "dynakube explain <resource>" for a detailed description of that resource (e.g. '
    "dynakube explain pods).\nSee 'dynakube get -h' for help and examples")


def type_name_groups(kube: Client, words: Sequence[str]) -> list[tuple[Resource, list[str]]]:
    """``TYPE NAME...`` or ``TYPE/NAME...`` -> each resource with the names asked for."""
    if "/" not in words[0]:
        return [(t, list(words[1:])) for t in resolve_targets(kube, words[0])]
    return [(kube.resource(kind), names) for kind, names in split_type_names(words, "get")]


def output_of(session: Session) -> output.Output:
    """``-o``, with the ``*-file=`` formats read from disk."""
    def read(path: str) -> str:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise output.OutputError(f"error reading template {path}, {e.strerror}") from e

    return output.parse_output(session.args.output, read)


def cmd_get(session: Session) -> int:
    args = session.args
    if args.resource is None:
        raise UsageError("Required resource not specified.", preamble=_NO_RESOURCE,
                         hint=_NO_RESOURCE_HINT)
    fmt = output_of(session)
    named = bool(args.names) or "/" in args.resource
    if named and (args.selector or args.field_selector):  # kubectl's words
        raise UsageError("name cannot be provided when a selector is specified")
    if named and args.all_namespaces:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    kube = session.client
    groups = type_name_groups(kube, [args.resource, *args.names])
    if named and len(groups) > 1 and "/" not in args.resource:
        raise UsageError("names need exactly one resource type")
    if args.watch or args.watch_only:
        if len(groups) > 1:
            raise UsageError("--watch needs exactly one resource type")
        return watch(session, groups[0][0], groups[0][1], fmt)
    if fmt.tabular:
        return _print_tables(session, groups, fmt)
    failed = False
    objects: list[dict[str, Any]] = []
    kinds: list[Resource] = []
    for resource, names in groups:
        items, missing = _objects(session, resource, names)
        failed |= missing
        objects += items
        kinds += [resource] * len(items)
    if args.sort_by:
        pairs = output.sort_by(list(zip(objects, kinds, strict=True)), args.sort_by,
                               lambda pair: pair[0])
        objects, kinds = [p[0] for p in pairs], [p[1] for p in pairs]
    single = len(groups) == 1 and len(groups[0][1]) == 1
    if fmt.format == "name":
        for obj, resource in zip(objects, kinds, strict=True):
            session.stdout.write(printing.object_name(resource.info, _name_of(obj)) + "\n")
        return 1 if failed else 0
    if fmt.format == "custom-columns":
        if objects:
            rows = printing.custom_column_rows(objects, fmt.columns, headers=not args.no_headers)
            session.stdout.write(printing.format_table(rows))
        elif not named:
            session.stderr.write(no_resources_message(session, [g[0] for g in groups]))
        return 1 if failed else 0
    # as kubectl: one name gives the object (or only its error), else a List, even empty
    doc = (objects[0] if objects else None) if single else {
        "apiVersion": "v1", "items": objects, "kind": "List",
        "metadata": {"resourceVersion": ""}}
    if doc is not None:
        _print_document(session, fmt, doc)
    return 1 if failed else 0


def _print_document(session: Session, fmt: output.Output, doc: dict[str, Any],
                    printed_before: int = 0) -> None:
    """One object (or List) as ``-o yaml|json|jsonpath`` print it."""
    if fmt.template is not None:
        try:
            session.stdout.write(fmt.template.execute(
                doc, allow_missing_keys=session.args.allow_missing_template_keys))
        except JSONPathError as e:
            raise output.jsonpath_failure(fmt.template, e, doc) from None
        return
    if not session.args.show_managed_fields:
        doc = output.without_managed_fields(doc)
    if fmt.format == "json":
        session.stdout.write(printing.to_json(doc))
    else:  # as kubectl: "---" between YAML documents, none before the first
        session.stdout.write(("---\n" if printed_before else "") + printing.to_yaml(doc))


def _print_tables(session: Session, groups: Sequence[tuple[Resource, list[str]]],
                  fmt: output.Output) -> int:
    args = session.args
    failed = False
    found = 0
    printed_table = False
    for resource, names in groups:
        table, missing = _table(session, resource, names)
        failed |= missing
        rows_in = table.get("rows") or []
        if not rows_in:
            continue
        if args.sort_by:
            table = dict(table, rows=output.sort_by(rows_in, args.sort_by,
                                                    lambda row: row.get("object") or {}))
        found += len(rows_in)
        prefix = printing.object_name(resource.info, "") if len(groups) > 1 else ""
        rows = printing.table_rows(
            table, wide=fmt.format == "wide",
            namespace_column=args.all_namespaces and resource.info.namespaced,
            name_prefix=prefix, headers=not args.no_headers,
            label_columns=_label_keys(args), show_labels=args.show_labels)
        if printed_table:
            session.stdout.write("\n")
        session.stdout.write(printing.format_table(rows))
        printed_table = True
    if not found and not any(names for _, names in groups):
        session.stderr.write(no_resources_message(session, [g[0] for g in groups]))
    return 1 if failed else 0


def _label_keys(args: Any) -> list[str]:
    return [k.strip() for value in args.label_columns for k in value.split(",") if k.strip()]


def no_resources_message(session: Session, targets: Sequence[Resource]) -> str:
    if session.args.all_namespaces or not any(t.info.namespaced for t in targets):
        return "No resources found\n"
    return f"No resources found in {session.client.namespace} namespace.\n"


def _include_object(session: Session) -> str:
    return "Object" if session.args.sort_by else "Metadata"


def _table(session: Session, resource: Resource,
           names: Sequence[str]) -> tuple[dict[str, Any], bool]:
    """The Table of the listed objects (or of each named one); True when a name is missing."""
    args = session.args
    kube = session.client
    if not names:
        return kube.table(resource, label_selector=args.selector,
                          field_selector=args.field_selector,
                          all_namespaces=args.all_namespaces,
                          include_object=_include_object(session)), False
    merged: dict[str, Any] = {}
    missing = False
    for name in names:
        try:
            one = kube.table(resource, name=name, include_object=_include_object(session))
        except NotFoundError as e:
            report_error(e, session.stderr)
            missing = True
            continue
        if not merged:
            merged = dict(one, rows=[])
        merged["rows"] += one.get("rows") or []
    return merged, missing


def _objects(session: Session, resource: Resource,
             names: Sequence[str]) -> tuple[list[dict[str, Any]], bool]:
    args = session.args
    if not names:
        listed = resource.list(label_selector=args.selector, field_selector=args.field_selector,
                               all_namespaces=args.all_namespaces)
        return [_with_type(resource, o) for o in listed.get("items") or []], False
    out = []
    missing = False
    for name in names:
        try:
            out.append(_with_type(resource, resource.get(name)))
        except NotFoundError as e:
            report_error(e, session.stderr)
            missing = True
    return out, missing


# -- get -w ---------------------------------------------------------------------------------

class _WatchPrinter:
    """Prints the objects of ``get -w`` one at a time, in the chosen format; a table keeps
    its column widths (and each object's last row, for the deletion line)."""

    def __init__(self, session: Session, resource: Resource, fmt: output.Output):
        args = session.args
        self.session = session
        self.resource = resource
        self.fmt = fmt
        self.events = args.output_watch_events
        self.namespace_column = args.all_namespaces and resource.info.namespaced
        self.labels = {"label_columns": _label_keys(args), "show_labels": args.show_labels}
        self.header: list[str] = []
        self.widths: list[int] = []
        self.header_shown = args.no_headers
        self.last_rows: dict[str, list[str]] = {}
        self.printed = 0

    def start_table(self, table: Mapping[str, Any]) -> list[list[str]]:
        """Learn the header and widths from the initial Table; returns its cell rows."""
        rows = printing.table_rows(table, wide=self.fmt.format == "wide",
                                   namespace_column=self.namespace_column, **self.labels)
        # kubectl's EVENT column is as wide as its longest word, BOOKMARK
        self.header = (["EVENT   "] if self.events else []) + rows[0]
        cells = [(["ADDED"] if self.events else []) + r for r in rows[1:]]
        self.widths = printing.column_widths([self.header, *cells])
        if self.events:
            self.header[0] = "EVENT"
        for row, raw in zip(rows[1:], table.get("rows") or [], strict=True):
            self.last_rows[_row_key(raw.get("object") or {})] = row  # without the EVENT
        return cells

    def row(self, cells: list[str]) -> None:
        out = self.session.stdout
        if not self.header_shown:
            self.widths = printing.column_widths([self.header, cells], self.widths)
            out.write(printing.format_row(self.header, self.widths) + "\n")
            self.header_shown = True
        self.widths = printing.column_widths([cells], self.widths)
        out.write(printing.format_row(cells, self.widths) + "\n")

    def event(self, kind: str, obj: dict[str, Any]) -> None:
        fmt = self.fmt
        session = self.session
        if fmt.tabular:
            self.row((["ADDED" if kind == "INITIAL" else kind] if self.events else [])
                     + self._event_row(obj, kind == "DELETED"))
        elif fmt.format == "name":
            session.stdout.write(printing.object_name(self.resource.info, _name_of(obj)) + "\n")
        elif fmt.format == "custom-columns":
            rows = printing.custom_column_rows([obj], fmt.columns,
                                               headers=not self.header_shown)
            self.header_shown = True
            if not self.widths:
                self.widths = printing.column_widths(rows)
            self.widths = printing.column_widths(rows, self.widths)
            for row in rows:
                session.stdout.write(printing.format_row(row, self.widths) + "\n")
        else:
            doc = _with_type(self.resource, obj)
            if not session.args.show_managed_fields:
                doc = output.without_managed_fields(doc)
            if self.events and fmt.format == "json":  # kubectl: one compact line an event
                event = json.dumps({"type": "ADDED" if kind == "INITIAL" else kind},
                                   ensure_ascii=False)[:-1]
                body = json.dumps(doc, sort_keys=True, ensure_ascii=False,
                                  separators=(",", ":"))
                session.stdout.write(f"{event},\"object\":{body}}}\n".translate(
                    printing.GO_JSON_ESCAPES))
            else:
                if self.events:
                    doc = {"type": "ADDED" if kind == "INITIAL" else kind, "object": doc}
                _print_document(session, fmt, doc, self.printed)
        self.printed += 1
        session.stdout.flush()

    def _event_row(self, obj: dict[str, Any], deleted: bool) -> list[str]:
        """The object's Table row now; for a deleted one, the last row seen (or its name)."""
        key = _row_key(obj)
        info = self.resource.info
        namespace = (obj.get("metadata") or {}).get("namespace") if info.namespaced else None
        if not deleted:
            try:
                table = self.session.client.table(self.resource, namespace, name=_name_of(obj))
                rows = printing.table_rows(table, wide=self.fmt.format == "wide",
                                           namespace_column=self.namespace_column,
                                           headers=False, **self.labels)
                if rows:
                    self.last_rows[key] = rows[0]
                    return rows[0]
            except NotFoundError:
                pass
        if key in self.last_rows:
            return self.last_rows[key]
        return ([namespace or ""] if self.namespace_column else []) + [_name_of(obj)]


def watch(session: Session, resource: Resource, names: Sequence[str],
          fmt: output.Output) -> int:
    """``get -w``: what is there now (unless ``--watch-only``), then one line or document per
    change until ^C. The changes are watched from the listing's resourceVersion: none is
    missed between the two."""
    args = session.args
    kube = session.client
    wanted = set(names)
    field_selector = f"metadata.name={names[0]}" if len(wanted) == 1 else args.field_selector
    show_now = not args.watch_only
    printer = _WatchPrinter(session, resource, fmt)
    if fmt.tabular:
        table = kube.table(resource, label_selector=args.selector, field_selector=field_selector,
                           all_namespaces=args.all_namespaces)
        listed = [r for r in table.get("rows") or []
                  if not wanted or _name_of(r.get("object") or {}) in wanted]
        for cells in printer.start_table(dict(table, rows=listed)):
            if show_now:
                printer.row(cells)
        if not show_now:  # as kubectl: the columns fit the header and the changes only
            printer.widths = printing.column_widths([printer.header])
        if not listed and show_now:
            session.stderr.write(no_resources_message(session, [resource]))
        rv = (table.get("metadata") or {}).get("resourceVersion")
    else:
        listing = resource.list(label_selector=args.selector, field_selector=field_selector,
                                all_namespaces=args.all_namespaces)
        for obj in listing.get("items") or []:
            if show_now and (not wanted or _name_of(obj) in wanted):
                printer.event("INITIAL", obj)
        rv = (listing.get("metadata") or {}).get("resourceVersion")
    session.stdout.flush()
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
            if not wanted or _name_of(event.object) in wanted:
                printer.event(event.type, event.object)
    return 0


def _row_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
