"""``ApiServer``: an in-memory Kubernetes API server on 127.0.0.1, speaking the real HTTP API.

For the tour, for this repository's tests and for users' own tests: start it in a background
thread (``with ApiServer() as server:``), point any client at ``server.kubeconfig_path``, and
use the fault controls (``server.faults``) and the request log (``server.requests``) to test
how a client copes with throttling, dropped watches, compaction and expired credentials.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from dynakube.errors import ConfigError, InvalidArgumentError

from .call import Call, Options
from .http.handler import RequestHandler
from .http.listener import Listener
from .http.requestlog import LoggedRequest, RequestLog
from .rules import namespaces
from .rules.lifecycle import Kubelet
from .storage.resources import ResourceTable
from .storage.store import ObjectStore
from .tlsfiles import throwaway_pki
from .verbs.crud import Api

if TYPE_CHECKING:
    from dynakube.client import Client

__all__ = ["ApiServer", "Faults", "Kubelet", "RequestLog", "LoggedRequest"]

_BOOT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class Faults:
    """Misbehaviour on demand, to test clients' reliability."""

    def __init__(self, store: ObjectStore):
        self._store = store
        self._lock = threading.Lock()
        self._failures: list[tuple[int, float | None]] = []
        self.delay_seconds = 0.0
        self.rejected: set[str] = set()
        self.forbidden_token = ""  # a token that may read but not write (set by ApiServer)

    def close_watches(self) -> int:
        """End every open watch stream now; returns how many were open."""
        return self._store.close_watches()

    def compact(self) -> None:
        """Forget the event history: resuming a watch from any older version gets 410."""
        self._store.compact()

    def fail_next(self, n: int = 1, status: int = 429, retry_after: float | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (429, 500, 503...)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * n)

    def delay(self, seconds: float) -> None:
        """Hold every answer for ``seconds`` (0 turns it off)."""
        self.delay_seconds = max(0.0, float(seconds))

    def reject_token(self, token: str) -> None:
        """From now on, requests with this bearer token get 401 Unauthorized."""
        self.rejected.add(token)

    def take_failure(self) -> tuple[int, float | None] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
        self.delay_seconds = 0.0
        self.rejected.clear()


