"""``python -m dynakube.testing serve [--port N] [--tls]``: run the embedded server standalone.

Prints the kubeconfig path so a person can point kubectl (or any client) at it, then serves
until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

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
    args = parser.parse_args(argv)

    from dynakube.apiserver.server import ApiServer

    tls = args.tls or bool(args.cert_file)
    server = ApiServer(tls=tls, port=args.port, token=args.token, cert_file=args.cert_file,
                       key_file=args.key_file, ca_file=args.ca_file,
                       anonymous=not tls and not args.require_token)
    # no containers run here: each one "starts" by saying so, for `kubectl logs` to show
    server.pods.logs.autostart = lambda namespace, pod, container: (
        f"container {container} of pod {namespace}/{pod} started (dynakube embedded server)")
    server.start()
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

