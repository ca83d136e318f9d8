"""``python -m dynakube.testing serve [--port N] [--tls]``: run the embedded server standalone.

Prints the kubeconfig path so a person can point kubectl (or any client) at it, then serves
until interrupted. No containers run here, so each one stands in for itself: its log starts
with a line saying it started (``kubectl logs``), and a command run in it (``kubectl exec``,
``kubectl attach``) reaches a tiny busybox-like shell, :class:`~.rules.podshell.PodShell`:
``echo``, ``cat``, ``env``, ``hostname``, ``pwd``, ``ls`` of nothing, ``true``/``false``,
``sleep N``, ``exit N``, ``sh -c "a; b && c || d"`` and an interactive ``sh`` (``kubectl exec
-it POD -- sh``). Other programs are "executable file not found", as in a container without
them.

``--seed`` loads the sample content (the Widget CRD and widgets, ConfigMaps, namespaces) and
a few Deployments, for a demo. A busy port or a certificate file that is missing or not PEM
is one ``error:`` line and exit code 1, not a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .rules.podshell import PodShell

if TYPE_CHECKING:
    from .server import ApiServer

__all__ = ["main"]

_ANONYMOUS_WARNING = (
    "WARNING: plain HTTP without --require-token: requests WITHOUT A TOKEN ARE ADMIN.\n"
    "WARNING: any local user or process that reaches this port can read and change "
    "everything; "
    "use --require-token (and --tls for kubectl) for anything shared.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dynakube.testing",
                                     description="Run dynakube's embedded Kubernetes API server.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve until interrupted; prints the kubeconfig path",
        description="Serve until interrupted. Over plain HTTP, requests without a token are "
                    "let in as admin (kubectl sends no token over plain HTTP); for a server "
                    "anything else can reach, use --require-token (with --tls for kubectl).")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: random)")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    serve.add_argument("--cert-file", help="server certificate (PEM) instead of a throwaway one")
    serve.add_argument("--key-file", help="key of --cert-file")
    serve.add_argument("--ca-file", help="CA that signed --cert-file (written to the kubeconfig)")
    serve.add_argument("--token", help="bearer token to accept (default: random)")
    serve.add_argument("--require-token", action="store_true",
                       help="refuse requests without a token even over plain HTTP: the way to "
                            "run a server others can reach (kubectl sends no token over plain "
                            "HTTP, so it then needs --tls)")
    serve.add_argument("--seed", action="store_true",
                       help="load sample Widgets, ConfigMaps and Deployments")
    args = parser.parse_args(argv)

    from dynakube.apiserver.server import ApiServer

    for flag, path in (("--cert-file", args.cert_file), ("--key-file", args.key_file),
                       ("--ca-file", args.ca_file)):
        if path and not os.access(path, os.R_OK):
            why = "cannot be read" if os.path.exists(path) else "does not exist"
            return _fail(f"{flag} {path}: the file {why}")

    tls = args.tls or bool(args.cert_file)
    server = ApiServer(tls=tls, port=args.port, token=args.token, cert_file=args.cert_file,
                       key_file=args.key_file, ca_file=args.ca_file,
                       anonymous=not tls and not args.require_token)
    # no containers run here: each one "starts" by saying so, for `kubectl logs` to show
    server.pods.logs.autostart = lambda namespace, pod, container: (
        f"container {container} of pod {namespace}/{pod} started (dynakube embedded server)")
    server.pods.streams.default_handler = PodShell
    try:
        server.start()
    except ssl.SSLError as e:
        return _fail(f"--cert-file/--key-file: not a PEM certificate and its key "
                     f"({e.reason or e})")
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return _fail(f"port {args.port} on 127.0.0.1 is already in use: choose another "
                         "--port, or leave it out for a free one")
        return _fail(f"cannot start the server: {e.strerror or e}")
    if args.seed:
        _seed(server)
    if server.anonymous:
        print(_ANONYMOUS_WARNING, file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"dynakube embedded API server at {server.url}", flush=True)
    print(f"kubeconfig: {server.kubeconfig_path}", flush=True)
    print(f"  export KUBECONFIG={server.kubeconfig_path}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


def _seed(server: ApiServer) -> None:
    """The sample content, plus Deployments in two namespaces."""
    from .seed import _deployment, seed

    client = server.client()
    try:
        seed(client)
        client.apply([_deployment("api", "shop"), _deployment("worker", "tools")],
                     field_manager="dynakube-seed")
    finally:
        client.close()

