"""kubectl's JSONPath template dialect (client-go ``util/jsonpath``), as a pure module.

A template mixes literal text with ``{...}`` actions: ``{.items[*].metadata.name}``,
``{range .items[*]}{.metadata.name}{"\\n"}{end}``, filters ``[?(@.type=="Ready")]``, slices
``[1:3]``, unions ``[0,2]``, ``..`` recursive descent, ``.*``, ``$`` / ``@``, quoted text, and
``\\.`` to keep a dot inside a key (``{.metadata.labels.app\\.kubernetes\\.io/name}``).

It behaves as kubectl does, because scripts depend on it: the results of one action are
joined by single spaces, maps and lists print as compact JSON, and a missing key is an
error (``"foo is not found"``) unless missing keys are allowed, as ``kubectl get`` allows
them by default (``--allow-missing-template-keys``). One deliberate difference: Go visits map
entries in random order for ``.*`` and ``..``; this module visits them sorted by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DynakubeError

__all__ = ["JSONPathError", "Template", "parse", "relaxed", "text_of", "go_value"]


class JSONPathError(DynakubeError):
    """A template that does not parse, or that fails on the object it is given."""


# -- nodes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None
    derived_stop: bool = False  # ``[n]``: the stop is n+1


@dataclass(frozen=True)
class _Filter:
    left: tuple[Any, ...]
    op: str  # "exists" or a comparison
    right: tuple[Any, ...]


@dataclass(frozen=True)
class _Const:
    value: Any


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Recursive:
    pass


@dataclass(frozen=True)
class _Union:
    branches: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class _Identifier:
    name: str


@dataclass
class _Range:
    """``{range EXPR}BODY{end}``: BODY runs once per result of EXPR."""

    expr: tuple[Any, ...]
    body: list[Any] = field(default_factory=list)


# -- parsing -------------------------------------------------------------------------------

_TERMINATORS = frozenset(" .,[]$@{}")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_DICT_KEY = re.compile(r"^'([^']*)'$")
_COMPARISON = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$")


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)


def _parse_action(sc: _Scanner) -> tuple[Any, ...]:
    """The nodes of one action, from after ``{`` to after its ``}``."""
    nodes: list[Any] = []
    while True:
        if sc.startswith("}"):
            sc.pos += 1
            return tuple(nodes)
        if sc.startswith("[?("):
            nodes.append(_parse_filter(sc))
            continue
        if sc.startswith(".."):
            sc.pos += 2
            nodes.append(_Recursive())
            if sc.peek().isalnum() or sc.peek() == "_":
                nodes.append(_parse_field(sc))
            continue
        ch = sc.next()
        if ch in ("", "\n"):
            raise JSONPathError("unclosed action")
        if ch in " @$":
            continue
        if ch == "[":
            nodes.append(_parse_bracket(sc))
        elif ch in "\"'":
            nodes.append(_Const(_parse_quote(sc, ch)))
        elif ch == ".":
            nodes.append(_parse_field(sc))
        elif ch in "+-" or ch.isdigit():
            sc.pos -= 1
            nodes.append(_parse_number(sc))
        elif ch.isalnum() or ch == "_":
            sc.pos -= 1
            nodes.append(_parse_identifier(sc))
        else:
            raise JSONPathError(f"unrecognized character in action: {_go_rune(ch)}")


def _go_rune(ch: str) -> str:
    return f"U+{ord(ch):04X} '{ch}'"


def _parse_field(sc: _Scanner) -> Any:
    start = sc.pos
    while (ch := sc.peek()) and ch not in _TERMINATORS:
        sc.pos += 2 if ch == "\\" else 1
    name = sc.text[start:sc.pos].replace("\\", "")
    return _Wildcard() if name == "*" else _Field(name)


def _parse_identifier(sc: _Scanner) -> Any:
    start = sc.pos
    while (ch := sc.peek()) and ch not in _TERMINATORS:
        sc.pos += 1
    word = sc.text[start:sc.pos]
    if word in ("true", "false"):
        return _Const(word == "true")
    return _Identifier(word)


def _parse_number(sc: _Scanner) -> _Const:
    start = sc.pos
    if sc.peek() in ("+", "-"):
        sc.pos += 1
    while (ch := sc.peek()) and (ch == "." or ch.isdigit()):
        sc.pos += 1
    text = sc.text[start:sc.pos]
    try:
        return _Const(int(text))
    except ValueError:
        pass
    try:
        return _Const(float(text))
    except ValueError:
        raise JSONPathError(f"cannot parse number {text}") from None


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "/": "/"}


def _parse_quote(sc: _Scanner, quote: str) -> str:
    out: list[str] = []
    while True:
        ch = sc.next()
        if ch in ("", "\n"):
            raise JSONPathError("unterminated quoted string")
        if ch == quote:
            return "".join(out)
        if ch != "\\":
            out.append(ch)
            continue
        esc = sc.next()
        if esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", sc.text[sc.pos:sc.pos + 4]):
            out.append(chr(int(sc.text[sc.pos:sc.pos + 4], 16)))
            sc.pos += 4
        elif esc in _ESCAPES:
            out.append(_ESCAPES[esc])
        else:
            raise JSONPathError(f"unquote string {quote}...{quote} error invalid syntax")


def _parse_bracket(sc: _Scanner) -> Any:
    start = sc.pos
    while (ch := sc.next()) != "]":
        if ch in ("", "\n"):
            raise JSONPathError("unterminated array")
    text = sc.text[start:sc.pos - 1]
    if text == "*":
        text = ":"
    parts = text.split(",")
    if len(parts) > 1:
        return _Union(tuple(_parse_inner(f"[{p.strip()}]") for p in parts))
    key = _DICT_KEY.match(text)
    if key:  # ['a.b'] reads as .a.b, as client-go reads it
        fields = _parse_inner("." + key.group(1))
        return fields[0] if len(fields) == 1 else _Union((fields,))
    match = _SLICE.match(text)
    if match is None:
        raise JSONPathError(f"invalid array index {text}")
    first, second, third = match.groups()
    start_at = int(first) if first not in ("", None) else None
    step = int(third[1:]) if third and third[1:] else None
    if second is None:  # [n]
        return _Slice(start_at, (start_at or 0) + 1, None, derived_stop=True)
    stop = int(second[1:]) if second[1:] else None
    return _Slice(start_at, stop, step)


def _parse_filter(sc: _Scanner) -> _Filter:
    sc.pos += 3
    start = sc.pos
    quote = ""
    opened = closed = False
    while True:
        ch = sc.next()
        if ch in ("", "\n"):
            raise JSONPathError("unterminated filter")
        if ch in "\"'":
            if not opened:
                opened, quote = True, ch
            elif ch == quote and sc.text[sc.pos - 2] != "\\":
                closed = True
        elif ch == ")" and opened == closed:
            break
    if sc.next() != "]":
        raise JSONPathError("unclosed array expect ]")
    text = sc.text[start:sc.pos - 2]
    match = _COMPARISON.match(text)
    if match is None:
        return _Filter(_parse_inner(text), "exists", ())
    return _Filter(_parse_inner(match.group(1)), match.group(2), _parse_inner(match.group(3)))


def _parse_inner(text: str) -> tuple[Any, ...]:
    """A fragment parsed as the body of one action (filters, unions, dict keys)."""
    return _parse_action(_Scanner(text + "}"))


def parse(template: str) -> Template:
    """Parse a kubectl JSONPath template; :class:`JSONPathError` names what is wrong."""
    sc = _Scanner(template)
    top: list[Any] = []
    stack: list[list[Any]] = [top]
    while sc.pos < len(template):
        brace = template.find("{", sc.pos)
        if brace < 0:
            stack[-1].append(template[sc.pos:])
            break
        if brace > sc.pos:
            stack[-1].append(template[sc.pos:brace])
        sc.pos = brace + 1
        nodes = _parse_action(sc)
        names = [n.name for n in nodes if isinstance(n, _Identifier)]
        if "range" in names:
            block = _Range(tuple(n for n in nodes if n != _Identifier("range")))
            stack[-1].append(block)
            stack.append(block.body)
        elif "end" in names:
            if len(stack) == 1:
                raise JSONPathError("not in range, nothing to end")
            stack.pop()
        else:
            stack[-1].append(nodes)
    return Template(template, top)


# -- evaluation ----------------------------------------------------------------------------

class Template:
    """A parsed template; :meth:`find` gives the results, :meth:`execute` the text."""

    def __init__(self, source: str, nodes: list[Any]):
        self.source = source
        self._nodes = nodes

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def find(self, data: Any, *, allow_missing_keys: bool = False) -> list[list[Any]]:
        """One list of values per action (and per literal text), ranges expanded."""
        out: list[list[Any]] = []
        _run(self._nodes, data, allow_missing_keys, out)
        return out

    def execute(self, data: Any, *, allow_missing_keys: bool = True) -> str:
        """The text kubectl prints: each action's values joined by one space."""
        return "".join(" ".join(text_of(v) for v in values)
                       for values in self.find(data, allow_missing_keys=allow_missing_keys))


