"""Streams: exec and port-forward throughput (MB/s) beside the floor, in the same run.

The floor is raw bytes through a local socket pair (one thread writes, the reader counts),
which is what any stream costs at least on this machine. dynakube's figures read the same
number of bytes out of ``pods.stream(...)`` (exec: the container writes them to stdout)
and through ``pods.port_forward(...)`` (a local connection; the Pod's port sends them), each
over a WebSocket to the embedded server; exec is timed from its first bytes. The server
runs in a child process (``python bench/streams.py serve``), so it does not share the
measured client's GIL; each figure is the median of several runs.
``python bench/streams.py`` runs it alone.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import DYNAKUBE, FLOOR, Row  # noqa: E402

__all__ = ["run", "serve"]

POD = "bench-streams"
PORT = 9000
BLOCK = 64 * 1024
MB = 1024 * 1024


def _send(write: Any, total: int) -> None:
    block = b"s" * BLOCK
    while total > 0:
        write(block[:total])
        total -= BLOCK


def _exec_handler(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                  **kw: Any) -> int:
    _send(stdout.write, int(command[1]))  # ["send", N]
    return 0


def _port_target(conn: Any) -> None:
    asked = b""
    while not asked.endswith(b"\n"):
        chunk = conn.recv(32)
        if not chunk:
            return
        asked += chunk
    _send(conn.sendall, int(asked))


def serve() -> None:
    """The child: an embedded server with one Pod whose container and port send bytes."""
    from dynakube.testing import ApiServer

    with ApiServer() as server:
        kube = server.client()
        kube.resource("pods").create({"apiVersion": "v1", "kind": "Pod",
                                      "metadata": {"name": POD}, "spec": {
                                          "nodeName": "bench", "containers": [
                                              {"name": "app", "image": "bench"}]}})
        kube.close()
        server.pods.on_exec("default", POD, "app", _exec_handler)
        server.pods.on_port("default", POD, PORT, _port_target)
        print(json.dumps({"kubeconfig": server.kubeconfig_path}), flush=True)
        sys.stdin.readline()  # until the parent is done


def _floor(total: int) -> float:
    a, b = socket.socketpair()
    writer = threading.Thread(target=_send, args=(a.sendall, total))
    started = time.perf_counter()
    writer.start()
    got = 0
    while got < total:
        got += len(b.recv(BLOCK))
    elapsed = time.perf_counter() - started
    writer.join()
    a.close()
    b.close()
    return elapsed


def _exec(pods: Any, total: int) -> float:
    """Seconds for ``total`` bytes of stdout, at the rate after the first read: the embedded
    server starts a command 50 ms after the handshake, as a cluster does, which is not the
    stream's throughput."""
    with pods.stream(POD, ["send", str(total)]) as stream:
        first = len(stream.stdout.read(BLOCK))
        started = time.perf_counter()
        got = 0
        while chunk := stream.stdout.read(BLOCK):
            got += len(chunk)
        stream.wait()
        elapsed = time.perf_counter() - started
    assert first + got == total, (first + got, total)
    return elapsed * total / got


def _forward(local: int, total: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", local)) as sock:
        sock.sendall(f"{total}\n".encode())
        got = 0
        while got < total:
            chunk = sock.recv(BLOCK)
            if not chunk:
                break
            got += len(chunk)
    assert got == total, (got, total)
    return time.perf_counter() - started


def run(ctx: Any) -> list[Row]:
    smoke = bool(getattr(ctx, "smoke", False))
    total = (2 if smoke else 64) * MB
    repeat = 2 if smoke else 5
    child = subprocess.Popen([sys.executable, __file__, "serve"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        info = json.loads(child.stdout.readline())
        from dynakube import Client

        with Client(kubeconfig=info["kubeconfig"]) as kube:
            pods = kube.resource("pods")

            def rate(measure: Any) -> float:
                measure()  # warm: connections, discovery, code paths
                return total / MB / statistics.median(measure() for _ in range(repeat))

            floor = rate(lambda: _floor(total))
            exec_rate = rate(lambda: _exec(pods, total))
            with pods.port_forward(POD, [f":{PORT}"]) as fwd:
                forward_rate = rate(lambda: _forward(fwd.ports[PORT], total))
        child.stdin.write("done\n")
        child.stdin.flush()
    finally:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
    note = (f"{total // MB} MB, median of {repeat} runs; floor = raw bytes through a local "
            "socket pair")
    return [
        Row("streams", "exec: stdout of a command", "MB/s", {FLOOR: floor, DYNAKUBE: exec_rate},
            higher_better=True, note=note),
        Row("streams", "port-forward: one connection", "MB/s",
            {FLOOR: floor, DYNAKUBE: forward_rate}, higher_better=True),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        class _Alone:
            smoke = "--smoke" in sys.argv

        for row in run(_Alone()):
            print(f"{row.case}: dynakube {row.values[DYNAKUBE]:.0f} MB/s, floor "
                  f"{row.values[FLOOR]:.0f} MB/s")
