"""``dynakube edit TYPE NAME``: the object in ``$KUBE_EDITOR`` (else ``$EDITOR``, else
``vi``), then what changed saved to the server, as ``kubectl edit`` does.

The file starts with kubectl's comment header; ``managedFields`` are left out (unless
``--show-managed-fields``). Saving it unchanged prints ``Edit cancelled, no changes made.``;
an empty file cancels too. A file that does not parse, or that the server refuses, is
opened again with the reasons in the header (kubectl's ``# * field: message`` lines) and
the edited text kept; closing it again unchanged stops with kubectl's error and leaves a
copy of the edits on disk. What is sent is a JSON merge patch of the edits, so fields the
file did not touch (status, others' changes) are left alone.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from typing import Any

from ..errors import ApiError, DynakubeError, InvalidError, ValidationError
from .output import without_managed_fields
from .printing import to_json, to_yaml
from .session import Session, UsageError
from .targets import Target, select

__all__ = ["HEADER", "EditError", "cmd_edit", "merge_patch"]

HEADER = """\
# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
"""


class EditError(DynakubeError):
    """The editor could not run, or the edits were abandoned after a failure."""


def merge_patch(old: Any, new: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return new
    patch: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        if key not in new:
            patch[key] = None
        elif key not in old:
            patch[key] = new[key]
        elif old[key] != new[key]:
            patch[key] = merge_patch(old[key], new[key])
    return patch


def _editor_command(path: str) -> list[str]:
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    if any(ch in editor for ch in "|&;<>()$`\"'"):  # shell syntax: let a shell run it
        return ["sh", "-c", f"{editor} {shlex.quote(path)}"]
    return [*shlex.split(editor), path]


def _run_editor(path: str) -> None:
    command = _editor_command(path)
    try:
        code = subprocess.call(command)
    except OSError as e:
        raise EditError(f"unable to launch the editor {command[0]!r}: {e.strerror}; set "
                        "KUBE_EDITOR or EDITOR") from e
    if code != 0:
        raise EditError(f"there was a problem with the editor {command[0]!r} (exit {code})")


def _strip_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("#"))


def _reasons(error: BaseException, target: Target) -> str:
    if isinstance(error, InvalidError):
        head = f"{target.resource.info.qualified} \"{target.name}\" was not valid"
        causes = [f"{c.get('field') or '<nil>'}: {c.get('message')}" for c in error.causes]
        lines = [f"# {head}:" if causes else f"# {head}"] + [f"# * {c}" for c in causes]
        return "\n".join(lines) + "\n#\n"
    if isinstance(error, ValidationError):
        head = f"{target.resource.info.qualified} \"{target.name}\" was not valid"
        return "\n".join([f"# {head}:", *(f"# * {p}" for p in error.problems
                                           if p.severity == "error")]) + "\n#\n"
    text = str(error.message if isinstance(error, ApiError) else error).replace("\n", "\n# ")
    return f"# {text}\n#\n"


def _parse(text: str, fmt: str) -> Any:
    import yaml

    try:
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise EditError(f"The edited file had a syntax error: {e}") from e


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind") or ""), str(meta.get("namespace") or ""),
            str(meta.get("name") or ""))


def _save(targets: list[Target], shown: list[dict[str, Any]], new: Any,
          listed: bool) -> list[str]:
    """Patch what changed; returns the result lines (empty: nothing changed)."""
    if not listed:
        pairs = [(targets[0], shown[0], new)]
    else:
        if not isinstance(new, Mapping) or not isinstance(new.get("items"), list):
            raise EditError("the edited file must stay a List with its items")
        known = {_key(obj): i for i, obj in enumerate(shown)}
        pairs = []
        for item in new["items"]:
            if not isinstance(item, Mapping) or _key(item) not in known:
                raise EditError("the edited List has an object that was not in it: "
                                + "/".join(p for p in _key(item if isinstance(
                                    item, Mapping) else {}) if p))
            i = known[_key(item)]
            pairs.append((targets[i], shown[i], item))
    lines = []
    for target, old, edited in pairs:
        patch = merge_patch(old, edited)
        if patch:
            target.resource.patch(target.name, patch, target.namespace)
            lines.append(f"{target.label()} edited")
    return lines


def _edit(session: Session, targets: list[Target]) -> list[str]:
    """Edit and save the objects (several: in one file, as a List, as kubectl); returns
    kubectl's result lines."""
    args = session.args
    shown = [t.obj if args.show_managed_fields else without_managed_fields(t.obj)
             for t in targets]
    listed = len(targets) > 1
    document: Any = {"apiVersion": "v1", "items": shown, "kind": "List",
                     "metadata": {"resourceVersion": ""}} if listed else shown[0]
    render = to_json if args.output == "json" else to_yaml
    original = render(document)
    body = original
    reasons = ""
    with tempfile.TemporaryDirectory(prefix="dynakube-edit-") as folder:
        name = "list" if listed else targets[0].name
        path = os.path.join(folder, f"{name}.{args.output}")
        while True:
            written = HEADER + reasons + body
            with open(path, "w", encoding="utf-8") as f:
                f.write(written)
            _run_editor(path)
            with open(path, encoding="utf-8") as f:
                edited = f.read()
            content = _strip_comments(edited)
            if not content.strip():
                return ["Edit cancelled, saved file was empty."]
            if reasons and content == body:  # a failure, then no new edit: give up
                return [_abandon(session, edited)]
            if content == original:
                return ["Edit cancelled, no changes made."]
            body = content
            try:
                lines = _save(targets, shown, _parse(content, args.output), listed)
            except DynakubeError as e:  # a syntax error, client-side validation, refusal
                reasons = _reasons(e, targets[0])
                continue
            return lines or ["Edit cancelled, no changes made."]


def _abandon(session: Session, edited: str) -> str:
    with tempfile.NamedTemporaryFile("w", prefix="dynakube-edit-", suffix=".yaml",
                                     delete=False, encoding="utf-8") as f:
        f.write(edited)
    session.stderr.write(f'A copy of your changes has been stored to "{f.name}"\n')
    raise EditError("Edit cancelled, no valid changes were saved.")


def cmd_edit(session: Session) -> int:
    args = session.args
    if args.resource and "/" not in args.resource and not args.names:
        args.all = True  # as kubectl: `edit cm` edits every ConfigMap, in one List
    failed = [False]
    targets = list(select(session, args.resource, args.names, prog="edit", failed=failed))
    if not targets and not failed[0]:
        raise UsageError("no objects to edit")
    if targets:
        for line in _edit(session, targets):
            # as kubectl: a cancelled edit is told on stderr, an edited object on stdout
            (session.stderr if line.startswith("Edit cancelled") else session.stdout).write(
                line + "\n")
    return 1 if failed[0] else 0
