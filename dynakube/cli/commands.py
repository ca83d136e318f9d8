"""The flags of the commands that work on live objects: ``label``, ``annotate``, ``scale``,
``edit``, ``events`` and ``rollout status``, and which function runs each.

Kept apart from :mod:`dynakube.cli.app` so that the parser there stays a list of the
commands; each command's behaviour lives in a module of its own (:mod:`~dynakube.cli.label`,
:mod:`~dynakube.cli.scale`, :mod:`~dynakube.cli.edit`, :mod:`~dynakube.cli.events`,
:mod:`~dynakube.cli.rollout`), imported only when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from .session import Session

__all__ = ["COMMANDS", "add_object_commands"]


def _lazy(module: str, function: str) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        command: Callable[[Session], int] = getattr(
            importlib.import_module(f"dynakube.cli.{module}"), function)
        return command(session)

    return run


#: command name -> what runs it
COMMANDS: dict[str, Callable[[Session], int]] = {
    "label": _lazy("label", "cmd_label"),
    "annotate": _lazy("label", "cmd_annotate"),
    "scale": _lazy("scale", "cmd_scale"),
    "edit": _lazy("edit", "cmd_edit"),
    "events": _lazy("events", "cmd_events"),
    "rollout": _lazy("rollout", "cmd_rollout"),
}


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("resource", nargs="?", metavar="TYPE[/NAME]")
    p.add_argument("-l", "--selector", metavar="SEL", help="only the objects it selects")
    p.add_argument("--all", action="store_true", help="every object of the type in the "
                   "namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="with -l or --all: in every namespace")


def add_object_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the subcommands (``command`` makes a subparser with the global flags)."""
    for name, what in (("label", "labels"), ("annotate", "annotations")):
        p = command(name, f"set (KEY=VALUE) or remove (KEY-) {what}, like kubectl {name}")
        _selection(p)
        p.add_argument("words", nargs="*", metavar="NAME|KEY=VALUE|KEY-", default=[])
        p.add_argument("--overwrite", action="store_true",
                       help=f"replace {what} that already have a value")

    p = command("scale", "set the replicas of a Deployment, StatefulSet or custom resource "
                "(its scale subresource)")
    _selection(p)
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("--replicas", type=int, required=True, metavar="N")
    p.add_argument("--current-replicas", type=int, default=-1, metavar="N",
                   help="only scale if the replicas are N now")

    p = command("edit", "edit an object in $KUBE_EDITOR, $EDITOR or vi, then save it")
    p.add_argument("resource", nargs="?", metavar="TYPE[/NAME]")
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml",
                   help="the format to edit in (default yaml)")
    p.add_argument("--show-managed-fields", action="store_true",
                   help="keep metadata.managedFields in the file")

    p = command("events", "list events, oldest first, like kubectl events")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("--for", dest="for_object", metavar="TYPE/NAME",
                   help="only the events about this object")
    p.add_argument("--types", metavar="TYPES", action="append", default=[],
                   help="only these types (Normal, Warning; comma separated)")
    p.add_argument("--no-headers", action="store_true")

    p = command("rollout", "follow the rollout of a Deployment, StatefulSet or DaemonSet")
    p.add_argument("action", choices=("status",), metavar="status")
    p.add_argument("resource", nargs="?", metavar="TYPE[/NAME]")
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("-l", "--selector", metavar="SEL", help="every object it selects")
    p.add_argument("--timeout", metavar="DURATION", default="0s",
                   help="give up after this long (5m, 30s; 0: wait forever)")
    p.add_argument("-w", "--watch", type=_flag_bool, default=True, metavar="true|false",
                   help="keep watching until the rollout ends (default true)")


def _flag_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")
