"""A quick yes/no check that an object is clean, so ordinary objects skip ``jsonschema``.

``jsonschema`` walks a Deployment in about a millisecond; this compiles a converted schema
(see ``openapi.py``) into nested Python closures that answer "is there nothing at all to
report?" in a few dozen microseconds. It is deliberately conservative: anything it does not
model exactly (a ``null``, a whole float for an integer, an unfamiliar keyword) counts as
"not clean", and then the full validator (``validation.py``) decides what, if anything, is
wrong. So it can cost time, never correctness: it must only ever say "clean" when the full
validator would report nothing. ``builtin`` and ``partial`` mean what they mean there
(``keywords.py``): a partial object skips the keywords a merge may satisfy, a built-in kind
takes ``""`` for an enum and has no list uniqueness.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .formats import check_format, pattern_matcher
from .keywords import PARTIAL_SKIPPED

__all__ = ["Check", "compile_check"]

Check = Callable[[Any], bool]

# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset({
    "description", "default", "example", "title", "readOnly", "nullable", "$schema",
    "x-kubernetes-group-version-kind", "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key", "x-kubernetes-map-type", "x-kubernetes-unions",
    "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource", "x-kubernetes-validations",
    "x-kubernetes-list-map-keys", "x-kubernetes-selectable-fields", "externalDocs",
    "deprecated", "discriminator", "id", "definitions",
})

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _key(value: Any) -> Any:
    if isinstance(value, (str, int, bool)):
        return (type(value).__name__, value)
    return json.dumps(value, sort_keys=True, default=str)


def compile_check(schema: Mapping[str, Any], resolve: Callable[[str], Mapping[str, Any]],
                  *, builtin: bool = False, partial: bool = False) -> Check:
    """Compile ``schema``; ``resolve(ref)`` returns the schema a ``$ref`` points at."""
    compiled: dict[str, Check] = {}
    rules = _Rules(builtin, partial)

    def ref_check(ref: str) -> Check:
        found = compiled.get(ref)
        if found is not None:
            return found
        cell: list[Check] = []
        compiled[ref] = lambda v: cell[0](v)  # recursion: filled in just below
        cell.append(build(resolve(ref)))
        compiled[ref] = cell[0]
        return cell[0]

    def build(node: Mapping[str, Any]) -> Check:
        if not isinstance(node, Mapping):
            return _never
        if "$ref" in node:
            ref = node["$ref"]
            return ref_check(ref) if isinstance(ref, str) else _never
        checks: list[Check] = []
        typ = node.get("type")
        props_raw = node.get("properties")
        props: dict[str, Check] = {}
        for key, value in node.items():
            if key in _ANNOTATIONS or key in ("properties", "type"):
                continue
            check = _keyword(key, value, node, build, rules)
            if check is None:
                return _never  # something this module does not model: let jsonschema look
            checks.append(check)
        if isinstance(props_raw, Mapping):
            props = {name: build(sub) for name, sub in props_raw.items()}
        if typ is not None:
            names = typ if isinstance(typ, list) else [typ]
            tests = [_TYPES.get(t, _never) for t in names]
            test = tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))
        else:
            test = _not_null
        return _node_check(test, props, tuple(checks))

    return build(schema)


def _node_check(test: Check, props: dict[str, Check], rest: tuple[Check, ...]) -> Check:
    get = props.get

    def check(value: Any) -> bool:
        if not test(value):
            return False
        if props and isinstance(value, dict):
            for name, item in value.items():  # objects set far fewer fields than exist
                sub = get(name)
                if sub is not None and not sub(item):
                    return False
        for extra in rest:
            if not extra(value):
                return False
        return True

    return check


def _not_null(value: Any) -> bool:
    return value is not None


class _Rules:
    """Which kind of object the check is compiled for."""

    def __init__(self, builtin: bool, partial: bool):
        self.builtin = builtin
        self.partial = partial


def _keyword(key: str, value: Any, node: Mapping[str, Any],
             build: Callable[[Mapping[str, Any]], Check], rules: _Rules) -> Check | None:
    """One keyword as a check on values of any type (``None``: not modelled)."""
    if rules.partial and key in PARTIAL_SKIPPED:
        return _always
    if key == "required" and isinstance(value, list):
        names = tuple(value)
        return lambda v: not isinstance(v, dict) or all(v.get(n) is not None for n in names)
    if key == "additionalProperties":
        props = node.get("properties")
        known = frozenset(props) if isinstance(props, Mapping) else frozenset()
        if value is False:
            return lambda v: not isinstance(v, dict) or v.keys() <= known
        if value is True:
            return _always
        if isinstance(value, Mapping):
            sub = build(value)
            return lambda v: not isinstance(v, dict) or all(
                sub(x) for k, x in v.items() if k not in known)
        return None
    if key == "items" and isinstance(value, Mapping):
        sub = build(value)
        return lambda v: not isinstance(v, (list, tuple)) or all(sub(x) for x in v)
    if key == "allOf" and isinstance(value, list):
        subs = [build(s) for s in value]
        return lambda v: all(s(v) for s in subs)
    if key in ("anyOf", "oneOf") and isinstance(value, list):
        subs = [build(s) for s in value]
        return lambda v: any(s(v) for s in subs)
    if key == "enum" and isinstance(value, list):
        allowed = {_key(e) for e in value}
        if rules.builtin:
            allowed.add(_key(""))  # Go's zero value: not set
        return lambda v: _key(v) in allowed
    if key == "pattern" and isinstance(value, str):
        matches = pattern_matcher(value)
        if matches is None:
            return None
        return lambda v: not isinstance(v, str) or matches(v)
    if key == "format" and isinstance(value, str):
        fmt, builtin = value, rules.builtin
        return lambda v: check_format(fmt, v, builtin=builtin) is None
    if key == "x-kubernetes-list-type":
        if value == "atomic" or rules.builtin:
            return _always
        if value == "set":
            return _unique_set
        if value == "map":
            keys = node.get("x-kubernetes-list-map-keys")
            if not isinstance(keys, list):
                return None
            fields = tuple(keys)

            def unique_map(v: Any) -> bool:
                if not isinstance(v, (list, tuple)) or len(v) < 2:
                    return True
                seen = set()
                for item in v:
                    if not isinstance(item, dict) or not all(k in item for k in fields):
                        return False  # defaults may apply: let the full validator decide
                    seen.add(tuple(_key(item[k]) for k in fields))
                return len(seen) == len(v)

            return unique_map
        return None
    return _bound(key, value)


def _unique_set(v: Any) -> bool:
    return not isinstance(v, (list, tuple)) or len({_key(x) for x in v}) == len(v)


def _bound(key: str, value: Any) -> Check | None:
    """Numeric, length and size bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _number_bound(key, value)
    sized: dict[str, tuple[Any, bool]] = {
        "minLength": (str, True), "maxLength": (str, False),
        "minItems": ((list, tuple), True), "maxItems": ((list, tuple), False),
        "minProperties": (dict, True), "maxProperties": (dict, False),
    }
    if key in sized:
        kinds, lower = sized[key]
        if lower:
            return lambda v: not isinstance(v, kinds) or len(v) >= value
        return lambda v: not isinstance(v, kinds) or len(v) <= value
    if key == "multipleOf":
        return lambda v: not _is_number(v) or _is_multiple(v, value)
    return None


def _is_multiple(v: float, step: float) -> bool:
    """Whether ``v`` is a whole multiple of ``step``; an infinite or NaN value is not clean."""
    try:
        quotient = v / step
        return quotient == int(quotient)
    except (OverflowError, ValueError, ZeroDivisionError):
        return False


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number_bound(key: str, value: float) -> Check | None:
    # Draft 4: exclusiveMinimum/Maximum are booleans beside minimum/maximum, so the numeric
    # forms never come here alone; they are handled by reading the node in the caller.
    if key == "minimum":
        return lambda v: not _is_number(v) or v >= value
    if key == "maximum":
        return lambda v: not _is_number(v) or v <= value
    return None
