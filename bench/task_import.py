"""Task 1: import time, in a fresh interpreter, best of several, next to the dependencies.

Each statement runs as ``python -c STMT`` and the best wall time of ``python -c pass`` is
taken off. ``import dynakube`` alone is lazy (it loads nothing), so the rows that matter are
``dynakube.Client`` (client, discovery, transport: pulls in ``requests``) and "every module"
(adds validation, apply, informer, and ``jsonschema`` and ``yaml``, which dynakube loads
only when it needs them), each beside importing the dependencies alone.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from report import DYNAKUBE, FLOOR, Row

__all__ = ["run", "import_profile"]

DEPS_CLIENT = "import requests"
DEPS_ALL = "import requests, yaml, jsonschema, cachetools"
# dynakube imports jsonschema and yaml only when it needs them; they are named here so
# that the figure is "dynakube and all its dependencies" beside "the dependencies alone".
DK_ALL = ("import dynakube; dynakube.Client; import dynakube.schema.validate, dynakube.schema, "
          "dynakube.apply, dynakube.controller.informer, dynakube.watch, yaml, jsonschema, "
          "cachetools")
PEER_IMPORTS = {"kubernetes": "import kubernetes", "kr8s": "import kr8s",
                "lightkube": "import lightkube; from lightkube import Client"}


def _wall(stmt: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", stmt], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def import_profile(stmt: str, top: int = 8) -> list[tuple[str, int]]:
    """The modules with the largest cumulative ``-X importtime`` (µs), top-level only."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt],
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.split("|")
        if name.startswith(" ") and not name.startswith("  "):  # not nested
            rows.append((name.strip(), int(cumulative.strip())))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def run(ctx: Any) -> list[Row]:
    repeat = 3 if ctx.smoke else 9
    for stmt in (DK_ALL, DEPS_ALL, *(PEER_IMPORTS[p] for p in ctx.peers)):
        _wall(stmt, 1)  # compiles into the bytecode cache (see run._bytecode_cache)
    base = _wall("pass", repeat)

    def ms(stmt: str) -> float:
        return max(0.0, _wall(stmt, repeat) - base) * 1000

    rows = [
        Row("import", "import dynakube (lazy) vs its deps", "ms",
            {FLOOR: ms(DEPS_ALL), DYNAKUBE: ms("import dynakube")}, target_ratio=1.2),
        Row("import", "dynakube.Client vs import requests", "ms",
            {FLOOR: ms(DEPS_CLIENT), DYNAKUBE: ms("import dynakube; dynakube.Client")},
            target_ratio=1.1),  # issue 19's target (issue 8 asked for 1.2)
        Row("import", "every dynakube module + deps vs all deps", "ms",
            {FLOOR: ms(DEPS_ALL), DYNAKUBE: ms(DK_ALL)}, target_ratio=1.2),
    ]
    for peer in ctx.peers:
        try:
            rows[2].values[peer] = ms(PEER_IMPORTS[peer])
        except subprocess.CalledProcessError as e:
            rows[2].errors[peer] = str(e)
    rows[0].note = f"python -c pass = {base * 1000:.0f} ms, taken off every figure"
    ctx.extra["import_profile"] = import_profile(DK_ALL)
    return rows
