"""A tiny subset of CEL, enough for the ``x-kubernetes-validations`` rules CRDs commonly use.

Supported: ``self`` / ``oldSelf`` and field access (``self.a.b``, ``self['a']``), indexing,
``has(self.x)``, ``size(x)`` and ``x.size()``, ``startsWith`` / ``endsWith`` / ``contains``,
literals (int, double, string, bool, null, lists), ``! - * / % + -``, comparisons, ``in``,
``&&``, ``||`` and ``? :``. Anything else is a :class:`CelUnsupported` at compile time, and
an evaluation problem (a missing field, a type mismatch) is a :class:`CelUnsupported` too:
the caller skips the rule, so this subset never rejects what a real server would accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CelUnsupported", "Program", "compile_rule"]


class CelUnsupported(Exception):
    """The rule uses CEL this subset does not implement, or failed to evaluate."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[uU]?)"
    r"|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%().,\[\]?:]))"
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}

Node = Callable[[Mapping[str, Any]], Any]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise CelUnsupported(f"cannot read CEL at {text[position:position + 10]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_kind(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return True
    return type(a) is type(b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("==", "!="):
        equal = a == b and (_same_kind(a, b) or a is None or b is None)
        return equal if op == "==" else not equal
    if not _same_kind(a, b) or not isinstance(a, (int, float, str)):
        raise CelUnsupported(f"no such overload: {op}")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        return a + b
    if not (_number(a) and _number(b)) or type(a) is not type(b):
        raise CelUnsupported(f"no such overload: {op}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise CelUnsupported("division by zero")
    if isinstance(a, int):
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        return quotient if op == "/" else a - b * quotient
    return a / b if op == "/" else a % b


def _size(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise CelUnsupported("size() of a value without a size")


class _Parser:
    """Recursive descent over the token list, building closures."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index]

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.index]
        if value is not None and token[1] != value:
            raise CelUnsupported(f"expected {value!r}, found {token[1]!r}")
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.ternary()
        if self.peek()[0] != "end":
            raise CelUnsupported(f"unexpected {self.peek()[1]!r}")
        return node

    def ternary(self) -> Node:
        cond = self.or_()
        if self.peek()[1] != "?":
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()

        def node(env: Mapping[str, Any]) -> Any:
            test = cond(env)
            if not isinstance(test, bool):
                raise CelUnsupported("condition is not a bool")
            return yes(env) if test else no(env)

        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek()[1] == "||":
            self.take()
            node = self._logic(node, self.and_(), True)
        return node

    def and_(self) -> Node:
        node = self.relation()
        while self.peek()[1] == "&&":
            self.take()
            node = self._logic(node, self.relation(), False)
        return node

    @staticmethod
    def _logic(left: Node, right: Node, is_or: bool) -> Node:
        def node(env: Mapping[str, Any]) -> Any:
            # CEL's commutative logic: an error on one side is absorbed by a decisive other side.
            try:
                a: Any = left(env)
            except CelUnsupported as error:
                a = error
            if a is is_or:
                return is_or
            b = right(env)
            if b is is_or:
                return is_or
            if isinstance(a, CelUnsupported):
                raise a
            if not isinstance(a, bool) or not isinstance(b, bool):
                raise CelUnsupported("logic on a value that is not a bool")
            return not is_or

        return node

    def relation(self) -> Node:
        node = self.additive()
        op = self.peek()[1]
        if op in ("==", "!=", "<", "<=", ">", ">=", "in"):
            self.take()
            left, right = node, self.additive()
            if op == "in":
                def contains(env: Mapping[str, Any]) -> Any:
                    haystack = right(env)
                    if not isinstance(haystack, (list, dict)):
                        raise CelUnsupported("'in' needs a list or a map")
                    needle = left(env)
                    return any(_compare("==", needle, x) for x in haystack)

                return contains
            return lambda env: _compare(op, left(env), right(env))
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            node = self._binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            node = self._binary(op, node, self.unary())
        return node

    @staticmethod
    def _binary(op: str, left: Node, right: Node) -> Node:
        return lambda env: _arith(op, left(env), right(env))

    def unary(self) -> Node:
        op = self.peek()[1]
        if op == "!":
            self.take()
            inner = self.unary()

            def negate(env: Mapping[str, Any]) -> Any:
                value = inner(env)
                if not isinstance(value, bool):
                    raise CelUnsupported("! on a value that is not a bool")
                return not value

            return negate
        if op == "-":
            self.take()
            inner = self.unary()
            return lambda env: _arith("-", 0 if isinstance(v := inner(env), int) else 0.0, v)
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            op = self.peek()[1]
            if op == ".":
                self.take()
                kind, name = self.take()
                if kind != "name":
                    raise CelUnsupported("expected a field name after '.'")
                if self.peek()[1] == "(":
                    node = self.method(node, name)
                else:
                    node = self._select(node, name)
            elif op == "[":
                self.take()
                key = self.ternary()
                self.take("]")
                node = self._index(node, key)
            else:
                return node

    @staticmethod
    def _select(target: Node, name: str) -> Node:
        return _Selection(target, name)

    @staticmethod
    def _index(target: Node, key: Node) -> Node:
        def node(env: Mapping[str, Any]) -> Any:
            value, k = target(env), key(env)
            if isinstance(value, list) and isinstance(k, int) and not isinstance(k, bool):
                if 0 <= k < len(value):
                    return value[k]
            elif isinstance(value, Mapping) and k in value:
                return value[k]
            raise CelUnsupported("index out of range or no such key")

        return node

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        while self.peek()[1] != ")":
            args.append(self.ternary())
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return args

    def method(self, target: Node, name: str) -> Node:
        args = self.arguments()
        if name == "size" and not args:
            return lambda env: _size(target(env))
        string_methods: dict[str, Callable[[str, str], bool]] = {
            "startsWith": str.startswith, "endsWith": str.endswith,
            "contains": lambda a, b: b in a,
        }
        if name in string_methods and len(args) == 1:
            fn, arg = string_methods[name], args[0]

            def call(env: Mapping[str, Any]) -> Any:
                a, b = target(env), arg(env)
                if not isinstance(a, str) or not isinstance(b, str):
                    raise CelUnsupported(f"{name} needs strings")
                return fn(a, b)

            return call
        raise CelUnsupported(f"unsupported method {name}()")

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            if text[-1] in "uU":
                value: Any = int(text[:-1])
            else:
                value = float(text) if "." in text or "e" in text.lower() else int(text)
            return lambda env: value
        if kind == "str":
            string = _unquote(text)
            return lambda env: string
        if text == "(":
            node = self.ternary()
            self.take(")")
            return node
        if text == "[":
            items: list[Node] = []
            while self.peek()[1] != "]":
                items.append(self.ternary())
                if self.peek()[1] == ",":
                    self.take()
            self.take("]")
            return lambda env: [item(env) for item in items]
        if kind != "name":
            raise CelUnsupported(f"unexpected {text!r}")
        constants = {"true": True, "false": False, "null": None}
        if text in constants:
            constant = constants[text]
            return lambda env: constant
        if text in ("self", "oldSelf"):
            return lambda env: env[text] if text in env else _missing(text)
        if text == "has":
            return self._has()
        if text == "size":
            args = self.arguments()
            if len(args) != 1:
                raise CelUnsupported("size() needs one argument")
            return lambda env: _size(args[0](env))
        raise CelUnsupported(f"unsupported identifier {text}")

    def _has(self) -> Node:
        self.take("(")
        target = self.postfix(self.primary())
        self.take(")")
        if not isinstance(target, _Selection):
            raise CelUnsupported("has() needs a field selection")
        return target.present


def _missing(name: str) -> Any:
    raise CelUnsupported(f"{name} is not available")


class _Selection:
    """``target.name``: callable like any node; ``present`` is what ``has()`` asks."""

    def __init__(self, target: Node, name: str) -> None:
        self.target = target
        self.name = name

    def __call__(self, env: Mapping[str, Any]) -> Any:
        value = self.target(env)
        if not isinstance(value, Mapping) or self.name not in value:
            raise CelUnsupported(f"no such key: {self.name}")
        return value[self.name]

    def present(self, env: Mapping[str, Any]) -> bool:
        value = self.target(env)
        if not isinstance(value, Mapping):
            raise CelUnsupported("has() on a value that is not an object")
        return self.name in value


class Program:
    """A compiled rule; :meth:`evaluate` returns its bool or raises CelUnsupported."""

    def __init__(self, rule: str, node: Node) -> None:
        self.rule = rule
        self._node = node
        self.uses_old_self = re.search(r"\boldSelf\b", rule) is not None

    def evaluate(self, self_value: Any, old_self: Any = None, has_old: bool = False) -> bool:
        env: dict[str, Any] = {"self": self_value}
        if has_old:
            env["oldSelf"] = old_self
        result = self._node(env)
        if not isinstance(result, bool):
            raise CelUnsupported("the rule did not evaluate to a bool")
        return result


def compile_rule(rule: str) -> Program:
    """Compile ``rule``; raises CelUnsupported when it uses CEL outside this subset."""
    try:
        return Program(rule, _Parser(rule).parse())
    except (IndexError, ValueError, RecursionError) as error:
        raise CelUnsupported(str(error)) from error
