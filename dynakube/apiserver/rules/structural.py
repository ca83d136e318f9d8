"""Custom resources checked the way kube-apiserver checks them against a CRD's structural schema.

The pipeline a server runs on a custom resource's body, in order:

1. :func:`prune` drops fields the schema does not know and returns their paths (for
   ``fieldValidation=Strict`` / ``Warn``: :func:`strict_decoding_message`,
   :func:`unknown_field_warning`);
2. :func:`apply_defaults` fills ``default`` values, drops ``null`` on non-nullable fields and
   stores whole floats given for integers as integers;
3. :func:`validate_custom_resource` returns the :class:`Cause` list, worded and ordered like the
   real server (OpenAPI schema errors from :mod:`.schemacheck`, embedded-resource checks,
   list-set/map duplicates, then ``x-kubernetes-validations`` CEL rules (:mod:`.cel`) or the
   note that they were skipped);
4. :func:`invalid_status` turns the causes into the ``422 Invalid`` ``Status`` body.

Built-in kinds decode differently (a wrong JSON type is a 400): see :mod:`.decoding`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from dynakube.apiserver.kinds.data import BUILTIN_SCHEMAS, META
from dynakube.apiserver.rules.cel import CelUnsupported, Program, compile_rule
from dynakube.apiserver.rules.schemacheck import (
    OMIT,
    Cause,
    Schema,
    field_cause,
    go_value,
    schema_causes,
    types_of,
)

__all__ = [
    "RULES_SKIPPED",
    "Cause",
    "apply_defaults",
    "go_value",
    "has_validation_rules",
    "invalid_status",
    "prepare_custom_resource",
    "prune",
    "strict_decoding_message",
    "unknown_field_warning",
    "validate_custom_resource",
]


RULES_SKIPPED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)
# Schema errors of these kinds stop CEL rules from running (the server's hasBlockingErr).
_BLOCKING = {"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
             "FieldValueTooMany", "FieldValueTypeInvalid"}


# ---------------------------------------------------------------- beyond OpenAPI


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _walk(value: Any, schema: Schema, path: str) -> Iterator[tuple[Any, Schema, str]]:
    """Every (value, schema, field path) pair, parents first; map keys as ``path[key]``."""
    yield value, schema, path
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            if key in properties:
                if not (path == "" and key == "metadata"):
                    yield from _walk(value[key], properties[key], _child(path, key))
            elif isinstance(additional, Mapping):
                yield from _walk(value[key], additional, f"{path}[{key}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _walk(item, schema["items"], f"{path}[{index}]")


def _embedded_errors(obj: Any, schema: Schema) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        if not node.get("x-kubernetes-embedded-resource") or not isinstance(value, dict):
            continue
        for key in ("apiVersion", "kind"):
            if key not in value:
                found.append(field_cause(_child(path, key), "FieldValueRequired",
                                    detail="must not be empty"))
            elif not isinstance(value[key], str):
                found.append(field_cause(_child(path, key), "FieldValueInvalid", value[key],
                                    "must be a string"))
            elif not value[key]:
                found.append(field_cause(_child(path, key), "FieldValueInvalid", "",
                                    "must not be empty"))
    return found


def _list_errors(obj: Any, schema: Schema) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        if not isinstance(value, list):
            continue
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            seen: set[str] = set()
            for index, item in enumerate(value):
                key = json.dumps(item, sort_keys=True)
                if key in seen:
                    found.append(field_cause(f"{path}[{index}]", "FieldValueDuplicate", item))
                seen.add(key)
        elif list_type == "map":
            keys = [str(k) for k in node.get("x-kubernetes-list-map-keys") or []]
            seen = set()
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                entry = {k: item[k] for k in keys if k in item}
                key = json.dumps(entry, sort_keys=True)
                if key in seen:
                    found.append(field_cause(f"{path}[{index}]", "FieldValueDuplicate", entry))
                seen.add(key)
    return found


def has_validation_rules(schema: Any) -> bool:
    """Whether ``schema`` has ``x-kubernetes-validations`` anywhere."""
    if isinstance(schema, Mapping):
        if schema.get("x-kubernetes-validations"):
            return True
        return any(has_validation_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_validation_rules(v) for v in schema)
    return False


_COMPILED: dict[str, Program | None] = {}


def _program(rule: str) -> Program | None:
    if rule not in _COMPILED:
        try:
            _COMPILED[rule] = compile_rule(rule)
        except CelUnsupported:
            _COMPILED[rule] = None
    return _COMPILED[rule]


def _old_value(old: Any, path: str) -> tuple[bool, Any]:
    current = old
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path):
        key = part[1:-1] if part.startswith("[") else part
        if isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        elif isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return False, None
    return True, current


def _cel_errors(obj: Any, schema: Schema, old: Any) -> list[Cause]:
    found = []
    for value, node, path in _walk(obj, schema, ""):
        for rule in node.get("x-kubernetes-validations") or []:
            if not isinstance(rule, Mapping) or not isinstance(rule.get("rule"), str):
                continue
            program = _program(rule["rule"])
            if program is None:
                continue
            has_old, old_value = (False, None)
            if program.uses_old_self:
                has_old, old_value = _old_value(old, path) if old is not None else (False, None)
                if not has_old and not rule.get("optionalOldSelf"):
                    continue  # transition rules only run on updates
            try:
                ok = program.evaluate(value, old_value, has_old)
            except CelUnsupported:
                continue
            if ok:
                continue
            message = str(rule.get("message") or "").strip() or f"failed rule: {rule['rule']}"
            field = path
            extra = rule.get("fieldPath")
            if isinstance(extra, str) and extra:
                field = f"{path}{extra}" if path else extra.lstrip(".")
            reason = str(rule.get("reason") or "FieldValueInvalid")
            found.append(field_cause(field, reason, OMIT, message))
    return found


def validate_custom_resource(obj: Any, schema: Schema, old: Any = None) -> list[Cause]:
    """The causes a real server reports for ``obj`` (already pruned and defaulted).

    ``old`` is the stored object on updates (for CEL transition rules). Empty when valid.
    """
    causes = schema_causes(obj, schema)
    causes.extend(_embedded_errors(obj, schema))
    causes.extend(_list_errors(obj, schema))
    if has_validation_rules(schema):
        if any(c.reason in _BLOCKING for c in causes):
            causes.append(Cause("<nil>", "FieldValueInvalid", f"Invalid value: null: "
                                                                f"{RULES_SKIPPED}"))
        else:
            causes.extend(_cel_errors(obj, schema, old))
    return causes


def invalid_status(kind: str, group: str, name: str, causes: list[Cause]) -> dict[str, Any]:
    """The ``422 Invalid`` Status body: ``Widget.example.dynakube.io "w2" is invalid: [...]``."""
    qualified = f"{kind}.{group}" if group else kind
    texts: list[str] = []
    for cause in causes:
        if str(cause) not in texts:
            texts.append(str(cause))
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind,
                               "causes": [c.as_dict() for c in causes]}
    if not group:
        del details["group"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"{qualified} {go_value(name)} is invalid: {summary}",
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }


# ---------------------------------------------------------------- pruning and defaulting

_OBJECT_META = BUILTIN_SCHEMAS[META + "ObjectMeta"]


def _prune_metadata(value: Any, path: str, unknown: list[str]) -> None:
    if not isinstance(value, dict):
        return
    known = _OBJECT_META["properties"]
    for key in list(value):
        if key not in known:
            del value[key]
            unknown.append(_child(path, key))


def _prune(value: Any, schema: Schema, path: str, unknown: list[str], resource: bool) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for key in list(value):
            child = _child(path, key)
            if resource and key in ("apiVersion", "kind"):
                continue
            if resource and key == "metadata":
                _prune_metadata(value[key], child, unknown)
            elif key in properties:
                sub = properties[key]
                _prune(value[key], sub, child, unknown, bool(sub.get(
                    "x-kubernetes-embedded-resource")))
            elif isinstance(additional, Mapping):
                _prune(value[key], additional, child, unknown, bool(additional.get(
                    "x-kubernetes-embedded-resource")))
            elif not (preserve or additional is True):
                del value[key]
                unknown.append(child)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        for index, item in enumerate(value):
            _prune(item, items, f"{path}[{index}]", unknown,
                   bool(items.get("x-kubernetes-embedded-resource")))


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Remove, in place, the fields ``schema`` does not know; return their paths.

    Respects ``x-kubernetes-preserve-unknown-fields`` and ``additionalProperties``; the root
    and ``x-kubernetes-embedded-resource`` objects keep ``apiVersion``/``kind``/``metadata``,
    with ``metadata`` pruned to ObjectMeta's fields (``metadata.bogus`` is reported too).
    """
    unknown: list[str] = []
    _prune(obj, schema, "", unknown, True)
    return unknown