class ApiServer:
    """An in-memory Kubernetes API server on ``127.0.0.1`` (a random free port by default).

    ``tls``: serve HTTPS, with ``cert_file``/``key_file``/``ca_file`` or a throwaway CA made
    with ``openssl``. ``token``: the bearer token accepted (random by default); the read-only
    ``forbidden_token`` gets ``403`` on writes; ``anonymous`` lets requests without any
    credentials in (kubectl sends no token over plain HTTP). ``history_size``: watch events
    kept for resuming (older resourceVersions get ``410``). The switches make it behave like
    an older server: ``aggregated_discovery`` ("v2", "v2beta1" or None for legacy only),
    ``openapi_v3=False`` (no ``/openapi/v3``), ``watch_list=False`` (``sendInitialEvents``
    refused), ``server_side_apply=False`` (apply patches get ``415``). ``options`` holds them
    and the timings, e.g. ``options.resource_version_wait`` (how long a read from a
    resourceVersion not reached yet waits for it, 3 s as in kube-apiserver) and
    ``options.stream_creation_timeout`` (how long a SPDY port-forward's half-open stream pair
    is waited for, the kubelet's 30 s).

    It behaves as a whole cluster for what tests meet: each namespace gets its ``default``
    ServiceAccount and ``kube-root-ca.crt``, ``default/kubernetes`` points at the server, a
    deleted namespace terminates as the namespace controller does it, and ``pods`` (the
    kubelet stand-in, :class:`Kubelet`) finishes graceful Pod deletes:
    ``server.pods.ignore_sigterm(namespace, name)`` makes one take its whole grace period.
    A deleted ``default`` ServiceAccount or ``kube-root-ca.crt`` is made again (a new uid) as
    those controllers do; a test that counts ConfigMaps or ServiceAccounts after deleting
    them sets ``server.restores_defaults = False`` first.
    """

    def __init__(self, *, tls: bool = False, token: str | None = None, port: int = 0,
                 aggregated_discovery: str | None = "v2", openapi_v3: bool = True,
                 watch_list: bool = True, server_side_apply: bool = True,
                 history_size: int = 10_000, cert_file: str | None = None,
                 key_file: str | None = None, ca_file: str | None = None,
                 bookmark_interval: float = 60.0, anonymous: bool = False):
        if aggregated_discovery not in ("v2", "v2beta1", None):
            raise InvalidArgumentError('aggregated_discovery must be "v2", "v2beta1" or None, '
                             f"not {aggregated_discovery!r}")
        self.tls = tls
        self.anonymous = anonymous
        self.token = token or secrets.token_urlsafe(24)
        self.forbidden_token = "readonly-" + secrets.token_urlsafe(12)
        self.port = port
        self.options = Options(aggregated_discovery, openapi_v3, watch_list, server_side_apply,
                               bookmark_interval)
        self.store = ObjectStore(history_size)
        self.table = ResourceTable()
        self.api = Api(self.store, self.table, self.options)
        self.pods: Kubelet = self.api.kubelet
        self.faults = Faults(self.store)
        self.faults.forbidden_token = self.forbidden_token
        self.requests = RequestLog()
        self._cert_file, self._key_file, self.ca_file = cert_file, key_file, ca_file
        self._ssl_context: ssl.SSLContext | None = None
        self._httpd: Listener | None = None
        self._thread: threading.Thread | None = None
        self._dir: str | None = None
        self._throwaway_pki = False
        self.kubeconfig_path = ""
        self.url = ""
        self._bootstrap()

    @property
    def restores_defaults(self) -> bool:
        """Whether a deleted ``default`` ServiceAccount or ``kube-root-ca.crt`` ConfigMap is
        made again, as the serviceaccount controller and the root-ca-cert-publisher do
        (``True``); ``False`` keeps it deleted, as a bare kube-apiserver does."""
        return self.api.restores_defaults

    @restores_defaults.setter
    def restores_defaults(self, value: bool) -> None:
        self.api.restores_defaults = bool(value)

    # -- lifecycle -----------------------------------------------------------------------

    def _bootstrap(self) -> None:
        ns_spec = self.table.lookup("", "v1", "namespaces")
        assert ns_spec is not None
        for name in _BOOT_NAMESPACES:
            body = json.dumps({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": name}}).encode()
            self.api.create(Call("POST", ns_spec, None, None, None, {}, {}, body,
                                 "kube-apiserver"))
        # A fresh real server's history before start-up is gone: old versions get 410.
        self.store.compact()

    def _tls_context(self) -> ssl.SSLContext:
        if not (self._cert_file and self._key_file):
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="dynakube-server-")
            try:
                self.ca_file, self._cert_file, self._key_file = throwaway_pki(self._dir)
                self._throwaway_pki = True
            except OSError as exc:
                raise ConfigError(
                    "ApiServer(tls=True) needs the openssl command to make a throwaway "
                    f"certificate ({exc}); install openssl or pass cert_file=, key_file= and "
                    "ca_file=") from exc
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._cert_file, self._key_file)
        if self.ca_file:
            ctx.load_verify_locations(self.ca_file)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    def _publish_ca(self) -> None:
        """Every ``kube-root-ca.crt`` holds the CA clients verify this server with."""
        source = self.ca_file or self._cert_file
        if not source:
            return
        try:
            with open(source, encoding="ascii") as fh:
                pem = fh.read()
        except (OSError, UnicodeDecodeError):
            return  # _tls_context read it already; an unreadable file failed there
        self.api.ca_pem = pem
        namespaces.refresh_root_ca(self.api, pem)

    def start(self) -> ApiServer:
        """Listen and serve in a background thread; returns self."""
        if self._httpd is not None:
            return self
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="dynakube-server-")
        if self.tls:
            self._ssl_context = self._tls_context()
            self._publish_ca()
        httpd = Listener(("127.0.0.1", self.port), self, RequestHandler, self._ssl_context)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        namespaces.publish_apiserver(self.api, self.port)
        self.pods.start()
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.kubeconfig_path = os.path.join(self._dir, "kubeconfig")
        self._write_kubeconfig()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"dynakube-apiserver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: open watches end, connections close, the kubeconfig is removed."""
        httpd = self._httpd
        if httpd is None:
            return
        self._httpd = None
        self.pods.close()
        self.store.close_watches()
        stopper = threading.Thread(target=httpd.shutdown, daemon=True)
        stopper.start()
        try:  # wake the accept loop now instead of at its next poll
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        stopper.join()
        with httpd.conn_lock:
            open_now = list(httpd.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if self._throwaway_pki:  # made in the directory just removed: make anew on restart
            self.ca_file = self._cert_file = self._key_file = None
            self._throwaway_pki = False

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # -- clients -------------------------------------------------------------------------

    def _write_kubeconfig(self) -> None:
        cluster = [f"    server: {self.url}"]
        if self.tls and self.ca_file:
            cluster.append(f"    certificate-authority: {self.ca_file}")
        text = "\n".join([
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: dynakube-embedded",
            "  cluster:",
            *cluster,
            "users:",
            "- name: dynakube-embedded",
            "  user:",
            f"    token: {self.token}",
            "contexts:",
            "- name: dynakube-embedded",
            "  context:",
            "    cluster: dynakube-embedded",
            "    user: dynakube-embedded",
            "    namespace: default",
            "current-context: dynakube-embedded",
            "",
        ])
        fd = os.open(self.kubeconfig_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)

    def config(self, *, token: str | None = None, namespace: str = "default") -> Any:
        """A :class:`dynakube.config.ClusterConfig` for this server."""
        from dynakube.config import ClusterConfig

        return ClusterConfig(server=self.url, namespace=namespace,
                             token=token or self.token,
                             certificate_authority=self.ca_file if self.tls else None,
                             context="dynakube-embedded", source=self.kubeconfig_path)

    def client(self, **kw: Any) -> Client:
        """A dynakube ``Client`` bound to this server (keywords go to ``Client``)."""
        from dynakube.client import Client

        if not self.running:
            self.start()
        namespace = kw.pop("namespace", "default")
        token = kw.pop("token", None)
        return Client(self.config(token=token, namespace=namespace), **kw)

    # -- used by the HTTP handler --------------------------------------------------------

    def user_for(self, token: str | None) -> str | None:
        """``"admin"``, ``"readonly"``, or None when the token is not accepted."""
        if not token:
            return "admin" if self.anonymous else None
        if not token.isascii() or token in self.faults.rejected:
            # a header byte past ASCII can be no token we issued (and compare_digest refuses
            # non-ASCII text): 401 like any other unknown token, never a 500
            return None
        if secrets.compare_digest(token, self.token):
            return "admin"
        if secrets.compare_digest(token, self.forbidden_token):
            return "readonly"
        return None
