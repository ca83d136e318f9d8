"""``dynakube wait``: kubectl's ``wait``, with its flags, lines and errors.

``dynakube wait deploy/web --for=condition=Available --timeout=60s`` prints
``deployment.apps/web condition met`` for each object once its condition holds (one wait per
object, in turn, as kubectl waits); ``-l``/``--all`` choose the objects. The waiting
itself is :func:`dynakube.wait.wait`: a watch, never polling.
"""

from __future__ import annotations

import argparse
import io
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import DynakubeError, InvalidArgumentError
from . import printing
from .session import Session, UsageError, report_error
from .targets import no_resources_error, split_type_names

if TYPE_CHECKING:
    from ..resource import Resource

__all__ = ["add_wait_command", "cmd_wait", "duration_flag", "parse_duration"]

#: What a negative ``--timeout`` stands for: a week, as kubectl.
FOREVER = 7 * 24 * 3600.0

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """A Go duration (``30s``, ``1m30s``, ``500ms``; a bare number is seconds) in seconds."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if re.fullmatch(r"\d+(\.\d*)?", body):
        return sign * float(body)
    pos, total = 0, 0.0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise InvalidArgumentError(f'invalid duration "{text}": use a number with a unit, '
                                   "such as 30s, 2m or 1h30m")
    return sign * total


def duration_flag(text: str, flag: str, command: str) -> float:
    """A duration flag's value; a bad one is cobra's flag error, as kubectl prints it."""
    try:
        return parse_duration(text)
    except InvalidArgumentError:
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: time: invalid '
                         f'duration "{text}"', label="Error",
                         hint=f"See 'dynakube {command} --help' for usage.") from None


def add_wait_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Declare ``wait`` on the parser ``command`` makes subcommands with."""
    p = command("wait", "wait for a condition on objects: condition=TYPE[=STATUS], delete, "
                        "create or jsonpath='{...}'[=VALUE]")
    p.add_argument("resource", nargs="?", help="TYPE, TYPE/NAME or TYPE NAME...")
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("--for", dest="for_", metavar="CONDITION", default="",
                   help="condition=Available, condition=Ready=False, delete, create, "
                        "jsonpath='{.status.phase}'=Running")
    p.add_argument("--timeout", default="30s", help="how long to wait (default 30s; 0: "
                   "look once; negative: a week)")
    p.add_argument("-l", "--selector", metavar="SEL", help="label selector")
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument("-A", "--all-namespaces", action="store_true")


def _targets(session: Session) -> list[tuple[Resource, str | None, Any]]:
    """``(resource, name, namespace)`` to wait for; a name of None: a selector's or --all."""
    from ..resource import ALL
    args = session.args
    kube = session.client
    namespace = ALL if args.all_namespaces else None
    if not args.resource:
        raise no_resources_error()
    selecting = bool(args.selector or args.all)
    out: list[tuple[Resource, str | None, Any]] = []
    for kind, names in split_type_names([args.resource, *args.names], "wait"):
        if not names and not selecting:
            raise UsageError("resource(s) were provided, but no name was specified")
        resource = kube.resource(kind)
        if selecting:  # as kubectl, the selector wins over names given with it
            out.append((resource, None, namespace))
        else:
            out += [(resource, n, namespace) for n in names]
    return out


def cmd_wait(session: Session) -> int:
    """One ``condition met`` line per object; exit 1 if any wait failed, as kubectl.

    The failures are told at the end, as kubectl tells them: one is an ``error:`` line,
    several are one line each without the prefix (Go's aggregated error).
    """
    from ..resource import ALL
    from ..wait import WaitTimeoutError, parse_condition, wait

    args = session.args
    timeout = duration_flag(args.timeout, "--timeout", "wait")
    condition = parse_condition(args.for_)
    timeout = FOREVER if timeout < 0 else timeout
    deadline = time.monotonic() + timeout
    errors: list[str] = []
    for resource, name, namespace in _targets(session):
        names: list[tuple[str, Any]] = [(name, namespace)] if name else []
        if name is None:  # a selector or --all: each object it picks now, one by one
            listed = resource.list(namespace, label_selector=args.selector or None)
            names = [(o["metadata"]["name"], o["metadata"].get("namespace") if
                      namespace is ALL else namespace) for o in listed.get("items") or ()]
            if not names and condition.kind != "delete":
                errors.append("error: no matching resources found\n")
        for one, ns in names:
            left = 0.0 if timeout == 0 else max(deadline - time.monotonic(), 0.001)
            try:
                found = wait(resource, one, ns, for_=condition, timeout=left)
            except WaitTimeoutError:
                what = f" on {resource.info.plural}/{one}" if condition.kind != "create" \
                    else ""
                errors.append(f"error: condition not met for {resource.info.plural}/{one}\n"
                              if timeout == 0 else
                              f"error: timed out waiting for the condition{what}\n")
                continue
            except DynakubeError as e:
                text = io.StringIO()
                report_error(e, text)
                errors.append(text.getvalue())
                continue
            if found or condition.kind != "delete":
                session.stdout.write(f"{printing.object_name(resource.info, one)} "
                                     "condition met\n")
                session.stdout.flush()
    if len(errors) > 1:
        errors = [e.removeprefix("error: ") for e in errors]
    session.stderr.write("".join(errors))
    return 1 if errors else 0
