"""Decoding large JSON documents without the cyclic collector running over them (no I/O).

A list page or a batch of watch events becomes tens of thousands of dicts at once. Every one
of them stays alive (in the caller's result or an informer's cache), so the collections their
allocations set off, and the full collections those lead to as the cache grows, are pure
cost: about a third of the CPU of decoding a 10,000-object list. :func:`loads` pauses the
collector for the one ``json.loads`` of a large document. Only a collector found enabled is
paused and enabled again, so decoders in several threads leave it enabled; a
``gc.disable()`` by another thread within those milliseconds is lost.
"""

from __future__ import annotations

import gc
import json
from typing import Any

__all__ = ["LARGE", "loads"]

LARGE = 64 * 1024
"""Documents from this size (bytes) on are decoded with the collector paused; below it a
pause is not worth its two calls."""


def loads(data: bytes | str, *, large: int = LARGE) -> Any:
    """``json.loads(data)``; for a document of ``large`` bytes or more, with the cyclic
    collector paused while it runs. Raises ``ValueError`` as ``json.loads`` does."""
    if len(data) < large or not gc.isenabled():
        return json.loads(data)
    gc.disable()
    try:
        return json.loads(data)
    finally:
        gc.enable()
