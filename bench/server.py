"""Embedded-server throughput: ``python bench/server.py [--smoke] [--runs N]``.

Creates/s, gets/s and lists/s against the embedded server holding 1,000 or 100,000 ConfigMaps,
with 0, 10 and 50 watches open on their namespace. The server runs in its own process
(``serverproc.py``, objects bulk-loaded through its own create path), the watchers in another
and the measuring client in this one, so none shares another's GIL. A list is the first page
of 500 (what an informer or ``kubectl get`` asks for); a get reads a random existing object.
Each figure is the median of ``--runs`` runs interleaved by size and watcher count, each on a
fresh server, with the spread (min–max) beside it. Every watcher must receive every create, in
order, or the run fails: a fast server that drops events is no win.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

__all__ = ["main", "measure", "Figures"]

BENCH_DIR = Path(__file__).resolve().parent
NAMESPACE = "bench"
COLLECTION = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
END = "zz-end"


@dataclass
class Figures:
    """One run's rates, per second."""

    creates: float
    gets: float
    lists: float


def _watch_main(url: str, token: str, count: int, resource_version: str) -> int:
    """Child: open ``count`` watches from ``resource_version``, say ``ready``, then print the
    names of the creates each saw, in order, once the ``zz-end`` ConfigMap arrives.

    During the run each watch only keeps the bytes it reads; it decodes them after the end
    marker. Decoding 50 streams as they came took this process more CPU per create than the
    server spent, and on a 2-core machine that was measured as the server's slowness.
    """
    headers = {"Authorization": f"Bearer {token}"}
    answers = []
    for _ in range(count):
        answer = requests.Session().get(
            url + COLLECTION, params={"watch": "true", "resourceVersion": resource_version,
                                      "timeoutSeconds": "1200"},
            headers=headers, stream=True, timeout=1200)
        answer.raise_for_status()
        answers.append(answer)
    names: list[list[str]] = [[] for _ in range(count)]
    marker = f'"name":"{END}"'.encode()

    def read(answer: requests.Response, out: list[str]) -> None:
        chunks: list[bytes] = []
        tail = b""
        for chunk in answer.iter_content(chunk_size=1 << 16):
            chunks.append(chunk)
            if marker in tail + chunk:
                break
            tail = (tail + chunk)[-len(marker):]  # a chunk may be shorter than the marker
        for line in b"".join(chunks).splitlines():
            if not line:
                continue
            event = json.loads(line)
            if event["type"] != "ADDED":
                continue
            name = event["object"]["metadata"]["name"]
            if name == END:
                return
            out.append(name)
        raise RuntimeError("the watch ended before the end marker")

    threads = [threading.Thread(target=read, args=pair) for pair in zip(answers, names,
                                                                         strict=True)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()
    print(json.dumps(names), flush=True)
    return 0


class _Server:
    """A fresh embedded server in its own process (``serverproc.py``)."""

    def __init__(self, objects: int):
        self.proc = subprocess.Popen([sys.executable, str(BENCH_DIR / "serverproc.py"),
                                      "10000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        info = self.ask({"op": "info"})
        self.url, self.token = info["url"], info["token"]
        self.ask({"op": "namespace", "name": NAMESPACE})
        self.resource_version = str(self.ask({"op": "load", "namespace": NAMESPACE,
                                              "n": objects}))

    def ask(self, cmd: dict[str, object]) -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"the server process failed {cmd['op']}: {reply['error']}")
        return reply["ok"]

    def stop(self) -> None:
        self.ask({"op": "stop"})
        self.proc.wait(60)


def measure(objects: int, watchers: int, *, creates: int, gets: int, lists: int) -> Figures:
    """One run on a fresh server with ``objects`` ConfigMaps and ``watchers`` open watches."""
    server = _Server(objects)
    try:
        watch: subprocess.Popen[str] | None = None
        if watchers:
            child = json.dumps([server.url, server.token, watchers, server.resource_version])
            watch = subprocess.Popen([sys.executable, __file__, "--watch-child", child],
                                     stdout=subprocess.PIPE, text=True)
            assert watch.stdout is not None
            if watch.stdout.readline().strip() != "ready":
                raise RuntimeError("the watcher process did not start")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {server.token}"
        url = server.url + COLLECTION
        picks = [f"{url}/cm-{random.randrange(objects):06d}" for _ in range(gets)]
        began = time.perf_counter()
        for link in picks:
            session.get(link).raise_for_status()
        get_rate = gets / (time.perf_counter() - began)
        began = time.perf_counter()
        for _ in range(lists):
            session.get(url, params={"limit": "500"}).raise_for_status()
        list_rate = lists / (time.perf_counter() - began)
        names = [f"new-{n:06d}" for n in range(creates)]
        began = time.perf_counter()
        for name in names:
            session.post(url, json={"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name, "labels": {"a": "b"}},
                                    "data": {"k": "v" * 200}}).raise_for_status()
        create_rate = creates / (time.perf_counter() - began)
        session.post(url, json={"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": END}}).raise_for_status()
        if watch is not None:
            out, _ = watch.communicate(timeout=1200)
            if any(seen != names for seen in json.loads(out.splitlines()[-1])):
                raise RuntimeError(f"a watcher missed or reordered events ({watchers} watchers)")
        return Figures(create_rate, get_rate, list_rate)
    finally:
        server.stop()


def _cell(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--watch-child", help=argparse.SUPPRESS)  # JSON: url, token, n, rv
    args = parser.parse_args(argv)
    if args.watch_child:
        return _watch_main(*json.loads(args.watch_child))
    sizes, watcher_counts = ((100,), (0, 2)) if args.smoke else ((1_000, 100_000), (0, 10, 50))
    work = {"creates": 20, "gets": 20, "lists": 5} if args.smoke else \
        {"creates": 1000, "gets": 2000, "lists": 200}
    runs = 1 if args.smoke else args.runs
    results: dict[tuple[int, int], list[Figures]] = {}
    for run in range(runs):
        for size in sizes:  # interleaved: drift in machine load hits every cell alike
            for watchers in watcher_counts:
                figures = measure(size, watchers, **work)
                results.setdefault((size, watchers), []).append(figures)
                print(f"  run {run + 1}/{runs}, {size:,} objects, {watchers} watchers: "
                      f"{figures.creates:.0f} creates/s, {figures.gets:.0f} gets/s, "
                      f"{figures.lists:.0f} lists/s", file=sys.stderr, flush=True)
    print("| objects | watchers | creates/s | gets/s | lists/s (pages of 500) | "
          "creates vs 0 watchers |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        base = statistics.median(f.creates for f in results[(size, 0)])
        for watchers in watcher_counts:
            cells = results[(size, watchers)]
            creates = [f.creates for f in cells]
            ratios = [c / zero.creates for c, zero in zip(creates, results[(size, 0)],
                                                           strict=True)]
            met = sum(r >= 0.7 for r in ratios)
            print(f"| {size:,} | {watchers} | {_cell(creates)} | "
                  f"{_cell([f.gets for f in cells])} | {_cell([f.lists for f in cells])} | "
                  f"{statistics.median(creates) / base:.2f}× ({met} of {len(cells)} runs "
                  f"≥ 0.7×) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
