"""The commands that read manifests: ``apply -f``, ``delete -f`` and ``validate -f``.

Documents come from files, directories (their .yaml/.yml/.json files) or stdin (``-``),
through :func:`dynakube.apply.load_documents`. Before ``apply`` sends anything, every
document is checked against the cluster's schemas and each problem is listed with its file,
document number and field path; one bad document means nothing is sent.

``validate`` fails closed, for CI gates: a document it could not check (it does not load, the
server publishes no schema for its kind, the validator gave up) is a failure, never "valid".
``delete -f`` goes on past a failed delete, as kubectl does, and exits 1 at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..apply import Document, apply_order, crd_kinds, load_documents
from ..errors import (
    ApplyError,
    DynakubeError,
    InvalidArgumentError,
    NotFoundError,
    Problem,
    UnknownResourceError,
    ValidationError,
)
from . import printing
from .session import Session, UsageError, report_error

if TYPE_CHECKING:
    from ..client import Client, Resource
    from ..discovery.registry import ResourceInfo

__all__ = ["Checked", "cmd_apply", "cmd_delete", "cmd_validate", "read_documents",
           "check_documents", "count_documents"]

#: From this many objects on, ``apply`` draws a progress bar (on a terminal only).
PROGRESS_FROM = 5

_MODES = {"strict": "Strict", "warn": "Warn", "ignore": "Ignore"}

Failures = list[tuple[str, DynakubeError]]


def read_documents(session: Session, paths: list[str]) -> tuple[list[Document], Failures]:
    """Every document of every ``-f`` (``-`` is stdin), with the failures met reading them."""
    docs: list[Document] = []
    failures: Failures = []
    for path in paths:
        if path == "-":
            try:
                text = session.stdin.read()
            except UnicodeDecodeError as e:
                failures.append(("<stdin>", InvalidArgumentError(f"cannot read <stdin>: {e}")))
                continue
            if not text.strip():
                continue
            more, errs = load_documents(text if "\n" in text else text + "\n")
            docs += [Document(d.obj, _stdin_name(d.source)) for d in more]
            failures += [(_stdin_name(s), _stdin_error(e)) for s, e in errs]
        else:
            more, errs = load_documents(path)
            docs += more
            failures += errs
    return docs, failures


def _stdin_name(source: str) -> str:
    return source.replace("<text>", "<stdin>", 1) if source.startswith("<text>") else source


def _stdin_error(error: DynakubeError) -> DynakubeError:
    """The loader names text ``<text>``; here it came from stdin (messages say so too)."""
    if error.args and isinstance(error.args[0], str):
        error.args = (_stdin_name(error.args[0]), *error.args[1:])
    if isinstance(getattr(error, "source", None), str):
        error.source = _stdin_name(error.source)  # type: ignore[attr-defined]
    return error


def count_documents(docs: list[Document], failures: Failures) -> tuple[int, int]:
    """``(documents with problems, documents)``: each document once, however many
    problems it has (a List's items count one each, as they are applied one each)."""
    bad = {source for source, _ in failures}
    return len(bad), len(bad | {d.source for d in docs})


def _meta(obj: dict[str, Any]) -> Mapping[str, Any]:
    """A document's metadata; empty when it is not a mapping (validation says so)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _name(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    return str(meta.get("name") or meta.get("generateName") or "")


def _subject(doc: Document) -> str:
    """``ConfigMap "settings"``, or the kind alone for a document without a name."""
    name = _name(doc.obj)
    return f'{doc.obj.get("kind")} "{name}"' if name else str(doc.obj.get("kind"))


def _lookup(kube: Client, doc: Document, refreshed: list[bool]) -> ResourceInfo:
    """The served resource of a document; a miss refreshes discovery once per command."""
    api_version, kind = str(doc.obj["apiVersion"]), str(doc.obj["kind"])
    try:
        return kube.discovery.registry().for_kind(api_version, kind)
    except UnknownResourceError:
        if refreshed[0]:
            raise
        refreshed[0] = True
        kube.invalidate()
        return kube.discovery.registry().for_kind(api_version, kind)


@dataclass
class Checked:
    """What the client-side checks found, document by document."""

    failures: Failures = field(default_factory=list)
    """Documents that failed: not served, invalid, or that could not be checked."""
    problems: list[tuple[Document, list[Problem]]] = field(default_factory=list)
    """Every checked document with its problems (none: it is valid)."""
    pending: list[Document] = field(default_factory=list)
    """Objects of a kind a CRD in the same batch defines: the server cannot check them yet."""


def _has_schema(kube: Client, doc: Document) -> bool:
    from ..schema.validate import check

    group, _, version = str(doc.obj["apiVersion"]).rpartition("/")
    return check(kube.schemas, group, version, str(doc.obj["kind"])) is not None


def check_documents(kube: Client, docs: list[Document], mode: str, *,
                    require_schema: bool = False, partial: bool = False) -> Checked:
    """Client-side checks of every document, each failure kept with its document.

    A document whose kind comes from a CRD in the same batch (not served yet) is pending.
    ``require_schema``: a kind the server publishes no schema for is a failure (``validate``
    must not call "valid" what it did not check; ``apply`` leaves that to the server).
    ``partial``: the documents are apply configurations (nothing is required of them).
    """
    pending_kinds = crd_kinds(docs)
    found = Checked()
    refreshed = [False]
    for doc in docs:
        api_version = str(doc.obj["apiVersion"])
        try:
            _lookup(kube, doc, refreshed)
        except UnknownResourceError as e:
            if (api_version.rpartition("/")[0], str(doc.obj["kind"])) in pending_kinds:
                found.pending.append(doc)
            else:
                found.failures.append((doc.source, e))
            continue
        try:
            if require_schema and not _has_schema(kube, doc):
                found.failures.append((doc.source, DynakubeError(
                    f"{_subject(doc)} cannot be validated: the server publishes no schema for "
                    f"{api_version} {doc.obj['kind']}")))
                continue
            problems = list(kube.validate(doc.obj, field_validation=mode, partial=partial))
        except DynakubeError as e:  # not an object (metadata: a string), schemas unreadable...
            found.failures.append((doc.source, e))
            continue
        found.problems.append((doc, problems))
        if any(p.severity == "error" for p in problems):
            found.failures.append((doc.source, ValidationError(
                problems, kind=str(doc.obj.get("kind")), name=_name(doc.obj) or None,
                source=doc.source)))
    return found


def _report_failures(session: Session, failures: Failures) -> None:
    for source, error in failures:
        report_error(error, session.stderr, source)


# -- apply --------------------------------------------------------------------------------

def _key(group: str, kind: str, namespace: str | None, name: str) -> tuple[str, str, str, str]:
    return (group, kind, namespace or "", name)


def _existing(kube: Client, docs: list[Document]) -> dict[tuple[str, str, str, str], str | None]:
    """For client-side apply: each object's resourceVersion now (None: not there yet)."""
    from ..client import Resource

    before: dict[tuple[str, str, str, str], str | None] = {}
    for doc in docs:
        name = _meta(doc.obj).get("name")
        if not name:
            continue
        try:
            info = kube.discovery.registry().for_kind(str(doc.obj["apiVersion"]),
                                                      str(doc.obj["kind"]))
            resource = Resource(kube, info)
            namespace = None
            if info.namespaced:
                namespace = _meta(doc.obj).get("namespace") or kube.namespace
            current = resource.get(str(name), namespace)
            rv = (current.get("metadata") or {}).get("resourceVersion")
            before[_key(info.group, info.kind, namespace, str(name))] = str(rv)
        except DynakubeError:  # not there yet (NotFound), or the apply will say what is wrong
            continue
    return before


def _outcome(result: dict[str, Any], before: dict[tuple[str, str, str, str], str | None],
             server_side: bool, dry_run: bool) -> str:
    group = str(result.get("apiVersion") or "").rpartition("/")[0]
    kind = str(result.get("kind") or "")
    meta = result.get("metadata") or {}
    name = str(meta.get("name") or "")
    if server_side:
        verb = "serverside-applied"
    else:
        key = _key(group, kind, meta.get("namespace"), name)
        if key not in before:
            verb = "created"
        elif not dry_run and before[key] == str(meta.get("resourceVersion")):
            verb = "unchanged"  # (a dry run never changes the resourceVersion: not a sign)
        else:
            verb = "configured"
    suffix = " (server dry run)" if dry_run else ""
    return f"{printing.kind_group(kind, group)}/{name} {verb}{suffix}\n"


def _source_of(source: str, docs: list[Document]) -> str:
    """``item[3]...`` (how kube.apply names list entries) -> the document's own source."""
    if source.startswith("item["):
        index = source[5:].split("]", 1)[0]
        if index.isdigit() and int(index) < len(docs):
            return docs[int(index)].source
    return source


def cmd_apply(session: Session) -> int:
    args = session.args
    docs, failures = read_documents(session, args.filename)
    if not docs and not failures:
        raise InvalidArgumentError("no objects passed to apply")
    kube = session.client
    mode = _MODES[args.validate]
    if args.validate != "ignore":
        checked = check_documents(kube, docs, mode, partial=True)  # apply configurations
        failures += checked.failures
        for doc, problems in checked.problems:
            for p in problems:
                if p.severity != "error":
                    session.warn(f"{doc.source}: {_subject(doc)}: {p}")
    if failures:
        bad, total = count_documents(docs, failures)
        _report_failures(session, failures)
        session.stderr.write(f"error: nothing was applied: {bad} of {total} "
                             "document(s) have problems\n")
        return 1
    docs = apply_order(docs)
    before = {} if args.server_side else _existing(kube, docs)
    bar = printing.ProgressBar(session.stderr)
    bar.active = bar.active and len(docs) >= PROGRESS_FROM
    results: list[dict[str, Any]]
    errors: Failures = []
    try:
        results = kube.apply([d.obj for d in docs], field_manager=args.field_manager,
                             force=args.force_conflicts, dry_run=args.dry_run,
                             server_side=args.server_side, field_validation=mode,
                             validate=False, progress=bar.update)
    except ApplyError as e:
        results = e.results
        errors = [(_source_of(f.source, docs), f.error) for f in e.failures]
    finally:
        bar.finish()
    for result in results:
        session.stdout.write(_outcome(result, before, args.server_side, args.dry_run))
    if errors:
        _report_failures(session, errors)
        return 1
    return 0


# -- delete -------------------------------------------------------------------------------

def cmd_delete(session: Session) -> int:
    args = session.args
    if args.filename and (args.resource or args.selector):
        raise UsageError("use either -f or a resource type with names/-l, not both")
    if not args.filename and not args.resource:
        raise UsageError("say what to delete: RESOURCE NAME..., RESOURCE -l SELECTOR or -f PATH")
    if args.resource and not args.names and not args.selector:
        raise UsageError(f"name the {args.resource} to delete, or use -l SELECTOR")
    if args.names and args.selector:
        raise UsageError("a name cannot be combined with a selector")
    kube = session.client
    failed = False
    targets: list[tuple[str | None, Resource, str, str | None]] = []
    if args.filename:
        docs, failures = read_documents(session, args.filename)
        if failures:  # a file that does not read: delete none of it
            _report_failures(session, failures)
            return 1
        if not docs:
            raise InvalidArgumentError("no objects passed to delete")
        for doc in reversed(apply_order(docs)):
            try:
                targets.append((doc.source, *_target(kube, doc)))
            except DynakubeError as e:  # not served, no name: this one only, as kubectl
                report_error(e, session.stderr, doc.source)
                failed = True
    else:
        resource = kube.resource(args.resource)
        names = list(args.names)
        if args.selector:
            listed = resource.list(label_selector=args.selector)
            names = [str(o["metadata"]["name"]) for o in listed.get("items") or []]
            if not names:
                session.stderr.write("No resources found\n")
        targets = [(None, resource, n, None) for n in names]
    suffix = " (server dry run)" if args.dry_run else ""
    for source, resource, name, namespace in targets:
        try:
            resource.delete(name, namespace, dry_run=args.dry_run)
        except NotFoundError as e:
            if not args.ignore_not_found:
                report_error(e, session.stderr, source)
                failed = True
            continue
        except DynakubeError as e:  # refused, or the server failed: go on with the rest
            report_error(e, session.stderr, source)
            failed = True
            continue
        what = printing.kind_group(resource.info.kind, resource.info.group)
        session.stdout.write(f'{what} "{name}" deleted{suffix}\n')
    return 1 if failed else 0


def _target(kube: Client, doc: Document) -> tuple[Resource, str, str | None]:
    """What a document names for ``delete -f``: its resource, name and namespace."""
    resource = kube.resource(str(doc.obj["kind"]), api_version=str(doc.obj["apiVersion"]))
    meta = _meta(doc.obj)
    if not meta.get("name"):
        raise InvalidArgumentError("the document has no metadata.name")
    namespace = (meta.get("namespace") or kube.namespace) if resource.info.namespaced \
        else None
    return resource, str(meta["name"]), namespace


# -- validate -----------------------------------------------------------------------------

def cmd_validate(session: Session) -> int:
    args = session.args
    docs, failures = read_documents(session, args.filename)
    if not docs and not failures:
        raise InvalidArgumentError("no documents found to validate")
    kube = session.client
    checked = check_documents(kube, docs, _MODES[args.validate], require_schema=True)
    out = session.stdout
    for doc, problems in checked.problems:
        errors = [p for p in problems if p.severity == "error"]
        state = "invalid" if errors else "valid"
        out.write(f"{doc.source}: {_subject(doc)} is {state}\n")
        for p in problems:
            out.write(f"  {'error' if p.severity == 'error' else 'warning'}: {p}\n")
    failures += checked.failures
    failures += [(doc.source, DynakubeError(
        f"{_subject(doc)} cannot be validated yet: its kind is defined by a "
        "CustomResourceDefinition in these files that the server does not serve yet (apply "
        "the CRD first)")) for doc in checked.pending]
    _report_failures(session, [(s, e) for s, e in failures if not isinstance(e, ValidationError)])
    bad, total = count_documents(docs, failures)
    if bad:
        session.stderr.write(f"error: {bad} of {total} document(s) have problems\n")
        return 1
    return 0