def _run(nodes: Sequence[Any], data: Any, allow: bool, out: list[list[Any]]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append([node])
        elif isinstance(node, _Range):
            items = _walk(node.expr, [data], allow)
            for item in items:
                _run(node.body, item, allow, out)
            if not items:  # as client-go: the body still runs (and may fail) on nothing
                _run(node.body, None, allow, [])
        else:
            out.append(_walk(node, [data], allow))


def _walk(nodes: Sequence[Any], values: list[Any], allow: bool) -> list[Any]:
    for node in nodes:
        values = _step(node, values, allow)
    return values


def _step(node: Any, values: list[Any], allow: bool) -> list[Any]:
    if isinstance(node, _Field):
        return _field(node.name, values, allow)
    if isinstance(node, _Slice):
        return _slice(node, values)
    if isinstance(node, _Filter):
        return _filter(node, values, allow)
    if isinstance(node, _Const):
        return [node.value]
    if isinstance(node, _Wildcard):
        return [child for v in values for child in _children(v)]
    if isinstance(node, _Recursive):
        return _recursive(values)
    if isinstance(node, _Union):
        return [r for branch in node.branches for r in _walk(branch, values, allow)]
    raise JSONPathError(f"unrecognized identifier {node.name}")


def _field(name: str, values: list[Any], allow: bool) -> list[Any]:
    if not values:
        return values
    found = [v[name] for v in values if isinstance(v, Mapping) and name in v]
    if not found and not allow:
        raise JSONPathError(f"{name} is not found")
    return found


def _go_type(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string" if isinstance(value, str) else "interface {}"


def _slice(node: _Slice, values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value is None:
            continue
        if not isinstance(value, list):
            raise JSONPathError(f"{_go_type(value)} is not array or slice")
        length = len(value)
        start = 0 if node.start is None else node.start
        start += length if start < 0 else 0
        stop = length if node.stop is None else node.stop
        if stop < 0 or (stop == 0 and node.derived_stop):
            stop += length
        if start == stop:
            continue
        if not 0 <= start < length:
            raise JSONPathError(f"array index out of bounds: index {start}, length {length}")
        if not 0 <= stop <= length:
            raise JSONPathError(f"array index out of bounds: index {stop - 1}, length {length}")
        if start > stop:
            raise JSONPathError(f"starting index {start} is greater than ending index {stop}")
        if node.step is not None and node.step <= 0:
            raise JSONPathError("step must be > 0")
        out += value[start:stop:node.step or 1]
    return out


def _filter(node: _Filter, values: list[Any], allow: bool) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not isinstance(value, list):
            raise JSONPathError(f"{go_value(value)} is not array or slice and cannot be "
                                "filtered")
        for item in value:
            if node.op == "exists":
                try:
                    if _walk(node.left, [item], allow):
                        out.append(item)
                except JSONPathError:
                    pass
                continue
            lefts = _walk(node.left, [item], allow)
            if not lefts:
                continue
            rights = _walk(node.right, [item], allow)
            if not rights:
                continue
            if len(lefts) > 1 or len(rights) > 1:
                raise JSONPathError("can only compare one element at a time")
            if _compare(node.op, lefts[0], rights[0]):
                out.append(item)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(op: str, left: Any, right: Any) -> bool:
    """Go template comparison: same kinds only; bools equal or not, never ordered."""
    kind = _kind(left)
    if kind != _kind(right):
        raise JSONPathError("incompatible types for comparison")
    if op in ("==", "!="):
        if kind == "other":
            raise JSONPathError("invalid type for comparison")
        return (left == right) == (op == "==")
    if kind in ("bool", "other"):
        raise JSONPathError("invalid type for comparison")
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    if op == ">=":
        return bool(left >= right)
    raise JSONPathError(f"unrecognized filter operator {op}")


def _children(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [value[k] for k in sorted(value)]
    return list(value) if isinstance(value, list) else []


def _recursive(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        children = _children(value)
        if children:
            out.append(value)
            out += _recursive(children)
    return out


# -- text ----------------------------------------------------------------------------------

_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _go_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def text_of(value: Any) -> str:
    """One result as kubectl prints it: maps and lists as compact JSON, text as is."""
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True,
                          ensure_ascii=False).translate(_GO_ESCAPES)
    return "null" if value is None else go_value(value)


def go_value(value: Any) -> str:
    """Go's ``%v`` of a JSON value (custom columns print their cells with it)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return str(value)


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed(expression: str) -> str:
    """``.a.b``, ``a.b`` or ``{a.b}`` -> ``{.a.b}``: the form custom columns and
    ``--sort-by`` accept."""
    if not expression:
        return expression
    match = _RELAXED.match(expression)
    if match is None:
        raise JSONPathError("unexpected path string, expected a 'name1.name2' or "
                            "'.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
    return "{." + (match.group(1) or match.group(2)) + "}"
