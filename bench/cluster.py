"""The cluster the benchmarks run against: the embedded server (default) or a given one.

The embedded server runs in a child process (``serverproc.py``) so it neither shares the
measured client's GIL nor shows up in its traced memory; it also counts requests and loads
objects in bulk. A real cluster (``--kubeconfig``/``--context``) gets its objects through
concurrent creates, and its namespaces removed at the end.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness import BENCH_DIR, Conn

__all__ = ["Cluster", "WIDGET_NAMESPACE", "WIDGET_NAME"]

WIDGET_NAMESPACE = "bench-discovery"
WIDGET_NAME = "bench-widget"


class Cluster:
    """Connection details plus the few server-side helpers the tasks need."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None):
        self.embedded = kubeconfig is None and context is None
        self._proc: subprocess.Popen[str] | None = None
        self._namespaces: set[str] = set()
        self._loaded: dict[str, int] = {}
        self.applied: list[str] = []  # namespaces the apply task used, one per run
        if self.embedded:
            self._proc = subprocess.Popen(
                [sys.executable, str(BENCH_DIR / "serverproc.py"), "10000"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            info = self._cmd("info")
            self.conn = Conn(url=info["url"], headers={"Authorization": f"Bearer {info['token']}"},
                             verify=True, kubeconfig=info["kubeconfig"], embedded=True)
        else:
            self.conn = _conn_from_kubeconfig(kubeconfig, context)
        self._kube: Any = None
        self._widget: tuple[str, str] | None = None
        self._created_crd: str | None = None  # deleted at the end on a real cluster

    # -- embedded-server control -----------------------------------------------------------
    def _cmd(self, op: str, **args: Any) -> Any:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._proc.stdin.flush()
        reply = json.loads(self._proc.stdout.readline() or '{"error": "server process died"}')
        if "error" in reply:
            raise RuntimeError(f"embedded server: {op}: {reply['error']}")
        return reply["ok"]

    def clear(self) -> None:
        if self.embedded:
            self._cmd("clear")

    def request_log(self) -> list[tuple[str, str, int]] | None:
        """``(method, path, status)`` of every request since :meth:`clear` (embedded only)."""
        if not self.embedded:
            return None
        return [tuple(r) for r in self._cmd("log")]  # type: ignore[misc]

    # -- objects ---------------------------------------------------------------------------
    @property
    def kube(self) -> Any:
        if self._kube is None:
            self._kube = self.conn.dynakube(qps=None, cache_dir=None)
        return self._kube

    def namespace(self, name: str) -> str:
        if name not in self._namespaces:
            if self.embedded:
                self._cmd("namespace", name=name)
            else:
                self.kube.apply({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name}}, field_manager="dynakube-bench")
            self._namespaces.add(name)
        return name

    def configmaps(self, n: int) -> str:
        """A namespace holding exactly ``n`` benchmark ConfigMaps (and ``kube-root-ca.crt``)."""
        ns = self.namespace(f"bench-{n}")
        have = self._loaded.get(ns, 0)
        if have >= n:
            return ns
        if self.embedded:
            self._cmd("load", namespace=ns, n=n, start=have)
        else:
            from serverproc import configmap

            from dynakube.errors import ConflictError

            res = self.kube.resource("configmaps")

            def create(i: int) -> None:
                try:
                    res.create(configmap(ns, i), validate=False)
                except ConflictError:
                    pass  # left by an earlier run

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(create, range(have, n)))
        self._loaded[ns] = n
        return ns

    def widget(self) -> tuple[str, str]:
        """The Widget CRD and one Widget; ``(namespace, name)`` of the Widget."""
        from dynakube.apiserver.seed import WIDGET_CRD, widget
        from dynakube.errors import NotFoundError

        if self._widget is not None:
            return self._widget
        ns = self.namespace(WIDGET_NAMESPACE)
        crd_name = WIDGET_CRD["metadata"]["name"]
        try:
            self.kube.resource("customresourcedefinitions").get(crd_name)
        except NotFoundError:
            self._created_crd = crd_name
        self.kube.apply([copy.deepcopy(WIDGET_CRD),
                         widget(WIDGET_NAME, "small", ns, replicas=2)],
                        field_manager="dynakube-bench")
        self._widget = (ns, WIDGET_NAME)
        return self._widget

    def close(self) -> None:
        if self._kube is not None and not self.embedded:
            ns_res = self._kube.resource("namespaces")
            for ns in sorted(self._namespaces):
                try:
                    ns_res.delete(ns)
                except Exception as e:  # cleaning up is best effort
                    print(f"could not delete namespace {ns}: {e}", file=sys.stderr)
            if self._created_crd:
                try:
                    self._kube.resource("customresourcedefinitions").delete(self._created_crd)
                except Exception as e:
                    print(f"could not delete the CRD {self._created_crd}: {e}",
                          file=sys.stderr)
        if self._kube is not None:
            self._kube.close()
        if self._proc is not None:
            try:
                self._cmd("stop")
            except Exception:  # already gone
                pass
            self._proc.wait(timeout=10)
            self._proc = None


def _conn_from_kubeconfig(kubeconfig: str | None, context: str | None) -> Conn:
    """The floor's connection details, from the same kubeconfig dynakube reads."""
    from dynakube.config import load_config
    from dynakube.transport.auth import credential_source
    from dynakube.transport.tls import SecretFiles

    config = load_config(kubeconfig, context)
    files = SecretFiles()  # kept until exit: the floor reads inline certificates as files
    creds = credential_source(config)
    current = creds.current() if creds is not None else None
    verify: bool | str = True
    if config.insecure_skip_tls_verify:
        verify = False
    elif config.certificate_authority_data:
        verify = files.write("ca.crt", config.certificate_authority_data)
    elif config.certificate_authority:
        verify = config.certificate_authority
    cert = None
    if current is not None and current.cert:
        cert = [files.write("exec.crt", current.cert[0]), files.write("exec.key", current.cert[1])]
    elif config.client_certificate_data and config.client_key_data:
        cert = [files.write("client.crt", config.client_certificate_data),
                files.write("client.key", config.client_key_data)]
    elif config.client_certificate and config.client_key:
        cert = [config.client_certificate, config.client_key]
    return Conn(url=config.server.rstrip("/"), headers=dict(current.headers if current else {}),
                verify=verify, cert=cert, kubeconfig=kubeconfig, context=context,
                embedded=False)
