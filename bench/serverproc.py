"""The embedded API server in its own process, driven over stdin/stdout by the benchmarks.

The server runs apart from the measured client so that the client's CPU time and memory are
its own (the server's threads would otherwise share the GIL and the traced heap). Commands are
JSON lines on stdin; each gets one JSON line back on stdout. Objects are bulk-loaded through
the server's own create path (no HTTP), so 100,000 ConfigMaps take seconds, not minutes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["configmap", "main"]

PAYLOAD = "\n".join(f"key{i}: value number {i} of the benchmark configuration"
                    for i in range(4))


def configmap(namespace: str, index: int, prefix: str = "cm") -> dict[str, Any]:
    """A ConfigMap of a realistic size (labels, an annotation, a few data keys)."""
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"{prefix}-{index:06d}", "namespace": namespace,
                     "labels": {"app": "bench", "tier": f"t{index % 10}"},
                     "annotations": {"bench.dynakube.io/index": str(index)}},
        "data": {"config.yaml": PAYLOAD, "mode": "fast", "owner": "bench"},
    }


class _Driver:
    def __init__(self, history_size: int):
        from dynakube.apiserver.server import ApiServer

        self.server = ApiServer(history_size=history_size)
        self.server.start()

    def _call(self, method: str, group: str, version: str, plural: str,
              namespace: str | None, body: dict[str, Any]) -> None:
        from dynakube.apiserver.call import Call

        spec = self.server.table.lookup(group, version, plural)
        if spec is None:
            raise RuntimeError(f"the server does not serve {group}/{version} {plural}")
        self.server.api.create(Call(method, spec, namespace, None, None, {}, {},
                                    json.dumps(body).encode(), "bench-loader"))

    def handle(self, cmd: dict[str, Any]) -> Any:
        op = cmd["op"]
        server = self.server
        if op == "info":
            return {"url": server.url, "token": server.token,
                    "kubeconfig": server.kubeconfig_path}
        if op == "count":
            return server.requests.count(cmd.get("method"), cmd.get("path"), cmd.get("prefix"))
        if op == "log":
            return [[r.method, r.path, r.status] for r in server.requests]
        if op == "clear":
            server.requests.clear()
            return True
        if op == "namespace":
            if server.store.get("/namespaces", f"/{cmd['name']}") is None:
                try:
                    self._call("POST", "", "v1", "namespaces", None,
                               {"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": cmd["name"]}})
                except Exception as e:  # already there (bucket naming differs): fine
                    if "already exists" not in str(e) and "AlreadyExists" not in repr(e):
                        raise
            return True
        if op == "load":
            ns, prefix = cmd["namespace"], cmd.get("prefix", "cm")
            for i in range(cmd.get("start", 0), cmd["n"]):
                self._call("POST", "", "v1", "configmaps", ns, configmap(ns, i, prefix))
            return server.store.rv
        if op == "stop":
            server.stop()
            return True
        raise ValueError(f"unknown command {op!r}")


def main() -> int:
    history = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    driver = _Driver(history)
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            reply = {"ok": driver.handle(cmd)}
        except Exception as e:  # reported to the parent, which decides
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if cmd.get("op") == "stop":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
