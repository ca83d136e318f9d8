"""The command line (``dynakube``, ``python -m dynakube``), the REPL and the tour.

The top layer: it may import every other one, the embedded server included (``--embedded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Session, UsageError, build_parser, main, report_error

__all__ = ["main", "build_parser", "UsageError", "Session", "report_error"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
