"""YAML request bodies, converted to JSON the way kube-apiserver converts them, and bounded.

kube-apiserver reads YAML with go-yaml, which counts every node it decodes and refuses a
document where aliases produce too large a share of them ("yaml: document contains excessive
aliasing"). PyYAML shares an aliased node instead of copying it, so a 500-byte "billion laughs"
document loads in no time and then explodes when it is walked or encoded as JSON (76 s and
1 GB before this check). The same count runs here on the composed node graph, before anything
is built, and stops at the first node past go-yaml's bound.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from .objects import check_depth

__all__ = ["EXCESSIVE_ALIASING", "yaml_as_json"]

EXCESSIVE_ALIASING = "yaml: document contains excessive aliasing"

# go-yaml's bound (decode.go, allowedAliasRatio): aliases may produce 99 % of the decoded nodes
# of a document up to 400,000 nodes, sliding down to 10 % at 4,000,000; a document with fewer
# than 1,000 nodes or 100 aliased ones is never refused.
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _RATIO_LOW:
        return 0.99
    if decoded >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


@functools.cache
def _loader() -> Any:
    """PyYAML's SafeLoader without the timestamp resolver (kube's YAML decoder keeps them)."""
    import yaml

    class Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    return Loader


def check_aliasing(root: Any) -> None:
    """Walk the document as go-yaml decodes it (each alias expanded) and raise
    ``ValueError(EXCESSIVE_ALIASING)`` at the first node past go-yaml's bound.

    An aliased node is the same object as its anchor in PyYAML's graph: the first visit of an
    object is its definition, every later one an alias whose whole subtree counts as aliased.
    """
    import yaml

    decoded = aliased = 0
    defined: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, in_alias = stack.pop()
        if not in_alias and id(node) in defined:
            in_alias = True
        defined.add(id(node))
        decoded += 1
        if in_alias:
            aliased += 1
            if aliased > 100 and decoded > 1000 and \
                    aliased / decoded > _allowed_alias_ratio(decoded):
                raise ValueError(EXCESSIVE_ALIASING)
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, in_alias) for child in reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                stack.append((value, in_alias))
                stack.append((key, in_alias))


def _go_float(value: float) -> str:
    return "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"


def _check_finite(value: Any) -> None:
    """JSON has no NaN or infinity: go-yaml's ``.nan``/``.inf`` fail to convert, as in Go."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise ValueError(f"json: unsupported value: {_go_float(node)}")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def yaml_as_json(text: str) -> Any:
    """A YAML document as the JSON value kube-apiserver converts it to: timestamps stay text,
    scalar keys become strings. Raises ``ValueError``/``TypeError`` (excessive aliasing, a key
    that is a list or a map, a value JSON cannot hold), ``RecursionError`` or a
    ``yaml.YAMLError``; callers turn them into the ``400`` the real server sends."""
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_aliasing(node)
        value = loader.construct_document(node)
    finally:
        loader.dispose()
    check_depth(value)
    _check_finite(value)
    return json.loads(json.dumps(value, default=str))