def _default(value: Any, schema: Schema, root: bool = False) -> Any:
    """Defaults, null dropping and float-to-int below ``value``; returns the new value."""
    types = types_of(schema)
    if isinstance(value, float) and value.is_integer() and "integer" in types:
        return int(value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if root and key == "metadata":
                continue
            if "default" in sub and (key not in value or (value[key] is None and not sub.get(
                    "nullable"))):
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                if value[key] is None and not sub.get("nullable"):
                    del value[key]
                    continue
                value[key] = _default(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in list(value):
                if key in properties:
                    continue
                if value[key] is None and not additional.get("nullable"):
                    del value[key]
                    continue
                value[key] = _default(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            value[index] = _default(item, schema["items"])
    return value


def apply_defaults(obj: dict[str, Any], schema: Schema) -> None:
    """Apply ``default`` values in place, the way the server does on create and update.

    Also drops ``null`` from non-nullable fields (a default replaces it when there is one)
    and stores whole floats given for integer fields as integers.
    """
    _default(obj, schema, root=True)


def prepare_custom_resource(obj: dict[str, Any], schema: Schema) -> list[str]:
    """:func:`prune` then :func:`apply_defaults`; returns the unknown field paths."""
    unknown = prune(obj, schema)
    apply_defaults(obj, schema)
    return unknown


def strict_decoding_message(kind: str, version: str, unknown: list[str]) -> str:
    """The 400 message for ``fieldValidation=Strict`` with unknown fields."""
    fields = ", ".join(f"unknown field {go_value(p)}" for p in unknown)
    return (f"{kind} in version {go_value(version)} cannot be handled as a {kind}: "
            f"strict decoding error: {fields}")


def unknown_field_warning(path: str) -> str:
    """The text of one ``Warning`` for ``fieldValidation=Warn`` (before ``299 - "..."``)."""
    return f"unknown field {go_value(path)}"
