"""``dynakube diff -f``: what ``apply`` would change, as ``kubectl diff`` shows it.

Each document is applied as a server-side dry run (the same client-side apply patch
``apply`` would send, with ``dryRun=All``, or a server-side apply with ``--server-side``),
so the server's defaults, admission and validation are in the result. The live objects and
those results are written, as kubectl writes them, to two temporary folders (``LIVE-*`` and
``MERGED-*``, a file ``group.version.Kind.namespace.name`` each, YAML without
``managedFields`` and without the last-applied annotation, Secret values masked), and
compared file by file in a unified diff with ``diff -u -N``'s headers. Exit 0: no
differences; 1: differences; 2: something failed (nothing is printed then), as kubectl.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DynakubeError, DynakubeWarning, NotFoundError
from ..mergepatch import LAST_APPLIED
from . import printing
from .session import Session, report_error

if TYPE_CHECKING:
    from ..apply import Document
    from ..client import Client

__all__ = ["add_diff_command", "cmd_diff", "diff_documents", "file_name", "prepared"]

#: kubectl diff's exit code when it, or the comparison, failed.
FAILED = 2


def add_diff_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Declare ``diff`` on the parser ``command`` makes subcommands with."""
    p = command("diff", "show what apply would change: live objects against a server-side "
                        "dry run (exit 0: none, 1: differences, 2: failed)")
    p.add_argument("-f", "--filename", metavar="PATH", action="append",
                   help="a file, a directory of .yaml/.yml/.json files, or - for stdin")
    p.add_argument("--server-side", action="store_true", help="compare with a server-side "
                   "apply instead of a client-side one")
    p.add_argument("--field-manager", metavar="NAME", default="dynakube")
    p.add_argument("--force-conflicts", action="store_true",
                   help="server-side: take over fields other managers own")


def file_name(obj: dict[str, Any]) -> str:
    """kubectl's file name for an object: ``apps.v1.Deployment.default.web``."""
    meta = obj.get("metadata") or {}
    api_version = str(obj.get("apiVersion") or "")
    return ".".join([api_version.replace("/", "."), str(obj.get("kind") or ""),
                     str(meta.get("namespace") or ""), str(meta.get("name") or "")])


def prepared(obj: dict[str, Any] | None, *, created: bool = False) -> dict[str, Any] | None:
    """An object as kubectl diff shows it: no ``managedFields``, no last-applied annotation
    (an ``annotations: {}`` left behind stays, as in kubectl, except on an object the apply
    would create: kubectl's dry-run create never had the annotation)."""
    if obj is None:
        return None
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    if isinstance(meta.get("annotations"), dict):
        had = meta["annotations"]
        meta["annotations"] = {k: v for k, v in had.items() if k != LAST_APPLIED}
        if created and not meta["annotations"] and LAST_APPLIED in had:
            del meta["annotations"]
    return {**obj, "metadata": meta}


def _mask_secrets(live: dict[str, Any] | None,
                  merged: dict[str, Any] | None) -> tuple[dict[str, Any] | None,
                                                          dict[str, Any] | None]:
    """Secret values as kubectl diff masks them: ``***``, or ``*** (before)`` / ``***
    (after)`` where a value changed."""
    def data(obj: dict[str, Any] | None) -> dict[str, Any]:
        found = (obj or {}).get("data") if (obj or {}).get("kind") == "Secret" else None
        return found if isinstance(found, dict) else {}

    before, after = data(live), data(merged)
    if not before and not after:
        return live, merged
    masked_before = {k: "*** (before)" if k in after and after[k] != v else "***"
                     for k, v in before.items()}
    masked_after = {k: "*** (after)" if k in before and before[k] != v else "***"
                    for k, v in after.items()}
    return ({**live, "data": masked_before} if live is not None and before else live,
            {**merged, "data": masked_after} if merged is not None and after else merged)


def _stamp(path: Path) -> str:
    """GNU diff's header time: ``2026-01-02 03:04:05.123456789 +0000``."""
    ns = path.stat().st_mtime_ns
    local = time.localtime(ns // 1_000_000_000)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', local)}.{ns % 1_000_000_000:09d} " \
           f"{time.strftime('%z', local)}"


def _pairs(kube: Client, docs: list[Document], server_side: bool, field_manager: str,
           force: bool) -> list[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """``(file name, live, merged)`` of every document (an error raises)."""
    from ..apply import apply_client_side

    out = []
    for doc in docs:
        resource = kube.resource(str(doc.obj["kind"]), api_version=str(doc.obj["apiVersion"]))
        namespace = resource.namespace_of(doc.obj)
        name = str((doc.obj.get("metadata") or {}).get("name") or "")
        try:
            live: dict[str, Any] | None = resource.get(name, namespace)
        except NotFoundError:
            live = None
        if server_side:
            merged = resource.apply(doc.obj, namespace, dry_run=True, validate=False,
                                    field_manager=field_manager, force=force)
        else:
            with warnings.catch_warnings():  # kubectl diff says nothing of the annotation
                warnings.simplefilter("ignore", DynakubeWarning)
                merged = apply_client_side(kube, resource, doc.obj, namespace, dry_run=True,
                                           field_manager=field_manager)[0]
        out.append((file_name(merged), live, merged))
    return out


def _unified(name: str, live_dir: Path, merged_dir: Path) -> str:
    a, b = live_dir / name, merged_dir / name
    old = a.read_text(encoding="utf-8").splitlines(keepends=True)
    new = b.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = list(difflib.unified_diff(old, new, str(a), str(b), _stamp(a), _stamp(b)))
    if not lines:
        return ""
    return f"diff -u -N {a} {b}\n" + "".join(lines)


def diff_documents(kube: Client, docs: list[Document], *, server_side: bool = False,
                   field_manager: str = "dynakube", force: bool = False) -> str:
    """The unified diff ``kubectl diff`` prints for ``docs`` (empty: no differences)."""
    from ..apply import apply_order

    pairs = _pairs(kube, apply_order(docs), server_side, field_manager, force)
    live_dir = Path(tempfile.mkdtemp(prefix="LIVE-"))
    merged_dir = Path(tempfile.mkdtemp(prefix="MERGED-"))
    try:
        for name, live, merged in pairs:
            shown_live, shown_merged = _mask_secrets(prepared(live),
                                                     prepared(merged, created=live is None))
            (live_dir / name).write_text(printing.to_yaml(shown_live) if shown_live else "",
                                         encoding="utf-8")
            (merged_dir / name).write_text(printing.to_yaml(shown_merged), encoding="utf-8")
        return "".join(_unified(name, live_dir, merged_dir)
                       for name in sorted(os.listdir(live_dir)))
    finally:
        shutil.rmtree(live_dir, ignore_errors=True)
        shutil.rmtree(merged_dir, ignore_errors=True)


def cmd_diff(session: Session) -> int:
    """Print the differences; exit 0, 1 or 2 as ``kubectl diff``."""
    from .manifest import check_documents, read_documents

    args = session.args
    if not args.filename:
        session.stderr.write("error: must specify one of -f and -k\n")
        return FAILED
    try:
        docs, failures = read_documents(session, args.filename)
        kube = session.client
        if not failures:
            failures = check_documents(kube, docs, "Strict", partial=True).failures
        if failures:
            for source, error in failures:
                report_error(error, session.stderr, source)
            return FAILED
        text = diff_documents(kube, docs, server_side=args.server_side,
                              field_manager=args.field_manager, force=args.force_conflicts)
    except DynakubeError as e:
        report_error(e, session.stderr)
        return FAILED
    session.stdout.write(text)
    return 1 if text else 0
