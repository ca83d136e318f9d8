"""An embedded Kubernetes API server and pytest fixtures, for tests without a cluster.

``from dynakube.testing import ApiServer`` is cheap: the server modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import ApiServer

__all__ = ["ApiServer"]


def __getattr__(name: str) -> Any:
    if name == "ApiServer":
        from .server import ApiServer

        return ApiServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
