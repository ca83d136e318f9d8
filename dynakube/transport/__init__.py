"""The transport layer: the only package that does network I/O (``http`` is the only module
that imports ``requests``). Names load on first use, so the pure modules here stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .http import USER_AGENT, Response, Transport, parse_warning_header

__all__ = [
    "Transport",
    "Response",
    "USER_AGENT",
    "parse_warning_header",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import http

        return getattr(http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
