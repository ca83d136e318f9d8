"""dynakube benchmarks: ``python bench/run.py [--smoke] [--kubeconfig F] [--context C]``.

Measures, in one run, each task of issue 8 for dynakube beside the floor (bare ``requests``
+ ``json``) and beside kubernetes, kr8s and lightkube when they are importable
(``pip install -e '.[bench]'``), then prints one table. Runs against the embedded server
(in a child process) unless a cluster is given. ``--smoke`` uses tiny sizes so CI can check
that every measurement still runs (its figures mean little). Exits non-zero when a
measurement of dynakube or of the floor crashed; a failing other client is only reported.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import Cluster  # noqa: E402
from harness import WorkerError  # noqa: E402
from report import (  # noqa: E402
    DYNAKUBE,
    FLOOR,
    MET_SHARE,
    Row,
    markdown_table,
    merge_rounds,
    text_table,
)

__all__ = ["main", "Context", "TASKS", "PEERS"]

TASKS = ("import", "discovery", "list", "watch", "validate", "apply", "streams", "aio")
PEERS = ("kubernetes", "kr8s", "lightkube")


@dataclass
class Sizes:
    lists: tuple[int, ...]
    watch: int
    informers: tuple[int, ...]
    apply: int
    validate_seconds: float


FULL = Sizes(lists=(5_000, 50_000), watch=10_000, informers=(10_000, 100_000), apply=1_000,
             validate_seconds=2.0)
SMOKE = Sizes(lists=(200, 400), watch=200, informers=(200,), apply=50, validate_seconds=0.2)


@dataclass
class Context:
    """What every task gets: the cluster, the sizes, the other clients, a place for extras."""

    cluster: Cluster
    sizes: Sizes
    smoke: bool
    peers: list[str]
    extra: dict[str, Any] = field(default_factory=dict)
    crashes: list[str] = field(default_factory=list)

    def failed(self, client: str, error: BaseException) -> None:
        """Record a crashed measurement; dynakube's and the floor's fail the run."""
        if client in (FLOOR, DYNAKUBE):
            print(f"  ! {client}: {str(error).strip()}", file=sys.stderr)
            self.crashes.append(f"{client}: {str(error).splitlines()[0]}")
        else:
            last = error.last_line() if isinstance(error, WorkerError) else str(error)
            print(f"  ! {client}: {last[:300]}", file=sys.stderr)

    def timeout(self, client: str) -> float:
        """How long one measurement may take: the other clients get less patience."""
        return 1800.0 if client in (FLOOR, DYNAKUBE) else 300.0

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def _peer_versions(peers: list[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for peer in peers:
        try:
            out[peer] = version(peer)
        except PackageNotFoundError:
            out[peer] = "?"
    return out


def machine() -> dict[str, str]:
    import os

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "nproc": str(os.cpu_count()), "cpu": cpu,
            "platform": platform.platform()}


def _bytecode_cache() -> None:
    """Let every measured interpreter use compiled bytecode, as an installed package does.

    With ``PYTHONDONTWRITEBYTECODE`` set, an editable checkout is compiled from source at
    every start while pip-installed packages ship ``.pyc`` files, which would charge dynakube
    (and only dynakube) its compile time. The cache goes to a private temporary prefix, not
    into the source tree.
    """
    import os
    import tempfile

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    prefix = Path(tempfile.gettempdir()) / f"dynakube-bench-pycache-{os.getuid()}"
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, every task once (CI)")
    p.add_argument("--kubeconfig", help="run against this cluster instead of the embedded one")
    p.add_argument("--context", help="kubeconfig context (implies a real cluster)")
    p.add_argument("--rounds", type=int, default=1, help="repeat every task N times, "
                   "interleaved, and report medians with their spread (BENCHMARKS.md uses 5)")
    p.add_argument("--only", help=f"comma-separated tasks out of: {', '.join(TASKS)}")
    p.add_argument("--peers", help="comma-separated other clients to compare (default: every "
                   "importable one of kubernetes, kr8s, lightkube; 'none' for none)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tasks = [t.strip() for t in args.only.split(",")] if args.only else list(TASKS)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        print(f"unknown task(s): {', '.join(sorted(unknown))}; known: {', '.join(TASKS)}",
              file=sys.stderr)
        return 2
    if args.peers == "none":
        peers: list[str] = []
    elif args.peers:
        peers = [p.strip() for p in args.peers.split(",")]
    else:
        peers = [p for p in PEERS if importlib.util.find_spec(p) is not None]
    started = time.perf_counter()
    _bytecode_cache()
    cluster = Cluster(args.kubeconfig, args.context)
    ctx = Context(cluster, SMOKE if args.smoke else FULL, args.smoke, peers)
    rounds: list[list[Row]] = []
    load = [os.getloadavg()]
    try:
        for number in range(max(1, args.rounds)):  # round by round: drift hits every task
            rows: list[Row] = []
            for task in tasks:
                ctx.log(f"== {task}" + (f" (round {number + 1} of {args.rounds})"
                                        if args.rounds > 1 else ""))
                t0 = time.perf_counter()
                try:
                    module = task if task in ("streams", "aio") else f"task_{task}"
                    rows += importlib.import_module(module).run(ctx)
                except Exception as e:
                    traceback.print_exc()
                    ctx.crashes.append(f"{task}: {e}")
                ctx.log(f"   {task} took {time.perf_counter() - t0:.1f}s")
            rounds.append(rows)
            load.append(os.getloadavg())
    finally:
        cluster.close()
    rows = merge_rounds(rounds) if len(rounds) > 1 else rounds[0]
    load_text = ", ".join(f"{one:.1f}" for one, _five, _fifteen in load)
    clients = [FLOOR, DYNAKUBE, *peers]
    info = machine()
    versions = _peer_versions(peers)
    where = "embedded server (child process)" if cluster.embedded else "given cluster"
    print(f"\ndynakube benchmarks on the {where}; Python {info['python']}, "
          f"{info['nproc']} CPUs ({info['cpu']}); peers: "
          + (", ".join(f"{p} {v}" for p, v in versions.items()) or "none"))
    print(f"load average (1 min) at the start and after each round: {load_text}")
    if len(rounds) > 1:
        print(f"medians of {len(rounds)} rounds, [min–max] beside them; a target is met at the "
              f"median and in at least {MET_SHARE:.0%} of the rounds")
    print("ratio = cost relative to the floor (bare requests + json); lower is better\n")
    print(text_table(rows, clients))
    notes = [f"- {r.case}: {r.note}" for r in rows if r.note]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(rows, clients) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": info, "peers": versions, "smoke": args.smoke, "where": where,
            "rounds": len(rounds), "load_average": load,
            "rows": [r.to_json() for r in rows], "extra": ctx.extra}, indent=1, default=str))
    elapsed = time.perf_counter() - started
    if ctx.crashes:
        print(f"\nFAILED ({elapsed:.0f}s): " + "; ".join(ctx.crashes), file=sys.stderr)
        return 1
    print(f"\nall measurements ran ({elapsed:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
