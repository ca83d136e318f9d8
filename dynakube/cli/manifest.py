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

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..apply import Document, apply_documents, apply_order, crd_kinds, load_documents
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
from .targets import no_resources_error, split_type_names
from .wait import duration_flag

if TYPE_CHECKING:
    from ..client import Client, Resource
    from ..discovery.registry import ResourceInfo

__all__ = ["Checked", "cmd_apply", "cmd_delete", "cmd_validate", "read_documents",
           "check_documents", "count_documents"]

#: From this many objects on, ``apply`` draws a progress bar (on a terminal only).
PROGRESS_FROM = 5
#: Seconds ``apply`` waits for the kind of a CRD it created to be served.
CRD_TIMEOUT = 30.0
#: ``delete --timeout=0`` waits this long, as kubectl (a week).
DELETE_WAIT_FOREVER = 7 * 24 * 3600.0

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
        elif not os.path.exists(path):  # kubectl's words
            failures.append(("", InvalidArgumentError(f'the path "{path}" does not exist')))
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

def _applied_line(result: dict[str, Any], verb: str, dry_run: bool) -> str:
    """kubectl's line for one applied object: ``deployment.apps/web configured``."""
    group = str(result.get("apiVersion") or "").rpartition("/")[0]
    name = (result.get("metadata") or {}).get("name") or ""
    suffix = " (server dry run)" if dry_run else ""
    return f"{printing.kind_group(str(result.get('kind') or ''), group)}/{name} {verb}{suffix}\n"


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
    missing: Failures = [(s, e) for s, e in failures if not s]  # a path not there
    if missing:  # one line, and nothing read or applied
        _report_failures(session, missing)
        return 1
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
    bar = printing.ProgressBar(session.stderr)
    bar.active = bar.active and len(docs) >= PROGRESS_FROM
    lines: list[str] = []
    errors: Failures = []
    try:
        apply_documents(kube, [d.obj for d in docs], field_manager=args.field_manager,
                        force=args.force_conflicts, dry_run=args.dry_run,
                        server_side=args.server_side, field_validation=mode, validate=False,
                        stop_on_error=False, namespace=None, crd_timeout=CRD_TIMEOUT,
                        progress=bar.update,
                        on_applied=lambda _, result, verb: lines.append(
                            _applied_line(result, verb, args.dry_run)))
    except ApplyError as e:
        errors = [(_source_of(f.source, docs), f.error) for f in e.failures]
    finally:
        bar.finish()
    session.stdout.writelines(lines)
    if errors:
        _report_failures(session, errors)
        return 1
    return 0


# -- delete -------------------------------------------------------------------------------

_CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
            "true": "Background", "false": "Orphan"}
_FORCE_WARNING = ("Immediate deletion does not wait for confirmation that the running "
                  "resource has been terminated. The resource may continue to run on the "
                  "cluster indefinitely.")


def _delete_targets(session: Session) -> tuple[list[tuple[str | None, Resource, str,
                                                           str | None]], bool]:
    """What ``delete`` deletes: ``(source, resource, name, namespace)``, and whether a
    document could not be turned into one (reported already)."""
    args = session.args
    kube = session.client
    failed = False
    if args.filename:
        docs, failures = read_documents(session, args.filename)
        if failures:  # a file that does not read: delete none of it
            _report_failures(session, failures)
            return [], True
        if not docs:
            raise InvalidArgumentError("no objects passed to delete")
        targets: list[tuple[str | None, Resource, str, str | None]] = []
        for doc in reversed(apply_order(docs)):
            try:
                targets.append((doc.source, *_target(kube, doc)))
            except DynakubeError as e:  # not served, no name: this one only, as kubectl
                report_error(e, session.stderr, doc.source)
                failed = True
        return targets, failed
    from ..resource import ALL

    out: list[tuple[str | None, Resource, str, str | None]] = []
    selecting = bool(args.selector or args.all)
    for kind, names in split_type_names([args.resource, *args.names], "delete"):
        resource = kube.resource(kind)
        if not selecting:
            out += [(None, resource, n, None) for n in names]
            continue
        listed = resource.list(ALL if args.all_namespaces else None,
                               label_selector=args.selector or None)
        items = listed.get("items") or []
        out += [(None, resource, str(o["metadata"]["name"]), o["metadata"].get("namespace"))
                for o in items]
    if selecting and not out:  # on stdout, as kubectl's delete says it
        session.stdout.write("No resources found\n")
    return out, failed


