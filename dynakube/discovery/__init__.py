"""Discovery: what the server serves (aggregated or legacy documents, cached on disk), parsed
into a pure, immutable :class:`~dynakube.discovery.registry.Registry` of resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loader import (
        ACCEPT_AGGREGATED,
        DEFAULT_TTL,
        Discovery,
        DiscoveryWarning,
        deprecation_from_warning,
    )

__all__ = [
    "ACCEPT_AGGREGATED",
    "DEFAULT_TTL",
    "Discovery",
    "DiscoveryWarning",
    "deprecation_from_warning",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
