"""Label and field selectors: parsing and matching as the API server does, formatting for clients.

The embedded API server needs the real grammar (with the real error wording, so a malformed
selector gets the same ``400`` message as from kube-apiserver); the client needs the reverse,
turning ``{"app": "web"}`` into ``app=web``. Both live here, free of I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgumentError

__all__ = [
    "SelectorError",
    "Requirement",
    "LabelSelector",
    "FieldRequirement",
    "FieldSelector",
    "parse_label_selector",
    "parse_field_selector",
    "format_label_selector",
    "format_field_selector",
]


class SelectorError(InvalidArgumentError):
    """A selector that does not parse; the message is worded as kube-apiserver words it.

    An :class:`~dynakube.errors.InvalidArgumentError` (so also a ``ValueError``), like every
    other refused argument.
    """


# --- lexer (k8s.io/apimachinery/pkg/labels) -------------------------------------------------

_ID, _EOS, _ERR = "ID", "EOS", "ERR"
_TOKENS = {
    ")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": "gt", "<": "lt",
    "!=": "!=", "(": "(", "in": "in", "notin": "notin",
}
_SPECIAL = set("=!(),><")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            out.append((_EOS, ""))
            return out
        ch = text[i]
        if ch in _SPECIAL:
            buf = ch
            i += 1
            while i < n and text[i] in _SPECIAL and (buf + text[i]) in _TOKENS:
                buf += text[i]
                i += 1
            if buf in _TOKENS:
                out.append((_TOKENS[buf], buf))
            else:
                out.append((_ERR, f"error expected: keyword found '{buf}'"))
                out.append((_EOS, ""))
                return out
        else:
            start = i
            while i < n and text[i] not in _SPECIAL and text[i] not in " \t\r\n":
                i += 1
            word = text[start:i]
            out.append((_TOKENS.get(word, _ID) if word in ("in", "notin") else _ID, word))


_INTEGER = re.compile(r"[-+]?[0-9]+")


def _int64(text: str | None) -> int | None:
    """``text`` as Go's ``strconv.ParseInt(text, 10, 64)`` reads it, or None.

    Python's ``int()`` also takes ``1_000``, spaces and non-ASCII digits, which are valid
    label values the server never reads as numbers.
    """
    if text is None or not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True)
class Requirement:
    """One term: ``key op values`` with op in ``in notin = == != exists !`` (``!`` = absent)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in ("=", "==", "in"):
            return self.key in labels and labels[self.key] in self.values
        if op in ("!=", "notin"):
            return self.key not in labels or labels[self.key] not in self.values
        if op == "exists":
            return self.key in labels
        if op == "!":
            return self.key not in labels
        if op in ("gt", "lt"):
            have = _int64(labels.get(self.key))
            want = _int64(self.values[0]) if len(self.values) == 1 else None
            if have is None or want is None:
                return False
            return have > want if op == "gt" else have < want
        return False  # pragma: no cover - operators are closed above

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return "!" + self.key
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        op = {"gt": ">", "lt": "<"}.get(self.operator, self.operator)
        return f"{self.key}{op}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
             "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
              "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
              "or 'my_value',  or '12345', regex used for validation is "
              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def _key_problems(key: str) -> list[str]:
    problems: list[str] = []
    prefix, _, name = key.rpartition("/")
    if "/" in key and key.count("/") > 1:
        return ["a qualified name " + _NAME_MSG.replace("name part ", "")]
    if prefix or "/" in key:
        if not prefix:
            problems.append("prefix part must be non-empty")
        elif len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            problems.append("prefix part a lowercase RFC 1123 subdomain must consist of lower case "
                            "alphanumeric characters, '-' or '.', and must start and end with an "
                            "alphanumeric character (e.g. 'example.com', regex used for "
                            "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]"
                            "([-a-z0-9]*[a-z0-9])?)*')")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        problems.append(_NAME_MSG)
    return problems