def _check_delete_usage(args: Any) -> None:
    """kubectl's usage errors, in kubectl's words."""
    if args.filename and args.resource:
        raise UsageError("when paths, URLs, or stdin is provided as input, you may not "
                         "specify resource arguments as well")
    if not args.filename and not args.resource:
        raise no_resources_error()
    if args.all and args.selector:
        raise UsageError("setting 'all' parameter but found a non empty selector. ")
    words = [args.resource, *args.names] if args.resource else []
    named = len(words) > 1 or "/" in str(args.resource or "")
    if named and (args.selector or args.all):
        raise UsageError("name cannot be provided when a selector is specified")
    if args.resource and not named and not (args.selector or args.all):
        raise UsageError("resource(s) were provided, but no name was specified")
    if args.cascade not in _CASCADE:
        raise UsageError(f'invalid cascade value ({args.cascade}). Must be "background", '
                         '"foreground", or "orphan"')
    if args.dry_run not in ("none", "server", "client"):
        raise UsageError(f"Invalid dry-run value ({args.dry_run}). Must be \"none\", "
                         '"server", or "client".')


def cmd_delete(session: Session) -> int:
    """``kubectl delete``: by name, ``-l``, ``--all`` or ``-f``; then, unless ``--wait=false``,
    until every deleted object is gone (finalizers included)."""
    from ..wait import WaitTimeoutError, wait_deleted

    args = session.args
    _check_delete_usage(args)
    timeout = duration_flag(args.timeout, "--timeout", "delete") or DELETE_WAIT_FOREVER
    grace = args.grace_period if args.grace_period >= 0 else None
    if args.force:
        session.warn(_FORCE_WARNING)
        grace = 0 if grace is None else grace
    elif grace == 0:  # as kubectl: 0 without --force would mean "now"; it means 1
        grace = 1
    targets, failed = _delete_targets(session)
    suffix = {"server": " (server dry run)", "client": " (dry run)"}.get(args.dry_run, "")
    verb = "force deleted" if args.force and grace == 0 else "deleted"
    deleted: list[tuple[str | None, Resource, str, str | None, str | None]] = []
    for source, resource, name, namespace in targets:
        what = printing.kind_group(resource.info.kind, resource.info.group)
        if args.dry_run == "client":  # as kubectl: said, not sent
            session.stdout.write(f'{what} "{name}" {verb}{suffix}\n')
            continue
        try:
            result = resource.delete(name, namespace, dry_run=args.dry_run == "server",
                                     propagation_policy=_CASCADE[args.cascade],
                                     grace_period_seconds=grace)
        except NotFoundError as e:
            if not args.ignore_not_found:
                report_error(e, session.stderr, source)
                failed = True
            continue
        except DynakubeError as e:  # refused, or the server failed: go on with the rest
            report_error(e, session.stderr, source)
            failed = True
            continue
        session.stdout.write(f'{what} "{name}" {verb}{suffix}\n')
        session.stdout.flush()
        if result.get("kind") != "Status":
            uid = (result.get("metadata") or {}).get("uid")
            deleted.append((source, resource, name, namespace, uid))
    if args.wait and args.dry_run == "none":
        for source, resource, name, namespace, uid in deleted:
            try:
                wait_deleted(resource, name, namespace, uid, timeout=timeout)
            except WaitTimeoutError:
                session.stderr.write("error: timed out waiting for the condition on "
                                     f"{resource.info.plural}/{name}\n")
                failed = True
            except DynakubeError as e:
                report_error(e, session.stderr, source)
                failed = True
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
