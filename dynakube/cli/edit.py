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

from ..errors import ApiError, DynakubeError, InvalidError
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
    text = str(error.message if isinstance(error, ApiError) else error).replace("\n", "\n# ")
    return f"# {text}\n#\n"


def _parse(text: str, fmt: str) -> Any:
    import yaml

    try:
        return json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise EditError(f"The edited file had a syntax error: {e}") from e


def _edit_one(session: Session, target: Target) -> str:
    """Edit and save one object; returns kubectl's result line."""
    args = session.args
    shown = target.obj if args.show_managed_fields else without_managed_fields(target.obj)
    render = to_json if args.output == "json" else to_yaml
    original = render(shown)
    body = original
    reasons = ""
    with tempfile.TemporaryDirectory(prefix="dynakube-edit-") as folder:
        path = os.path.join(folder, f"{target.name}.{args.output}")
        while True:
            written = HEADER + reasons + body
            with open(path, "w", encoding="utf-8") as f:
                f.write(written)
            _run_editor(path)
            with open(path, encoding="utf-8") as f:
                edited = f.read()
            content = _strip_comments(edited)
            if not content.strip():
                return "Edit cancelled, saved file was empty."
            if reasons and content == body:  # a failure, then no new edit: give up
                return _abandon(session, edited)
            if content == original:
                return "Edit cancelled, no changes made."
            body = content
            try:
                new = _parse(content, args.output)
                patch = merge_patch(shown, new)
                if not patch:
                    return "Edit cancelled, no changes made."
                target.resource.patch(target.name, patch, target.namespace)
            except (EditError, ApiError) as e:
                reasons = _reasons(e, target)
                continue
            return f"{target.label()} edited"


def _abandon(session: Session, edited: str) -> str:
    with tempfile.NamedTemporaryFile("w", prefix="dynakube-edit-", suffix=".yaml",
                                     delete=False, encoding="utf-8") as f:
        f.write(edited)
    session.stderr.write(f'A copy of your changes has been stored to "{f.name}"\n')
    raise EditError("Edit cancelled, no valid changes were saved.")


def cmd_edit(session: Session) -> int:
    args = session.args
    failed = [False]
    targets = list(select(session, args.resource, args.names, prog="edit", failed=failed))
    if not targets and not failed[0]:
        raise UsageError("no objects to edit")
    for target in targets:
        session.stdout.write(_edit_one(session, target) + "\n")
    return 1 if failed[0] else 0
