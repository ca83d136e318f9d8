"""Typed readers of decoded kubeconfig YAML: each value checked, each error naming its key.

The kubeconfig decoder reads every field through these, so a wrong type anywhere reads
``FILE: users["u"].user.token: expected a string, found a mapping`` and never a raw error.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from ..errors import ConfigError

__all__ = ["kind_of", "string", "boolean", "mapping", "listing", "strings", "path", "data",
           "json_value", "MAX_EXTENSION_NODES", "MAX_EXTENSION_DEPTH"]

MAX_EXTENSION_NODES = 10_000  # the exec extension is copied into an environment variable
MAX_EXTENSION_DEPTH = 64


def kind_of(value: Any) -> str:
    """What was found instead, for messages (a string's text is not shown: it may be a
    token in the wrong place)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def string(value: Any, at: str) -> str | None:
    """A string, or None when absent or empty; booleans as YAML wrote them."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    raise ConfigError(f"{at}: expected a string, found {kind_of(value)}")


def boolean(value: Any, at: str) -> bool:
    """true or false; absent is false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{at}: expected true or false, found {kind_of(value)}")


def mapping(value: Any, at: str) -> dict[str, Any]:
    """A mapping; absent is empty."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise ConfigError(f"{at}: expected a mapping, found {kind_of(value)}")


def listing(value: Any, at: str) -> list[Any]:
    """A list; absent is empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise ConfigError(f"{at}: expected a list, found {kind_of(value)}")


def strings(value: Any, at: str) -> tuple[str, ...]:
    """A list of strings, as a tuple."""
    return tuple(string(v, f"{at}[{i}]") or "" for i, v in enumerate(listing(value, at)))


def path(base: str, value: Any, at: str) -> str | None:
    """A file reference, resolved against ``base`` (the kubeconfig's directory) if relative."""
    text = string(value, at)
    if text is None or os.path.isabs(text):
        return text
    return os.path.normpath(os.path.join(base, text))  # Go's filepath.Join cleans too


def data(value: Any, at: str) -> bytes | None:
    """A ``-data`` field: base64, decoded."""
    text = string(value, at)
    if text is None:
        return None
    text = text.replace("\r", "").replace("\n", "")  # as Go's base64.StdEncoding ignores them
    try:
        return base64.b64decode(text, validate=True) if text else None
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{at}: not valid base64 ({exc}); the -data fields hold "
                          "base64-encoded PEM (base64 -w0 FILE)") from exc


def json_value(value: Any, at: str) -> Any:
    """``value`` checked to be plain, finite JSON (it goes into ``KUBERNETES_EXEC_INFO``).

    Walks without recursion and with a budget: YAML anchors can make a value that refers
    to itself (``&a [*a]``) or that expands exponentially when encoded.
    """
    nodes = 0
    stack: list[tuple[Any, int, frozenset[int]]] = [(value, 0, frozenset())]
    while stack:
        item, depth, parents = stack.pop()
        nodes += 1
        if nodes > MAX_EXTENSION_NODES or depth > MAX_EXTENSION_DEPTH:
            raise ConfigError(f"{at}: the extension is too large or nested too deeply (at "
                              f"most {MAX_EXTENSION_NODES} values, {MAX_EXTENSION_DEPTH} "
                              "levels)")
        if isinstance(item, dict | list):
            if id(item) in parents:
                raise ConfigError(f"{at}: the extension refers to itself (a YAML alias "
                                  "inside its own anchor); it must be plain JSON")
            inner = parents | {id(item)}
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict) and not all(isinstance(k, str) for k in item):
                raise ConfigError(f"{at}: the extension has a key that is not a string")
            stack.extend((child, depth + 1, inner) for child in children)
        elif not (item is None or isinstance(item, str | bool | int | float)):
            raise ConfigError(f"{at}: the extension holds {kind_of(item)}, which JSON "
                              "cannot carry")
    return value
