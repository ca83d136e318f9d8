"""``dynakube label`` and ``dynakube annotate``: set ``KEY=VALUE`` and remove ``KEY-`` on
live objects, with kubectl's rules and result lines.

A key that already has another value is refused unless ``--overwrite`` (kubectl's words for
each command); a label removed that was not there prints ``label "k" not found.``. Each
object gets one JSON merge patch of ``metadata.labels``/``metadata.annotations``, and no
request at all when nothing would change. The result line is kubectl's: ``labeled``,
``unlabeled`` or ``not labeled``; ``annotated``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from ..errors import ApiError
from .session import Session, UsageError
from .targets import Target, report, select

__all__ = ["cmd_annotate", "cmd_label", "parse_changes"]


def parse_changes(words: Sequence[str], what: str) -> tuple[list[str], dict[str, str],
                                                             list[str]]:
    """``NAME... KEY=VALUE... KEY-...`` -> names, the keys to set, the keys to remove."""
    names: list[str] = []
    sets: dict[str, str] = {}
    removes: list[str] = []
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            sets[key] = value
        elif word.endswith("-") and len(word) > 1:
            removes.append(word[:-1])
        else:
            names.append(word)
    if not sets and not removes:
        raise UsageError(f"at least one {'annotation' if what == 'annotate' else what} "
                         "update is required")
    if set(sets) & set(removes):
        one = "a label" if what == "label" else "an annotation"
        raise UsageError(f"can not both modify and remove {one} in the same command")
    return names, sets, removes


def _refusal(field: str, current: Mapping[str, str], sets: Mapping[str, str]) -> str | None:
    taken = [(k, current[k]) for k in sets if k in current and current[k] != sets[k]]
    if not taken:
        return None
    if field == "annotations":
        return ("--overwrite is false but found the following declared annotation(s): "
                + "; ".join(f"'{k}' already has a value ({v})" for k, v in taken))
    texts = [f"'{k}' already has a value ({v}), and --overwrite is false" for k, v in taken]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _change(session: Session, target: Target, field: str, sets: Mapping[str, str],
            removes: Sequence[str]) -> str:
    """Patch one object; returns kubectl's result word for it."""
    args = session.args
    current: dict[str, str] = dict(target.obj["metadata"].get(field) or {})
    if not args.overwrite:
        refused = _refusal(field, current, sets)
        if refused:
            raise UsageError(refused)
    wanted = dict(current)
    for key in removes:
        if key not in wanted and field == "labels":
            session.stdout.write(f'label "{key}" not found.\n')
        wanted.pop(key, None)
    wanted.update(sets)
    if field == "annotations":
        word = "annotated"
    elif wanted == current:
        word = "not labeled"
    elif not args.overwrite and len(json.dumps(wanted)) < len(json.dumps(current)):
        word = "unlabeled"  # kubectl's rule: the object got shorter
    else:
        word = "labeled"
    if wanted != current:
        patch = {k: wanted.get(k) for k in set(current) | set(wanted)
                 if current.get(k) != wanted.get(k)}
        target.resource.patch(target.name, {"metadata": {field: patch}}, target.namespace)
    return word


def _run(session: Session, field: str, what: str) -> int:
    args = session.args
    if not args.resource:
        raise UsageError("one or more resources must be specified as <resource> <name> or "
                         "<resource>/<name>")
    names, sets, removes = parse_changes(args.words, what)
    failed = [False]
    for target in select(session, args.resource, names, prog=what, failed=failed):
        try:
            word = _change(session, target, field, sets, removes)
        except ApiError as e:
            report(session, e, failed)
            continue
        session.stdout.write(f"{target.label()} {word}\n")
    return 1 if failed[0] else 0


def cmd_label(session: Session) -> int:
    return _run(session, "labels", "label")


def cmd_annotate(session: Session) -> int:
    return _run(session, "annotations", "annotate")
