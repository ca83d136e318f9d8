"""The pytest face of the embedded API server: fixtures, and ``ApiServer`` for users' tests.

The server itself is product code in :mod:`dynakube.apiserver`; ``from dynakube.testing import
ApiServer`` is cheap, the server modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..apiserver.server import ApiServer

__all__ = ["ApiServer"]


def __getattr__(name: str) -> Any:
    if name == "ApiServer":
        from ..apiserver.server import ApiServer

        return ApiServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
