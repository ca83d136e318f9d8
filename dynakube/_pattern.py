"""Regular expressions compiled on first use, not at import.

``re.compile`` runs the pure-Python regex compiler: 60–150 µs a pattern on the benchmark
machine, paid by every process that imports the module whether it matches anything or
not. A :class:`LazyPattern` compiles on its first use and then keeps the compiled
pattern's methods on itself, so a match costs what it costs on the compiled pattern.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LazyPattern"]

_METHODS = ("match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    """``re.compile(pattern, flags)``, done when a method is first asked for."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags

    def __getattr__(self, name: str) -> Any:
        # reached only before the first compile: the methods are instance attributes after
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = re.compile(self.pattern, self.flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {self.flags!r})"
