"""The embedded API server: a whole kube-apiserver in memory, speaking the real HTTP API.

Product code, not test clutter: the tour, ``--embedded``, ``python -m dynakube.apiserver serve``
and users' tests (through :mod:`dynakube.testing`) all run on it. Its subpackages are its
layers: ``http`` (the wire) → ``verbs`` → ``rules`` and ``merge`` → ``storage`` and ``kinds``.
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
