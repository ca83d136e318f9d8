"""Task 1: import time, in a fresh interpreter, best of several, next to the dependencies.

Each statement runs as ``python -c STMT``, all of them in turn, for several passes
(interleaved), and the best wall time of ``python -c pass`` is taken off the best of each.
``import dynakube`` alone is lazy (it loads nothing), so the rows that matter are
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


def _wall(stmt: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", stmt], check=True)
    return time.perf_counter() - t0


def _best_interleaved(stmts: list[str], repeat: int) -> dict[str, float]:
    """The best wall time of each statement over ``repeat`` passes, each pass running every
    statement once in turn: a load that comes and goes falls on all of them alike, not on
    whichever ran its repeats during it."""
    best = dict.fromkeys(stmts, float("inf"))
    for _ in range(repeat):
        for stmt in stmts:
            best[stmt] = min(best[stmt], _wall(stmt))
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
    client = "import dynakube; dynakube.Client"
    for stmt in (DK_ALL, DEPS_ALL):
        _wall(stmt)  # compiles into the bytecode cache (see run._bytecode_cache)
    failed: dict[str, str] = {}
    for peer in ctx.peers:  # compiles too, and finds a peer that does not import
        try:
            _wall(PEER_IMPORTS[peer])
        except subprocess.CalledProcessError as e:
            failed[peer] = str(e)
    stmts = ["pass", DEPS_CLIENT, client, DEPS_ALL, "import dynakube", DK_ALL,
             *(PEER_IMPORTS[p] for p in ctx.peers if p not in failed)]
    best = _best_interleaved(list(dict.fromkeys(stmts)), repeat)
    base = best["pass"]

    def ms(stmt: str) -> float:
        return max(0.0, best[stmt] - base) * 1000

    rows = [
        Row("import", "import dynakube (lazy) vs its deps", "ms",
            {FLOOR: ms(DEPS_ALL), DYNAKUBE: ms("import dynakube")}, target_ratio=1.2),
        Row("import", "dynakube.Client vs import requests", "ms",
            {FLOOR: ms(DEPS_CLIENT), DYNAKUBE: ms(client)},
            target_ratio=1.1),  # issue 19's target (issue 8 asked for 1.2)
        Row("import", "every dynakube module + deps vs all deps", "ms",
            {FLOOR: ms(DEPS_ALL), DYNAKUBE: ms(DK_ALL)}, target_ratio=1.2),
    ]
    for peer in ctx.peers:
        if peer in failed:
            rows[2].errors[peer] = failed[peer]
        else:
            rows[2].values[peer] = ms(PEER_IMPORTS[peer])
    rows[0].note = f"python -c pass = {base * 1000:.0f} ms, taken off every figure"
    ctx.extra["import_profile"] = import_profile(DK_ALL)
    return rows
