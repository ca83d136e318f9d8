"""Embedded-server write throughput under watch fan-out: ``python bench/fanout.py [--smoke]``.

Creates/s against the embedded server with 0, 10 and 50 open ConfigMap watches. The server
runs in its own process (``serverproc.py``), the watchers in another, and the writer in this
one, so none shares another's GIL. Each figure is the median of 5 runs, interleaved by watcher
count, each on a fresh server; the spread (min–max) is printed beside it. Every watcher must
receive every create, in order, or the run fails: a fast server that drops events is no win.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

__all__ = ["main", "measure"]

BENCH_DIR = Path(__file__).resolve().parent
WATCHERS = (0, 10, 50)
NS_CM = "/api/v1/namespaces/default/configmaps"
END = "zz-end"


def _watch_main(url: str, token: str, count: int) -> int:
    """Child: open ``count`` watches, say ``ready``, then report how many creates each saw in
    order once the ``zz-end`` ConfigMap arrives."""
    headers = {"Authorization": f"Bearer {token}"}
    names: list[list[str]] = [[] for _ in range(count)]
    answers = []
    for _ in range(count):
        session = requests.Session()
        answer = session.get(url + NS_CM, params={"watch": "true", "resourceVersion": "0",
                                                  "timeoutSeconds": "600"},
                             headers=headers, stream=True, timeout=600)
        answer.raise_for_status()
        answers.append(answer)

    def read(answer: requests.Response, out: list[str]) -> None:
        for line in answer.iter_lines():
            if line:
                name = json.loads(line)["object"]["metadata"]["name"]
                if name == END:
                    return
                out.append(name)

    threads = [threading.Thread(target=read, args=(a, n)) for a, n in zip(answers, names,
                                                                          strict=True)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()
    print(json.dumps([[n for n in seen if n != "kube-root-ca.crt"] for seen in names]),
          flush=True)
    return 0


def _server() -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([sys.executable, str(BENCH_DIR / "serverproc.py"), "10000"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"op": "info"}) + "\n")
    proc.stdin.flush()
    info = json.loads(proc.stdout.readline())["ok"]
    return proc, info["url"], info["token"]


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
    proc.stdin.flush()
    proc.wait(60)


def measure(watchers: int, creates: int) -> float:
    """Creates/s with ``watchers`` open watches on a fresh embedded server."""
    proc, url, token = _server()
    try:
        watch: subprocess.Popen[str] | None = None
        if watchers:
            watch = subprocess.Popen([sys.executable, __file__, "--watch-child", url, token,
                                      str(watchers)], stdout=subprocess.PIPE, text=True)
            assert watch.stdout is not None
            if watch.stdout.readline().strip() != "ready":
                raise RuntimeError("the watcher process did not start")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        names = [f"cm-{n:06d}" for n in range(creates)]
        began = time.perf_counter()
        for name in names:
            session.post(url + NS_CM, json={"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": name, "labels": {"a": "b"}},
                                            "data": {"k": "v" * 200}}).raise_for_status()
        rate = creates / (time.perf_counter() - began)
        session.post(url + NS_CM, json={"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": END}}).raise_for_status()
        if watch is not None:
            out, _ = watch.communicate(timeout=600)
            seen = json.loads(out.splitlines()[-1])
            if any(s != names for s in seen):
                raise RuntimeError(f"a watcher missed or reordered events ({watchers} watchers)")
        return rate
    finally:
        _stop(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--watch-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.watch_child:
        url, token, count = args.watch_child
        return _watch_main(url, token, int(count))
    creates = 50 if args.smoke else 1000
    runs = 1 if args.smoke else args.runs
    rates: dict[int, list[float]] = {w: [] for w in WATCHERS}
    for run in range(runs):
        for w in WATCHERS:  # interleaved, so drift in machine load hits every column alike
            rates[w].append(measure(w, creates))
            print(f"  run {run + 1}/{runs}, {w} watchers: {rates[w][-1]:.0f} creates/s",
                  file=sys.stderr, flush=True)
    base = statistics.median(rates[0])
    print("| watchers | creates/s (median) | spread | vs 0 watchers |")
    print("|---:|---:|---:|---:|")
    for w in WATCHERS:
        med = statistics.median(rates[w])
        print(f"| {w} | {med:.0f} | {min(rates[w]):.0f}–{max(rates[w]):.0f} | "
              f"{med / base:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
