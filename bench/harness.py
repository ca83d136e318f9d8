"""Shared plumbing for the benchmarks: connection details, timing, memory, worker processes.

Every measurement runs in a fresh worker process (``worker.py``), apart from the server and
from other clients' imports and caches, and sends back one JSON dict. Times are the best of
several runs, wall clock and the worker's own CPU time; memory is the ``tracemalloc`` peak of
one more run (Python allocations, which is where a JSON client's memory goes), measured
apart from the timed runs because tracing slows everything down.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "Conn",
    "WorkerError",
    "best_of",
    "best_worker",
    "count_requests",
    "kr8s_api",
    "lightkube_client",
    "lightkube_config",
    "traced",
    "run_worker",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULT_MARK = "BENCH-RESULT "


@dataclass
class Conn:
    """How to reach the cluster, for dynakube, the floor and the other clients alike."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    verify: bool | str = True
    cert: list[str] | None = None
    kubeconfig: str | None = None
    context: str | None = None
    embedded: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conn:
        return cls(**data)

    def session(self) -> Any:
        """A bare ``requests.Session`` with the credentials: the floor's whole client."""
        import requests

        s = requests.Session()
        s.headers.update(self.headers)
        s.verify = self.verify
        if self.cert:
            s.cert = (self.cert[0], self.cert[1])
        return s

    def dynakube(self, **kw: Any) -> Any:
        """A ``dynakube.Client`` from the kubeconfig (the way a user makes one)."""
        import dynakube

        return dynakube.Client(kubeconfig=self.kubeconfig, context=self.context, **kw)


def best_of(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Best wall time (s) of ``repeat`` runs and the CPU time (s) of this process in it."""
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(max(1, repeat)):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        t1, c1 = time.perf_counter(), time.process_time()
        del result
        best_wall = min(best_wall, t1 - t0)
        best_cpu = min(best_cpu, c1 - c0)
    return {"wall": best_wall, "cpu": best_cpu}


def traced(fn: Callable[[], Any]) -> dict[str, float]:
    """``tracemalloc`` peak (bytes above the start) of one run, and what the result keeps."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = fn()
    current, peak = tracemalloc.get_traced_memory()
    del result
    gc.collect()
    tracemalloc.stop()
    return {"peak": float(peak - base), "retained": float(current - base)}


def count_requests() -> Callable[[], int]:
    """Count HTTP requests this process sends through urllib3 (requests, kubernetes)."""
    import urllib3.connectionpool as pool

    counter = [0]
    original = pool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, *args: Any, **kw: Any) -> Any:
        counter[0] += 1
        return original(self, *args, **kw)

    pool.HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]
    return lambda: counter[0]


def kr8s_api(conn: Conn) -> Any:
    """A kr8s API object; on the embedded server, asks ``/version`` without the trailing
    slash kr8s adds (kube-apiserver serves both; the embedded server only the bare path)."""
    import kr8s
    from kr8s._api import Api

    cls: Any = Api
    if conn.embedded and not getattr(cls, "_bench_shim", False):
        original = cls._construct_url

        def construct(self: Any, *args: Any, **kw: Any) -> str:
            url = str(original(self, *args, **kw))
            return "/version" if url == "/version/" else url

        cls._construct_url = construct
        cls._bench_shim = True
    return kr8s.api(kubeconfig=conn.kubeconfig, context=conn.context)


def best_worker(rounds: int, module: str, func: str, **args: Any) -> dict[str, Any]:
    """:func:`run_worker` ``rounds`` times; the smallest ``wall`` and ``cpu`` of them
    (bursts of load from other processes only ever add time), the rest from the first."""
    result = run_worker(module, func, **args)
    for _ in range(rounds - 1):
        again = run_worker(module, func, **args)
        for key in ("wall", "cpu"):
            if key in again:
                result[key] = min(result[key], again[key])
    return result


def lightkube_config(conn: Conn) -> Any:
    """lightkube's configuration for the same kubeconfig and context."""
    from lightkube import KubeConfig

    config: Any = (KubeConfig.from_file(conn.kubeconfig) if conn.kubeconfig
                   else KubeConfig.from_env())
    return config.get(context_name=conn.context) if conn.context else config


def lightkube_client(conn: Conn, **kw: Any) -> Any:
    """A lightkube ``Client`` for the same kubeconfig and context."""
    from lightkube import Client

    return Client(lightkube_config(conn), **kw)


class WorkerError(RuntimeError):
    """A measurement crashed; ``output`` holds the worker's stderr."""

    def __init__(self, what: str, output: str, short: str = "error"):
        super().__init__(f"{what} failed:\n{output[-3000:]}")
        self.output = output
        self.short = short

    def last_line(self) -> str:
        lines = [line for line in self.output.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "no output"


def run_worker(module: str, func: str, timeout: float = 900.0,
               env: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
    """Run ``module.func(**args)`` in a fresh interpreter; its JSON result."""
    cmd = [sys.executable, str(BENCH_DIR / "worker.py"), module, func, json.dumps(args)]
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=full_env)
    except subprocess.TimeoutExpired as e:
        raise WorkerError(f"{module}.{func}", f"timed out after {timeout:.0f}s",
                          short=f"timeout (> {timeout:.0f} s)") from e
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return dict(json.loads(line[len(RESULT_MARK):]))
    raise WorkerError(f"{module}.{func}({', '.join(f'{k}=' for k in args)})",
                      proc.stderr or proc.stdout)
