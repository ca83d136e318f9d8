"""The command line (``dynakube``, ``python -m dynakube``), the REPL and the tour.

The top layer: it may import every other one, the embedded server included (``--embedded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import build_parser, main
    from .session import Session, UsageError, report_error

__all__ = ["main", "build_parser", "UsageError", "Session", "report_error"]



def __getattr__(name: str) -> Any:
    if name in ("main", "build_parser"):
        from . import app

        return getattr(app, name)
    if name in __all__:
        from . import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
