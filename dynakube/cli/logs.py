"""``dynakube logs [-f] [-c C] [--tail N] [--since 5m] [--since-time T] [--timestamps]
[--previous] [--limit-bytes N] POD|TYPE/NAME``, as ``kubectl logs`` does it.

Like kubectl, a Pod with several containers and no ``-c`` gets its
``kubectl.kubernetes.io/default-container``, else its first container (saying so on
stderr), and a workload (``deploy/web``) the Pod kubectl would pick (``Found 3 pods, using
pod/web-1`` when there were several). A bad flag or a server refusal is one ``error:`` line
and exit code 1.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgumentError
from .session import Session

__all__ = ["add_logs_command", "cmd_logs", "parse_duration"]

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` (``5m``, ``1h30m``, ``90s``, ``1.5h``) in seconds."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DURATION.match(body, pos)
        if match is None:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise InvalidArgumentError(f'invalid argument "{text}" for "--since" flag: time: '
                                   f'invalid duration "{text}"')
    return -total if text.startswith("-") else total


def add_logs_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The ``logs`` subcommand's flags (``command`` makes a subparser with the global ones)."""
    p = command("logs", "print the logs of a container in a pod (or of a workload's pod)")
    p.add_argument("target", metavar="POD|TYPE/NAME")
    p.add_argument("-f", "--follow", action="store_true", help="stream new lines as they come")
    p.add_argument("-c", "--container", metavar="NAME",
                   help="the container (default: the pod's default or first one)")
    p.add_argument("--tail", type=int, default=-1, metavar="N",
                   help="only the last N lines (-1: all, the default)")
    p.add_argument("--since", metavar="DURATION",
                   help="only lines newer than this (5s, 2m, 3h)")
    p.add_argument("--since-time", metavar="TIME",
                   help="only lines at or after this RFC 3339 time")
    p.add_argument("--timestamps", action="store_true",
                   help="prefix each line with its RFC 3339 timestamp")
    p.add_argument("-p", "--previous", action="store_true",
                   help="the previous (terminated) instance of the container")
    p.add_argument("--limit-bytes", type=int, default=0, metavar="N",
                   help="stop after N bytes (0: no limit)")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl's ``LogsOptions.Validate``, then the client's keywords."""
    since = parse_duration(args.since) if args.since else 0.0
    if args.since_time and since:
        raise InvalidArgumentError(
            "at most one of `sinceTime` or `sinceSeconds` may be specified")
    if args.limit_bytes < 0:
        raise InvalidArgumentError("--limit-bytes must be greater than 0")
    if args.tail < -1:
        raise InvalidArgumentError("--tail must be greater than or equal to -1")
    if since < 0:
        raise InvalidArgumentError("--since must be greater than 0")
    return {"tail_lines": args.tail if args.tail >= 0 else None,
            "since_seconds": since or None, "since_time": args.since_time or None,
            "timestamps": args.timestamps, "previous": args.previous,
            "limit_bytes": args.limit_bytes or None}


def _default_container(session: Session, pod: dict[str, Any]) -> str | None:
    """What kubectl takes without ``-c``: the annotated default, else the first container."""
    spec = pod.get("spec") or {}
    containers = [str(c.get("name")) for c in spec.get("containers") or []]
    if not containers:
        return None
    meta = pod.get("metadata") or {}
    wanted = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    every = {str(c.get("name")) for f in ("containers", "initContainers", "ephemeralContainers")
             for c in spec.get(f) or []}
    if wanted:
        if wanted in every:
            return str(wanted)
        session.stderr.write(f'Default container name "{wanted}" not found in pod '
                             f"{meta.get('name')}\n")
    if len(every) > 1:
        names = containers + [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
        names += [f"{c.get('name')} (ephem)" for c in spec.get("ephemeralContainers") or []]
        session.stderr.write(f'Defaulted container "{containers[0]}" out of: '
                             f"{', '.join(names)}\n")
    return containers[0]


def cmd_logs(session: Session) -> int:
    args = session.args
    options = _options(args)
    kind, _, name = args.target.rpartition("/")
    handle = session.client.resource(kind or "pods")
    choice = handle.log_pod(name, args.namespace)
    if choice.matched > 1:
        session.stderr.write(f"Found {choice.matched} pods, using pod/{choice.name}\n")
    pods = session.client.resource("pods")
    container = args.container
    if not container:
        container = _default_container(session, pods.get(choice.name, choice.namespace))
    if not args.follow:
        session.stdout.write(pods.logs(choice.name, choice.namespace, container=container,
                                       **options))
        return 0
    with pods.logs(choice.name, choice.namespace, container=container, follow=True,
                   **options) as stream:
        for line in stream:
            session.stdout.write(line + "\n")
            session.stdout.flush()
    return 0
