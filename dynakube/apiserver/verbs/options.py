"""Request options of the write verbs, refused as kube-apiserver refuses them.

Each verb's options (``CreateOptions``, ``UpdateOptions``, ``PatchOptions``,
``DeleteOptions``) are checked before the body is looked at, and every problem becomes one
cause of a single ``422`` from the ``meta.k8s.io`` group, in the real server's order:
``force`` (a non-apply patch), ``fieldManager``, ``dryRun``, ``fieldValidation``. So
``dryRun=Yes`` is refused instead of being taken as a real write.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..call import Call
from ..status import cause, options_invalid

__all__ = ["FIELD_MANAGER_MAX_LENGTH", "check_write_options", "check_delete_options",
           "propagation_policy"]

FIELD_MANAGER_MAX_LENGTH = 128
_FIELD_VALIDATION = ("", "Ignore", "Strict", "Warn")
_POLICIES = ("Foreground", "Background", "Orphan")


def _printable(char: str) -> bool:
    """Go's ``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols, ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


def _field_manager(manager: str | None) -> list[dict[str, str]]:
    if not manager:
        return []
    causes = []
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        causes.append(cause("fieldManager", "FieldValueTooLong",
                            f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"))
    for index, char in enumerate(manager):
        if not _printable(char):
            causes.append(cause("fieldManager", "FieldValueInvalid",
                                f"Invalid value: {json.dumps(manager)}: invalid character "
                                f"U+{ord(char):04X} (at position {index})"))
    return causes


def _dry_run(values: list[str] | None) -> list[dict[str, str]]:
    if values is None or all(v == "All" for v in values):
        return []
    shown = json.dumps(values, separators=(",", ":"))
    return [cause("dryRun", "FieldValueNotSupported",
                  f'Unsupported value: {shown}: supported values: "All"')]


def _query_dry_run(call: Call) -> list[str] | None:
    return [call.query["dryRun"]] if "dryRun" in call.query else None


def check_write_options(call: Call, *, patch_type: str | None = None) -> None:
    """``422`` for the options of a create, replace or patch (``patch_type``: the patch's
    content type; ``"apply"`` for server-side apply)."""
    causes: list[dict[str, str]] = []
    manager = call.query.get("fieldManager")
    if call.method == "PATCH":
        kind = "PatchOptions"
        if patch_type != "apply":
            if "force" in call.query:
                causes.append(cause("force", "FieldValueForbidden",
                                    "Forbidden: may not be specified for non-apply patch"))
        elif not manager:
            causes.append(cause("fieldManager", "FieldValueRequired",
                                "Required value: is required for apply patch"))
    else:
        kind = "CreateOptions" if call.method == "POST" else "UpdateOptions"
    causes += _field_manager(manager)
    causes += _dry_run(_query_dry_run(call))
    mode = call.query.get("fieldValidation")
    if mode is not None and mode not in _FIELD_VALIDATION:
        causes.append(cause("fieldValidation", "FieldValueNotSupported",
                            f'Unsupported value: "{mode}": supported values: '
                            + ", ".join(f'"{v}"' for v in _FIELD_VALIDATION)))
    if causes:
        raise options_invalid(kind, causes)


def check_delete_options(opts: dict[str, Any]) -> None:
    """``422`` for ``DeleteOptions`` (merged from the body and the query)."""
    causes: list[dict[str, str]] = []
    policy = opts.get("propagationPolicy")
    if policy is not None and opts.get("orphanDependents") is not None:
        causes.append(cause("propagationPolicy", "FieldValueInvalid",
                            f"Invalid value: {json.dumps(policy)}: orphanDependents and "
                            "deletionPropagation cannot be both set"))
    if policy is not None and policy not in _POLICIES:
        causes.append(cause("propagationPolicy", "FieldValueNotSupported",
                            f"Unsupported value: {json.dumps(policy)}: supported values: "
                            '"Foreground", "Background", "Orphan", "nil"'))
    dry = opts.get("dryRun")
    causes += _dry_run([str(v) for v in dry] if isinstance(dry, list) else None)
    if causes:
        raise options_invalid("DeleteOptions", causes)


def propagation_policy(opts: dict[str, Any], default: str) -> str:
    """The propagation a delete uses: ``propagationPolicy``, else the deprecated
    ``orphanDependents`` (true: Orphan, false: Background), else the kind's default."""
    policy = opts.get("propagationPolicy")
    if policy:
        return str(policy)
    orphan = opts.get("orphanDependents")
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    return default