def _requirement(key: str, op: str, values: list[str]) -> Requirement:
    problems = _key_problems(key)
    if problems:
        raise SelectorError(f"key: Invalid value: \"{key}\": " + "; ".join(problems))
    if op in ("in", "notin") and not values:
        raise SelectorError("values: Invalid value: []: for 'in', 'notin' operators, "
                            "values set can't be empty")
    if op in ("gt", "lt"):
        if len(values) != 1:
            raise SelectorError("values: Invalid value: []: for 'Gt', 'Lt' operators, exactly "
                                "one value is required")
        if _int64(values[0]) is None:
            raise SelectorError(f"values[0]: Invalid value: \"{values[0]}\": for 'Gt', 'Lt' "
                                "operators, the value must be an integer")
    for i, value in enumerate(values):
        if len(value) > 63:
            raise SelectorError(f"values[{i}]: Invalid value: \"{value}\": must be no more than "
                                "63 characters")
        if not _LABEL_VALUE.match(value):
            raise SelectorError(f"values[{i}]: Invalid value: \"{value}\": {_VALUE_MSG}")
    return Requirement(key, op, tuple(sorted(set(values))))


class _Parser:
    def __init__(self, text: str):
        self.tokens = _lex(text)
        self.pos = 0

    def _peek(self, values: bool) -> tuple[str, str]:
        tok, lit = self.tokens[min(self.pos, len(self.tokens) - 1)]
        if values and tok in ("in", "notin"):
            tok = _ID
        return tok, lit

    def _next(self, values: bool) -> tuple[str, str]:
        item = self._peek(values)
        self.pos += 1
        return item

    def parse(self) -> LabelSelector:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self._peek(True)
            if tok in (_ID, "!"):
                try:
                    reqs.append(self._requirement())
                except SelectorError as exc:
                    raise SelectorError(f"unable to parse requirement: {exc}") from None
                tok, lit = self._next(True)
                if tok == _EOS:
                    return LabelSelector(tuple(reqs))
                if tok == ",":
                    tok2, lit2 = self._peek(True)
                    if tok2 not in (_ID, "!"):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return LabelSelector(tuple(reqs))
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        tok, lit = self._next(True)
        negated = tok == "!"
        if negated:
            tok, lit = self._next(True)
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        key = lit
        nxt, _ = self._peek(True)
        if nxt in (_EOS, ","):
            return _requirement(key, "!" if negated else "exists", [])
        if negated:
            # "!key op ..." is not a thing: the operator position holds whatever follows.
            return _requirement(key, "!", [])
        tok, lit = self._next(False)
        if tok not in ("=", "==", "!=", "in", "notin", "gt", "lt"):
            raise SelectorError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        if tok in ("in", "notin"):
            return _requirement(key, tok, self._set_values())
        nxt, _ = self._peek(True)
        if nxt in (_EOS, ","):
            return _requirement(key, tok, [""])
        vtok, vlit = self._next(True)
        if vtok != _ID:
            raise SelectorError(f"found '{vlit}', expected: identifier")
        return _requirement(key, tok, [vlit])

    def _set_values(self) -> list[str]:
        tok, lit = self._next(True)
        if tok != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._peek(True)
        if tok == ")":
            self._next(True)
            return [""]
        if tok not in (_ID, ","):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values: list[str] = []
        while True:
            tok, lit = self._next(True)
            if tok == _ID:
                values.append(lit)
                tok2, lit2 = self._peek(True)
                if tok2 == ",":
                    self._next(True)
                    tok3, _ = self._peek(True)
                    if tok3 == ")":
                        values.append("")
                        self._next(True)
                        return values
                    continue
                if tok2 == ")":
                    self._next(True)
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == ",":
                values.append("")
                tok2, _ = self._peek(True)
                if tok2 == ")":
                    self._next(True)
                    return values
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a ``labelSelector`` query value; raises :class:`SelectorError` when malformed."""
    if not text or not text.strip():
        return LabelSelector()
    for tok, lit in _lex(text):
        if tok == _ERR:
            raise SelectorError(f"unable to parse requirement: {lit}")
    return _Parser(text).parse()


# --- field selectors (k8s.io/apimachinery/pkg/fields) ---------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    """``field=value``, ``field==value`` or ``field!=value``."""

    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have == self.value if self.operator == "=" else have != self.value


@dataclass(frozen=True)
class FieldSelector:
    """All requirements must hold; the empty selector matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(r.field for r in self.requirements)

    def value_for(self, field: str) -> str | None:
        """The value an ``=`` requirement pins ``field`` to (for index lookups), else None."""
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence {value!r}")
            out.append(value[i + 1])
            i += 2
            continue
        if ch in ",=":
            raise SelectorError(f"invalid field selector: unescaped {ch!r} in value {value!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a ``fieldSelector`` query value (which fields are allowed is the caller's check)."""
    if not text or not text.strip():
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for term in _split_unescaped(text, ","):
        if not term:
            continue
        for op in ("!=", "==", "="):
            idx = _find_unescaped(term, op)
            if idx >= 0:
                field, value = term[:idx], term[idx + len(op):]
                reqs.append(FieldRequirement(field, "!=" if op == "!=" else "=", _unescape(value)))
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
    return FieldSelector(tuple(reqs))


def _find_unescaped(text: str, op: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(op, i):
            return i
        i += 1
    return -1


# --- formatting (client side) ---------------------------------------------------------------


def _format_values(values: Any) -> str:
    return ",".join(str(v) for v in values)


def format_label_selector(selector: Mapping[str, Any] | str | None) -> str:
    """Render a selector for the ``labelSelector`` query parameter.

    Accepts a string (returned stripped), a plain ``{"app": "web"}`` mapping (equality terms),
    or a ``metav1.LabelSelector`` shape with ``matchLabels`` / ``matchExpressions``.
    A value of ``None`` in a plain mapping means "the key exists".
    """
    if selector is None:
        return ""
    if isinstance(selector, str):
        return selector.strip()
    if not isinstance(selector, Mapping):
        raise TypeError(f"a label selector is a string or a mapping, not {type(selector).__name__}")
    if "matchLabels" in selector or "matchExpressions" in selector:
        terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
        for expr in selector.get("matchExpressions") or []:
            if not isinstance(expr, Mapping):
                raise TypeError(f"a matchExpressions entry is a mapping with key, operator "
                                f"and values, not {type(expr).__name__}")
            key, op = expr.get("key"), str(expr.get("operator", ""))
            vals = expr.get("values") or []
            if op == "In":
                terms.append(f"{key} in ({_format_values(vals)})")
            elif op == "NotIn":
                terms.append(f"{key} notin ({_format_values(vals)})")
            elif op == "Exists":
                terms.append(str(key))
            elif op == "DoesNotExist":
                terms.append(f"!{key}")
            else:
                raise ValueError(f"unknown matchExpressions operator {op!r} for key {key!r}; "
                                 "use In, NotIn, Exists or DoesNotExist")
        return ",".join(terms)
    terms = []
    for key, value in sorted(selector.items()):
        if value is None:
            terms.append(str(key))
        elif isinstance(value, (list, tuple, set, frozenset)):
            terms.append(f"{key} in ({_format_values(sorted(value))})")
        else:
            terms.append(f"{key}={value}")
    return ",".join(terms)


def format_field_selector(selector: Mapping[str, Any] | str | None) -> str:
    """Render ``{"metadata.name": "x"}`` as ``metadata.name=x`` (escaping ``\\``, ``,``, ``=``)."""
    if selector is None:
        return ""
    if isinstance(selector, str):
        return selector.strip()
    if not isinstance(selector, Mapping):
        raise TypeError(f"a field selector is a string or a mapping, not {type(selector).__name__}")
    out = []
    for key, value in sorted(selector.items()):
        text = str(value).replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        out.append(f"{key}={text}")
    return ",".join(out)
