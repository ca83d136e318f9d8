"""The ``dynakube`` command: kubectl's reading verbs plus apply, validate, a REPL and a tour.

Parsing and dispatch live here; what every command shares (the session, usage errors and
error reports) in :mod:`dynakube.cli.session`; ``get`` and ``api-resources`` in
:mod:`dynakube.cli.get`, the verbs that read manifests (apply, delete -f, validate) in
:mod:`dynakube.cli.manifest`, what gets printed in :mod:`dynakube.cli.printing`.
Every expected failure (a ``DynakubeError``) is reported as kubectl words it (``Error from
server (NotFound): ...``, ``error: ...``) with exit code 1; a usage mistake exits 1 too, as in
kubectl, and so does Ctrl-C; no traceback unless something truly unexpected happens.
The object commands (label, annotate, scale, edit, events, rollout) are declared in
:mod:`dynakube.cli.commands`. ``import dynakube.cli`` stays light: the client, YAML and the
embedded server load only when a command needs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from .._version import __version__
from ..errors import DynakubeError
from .commands import add_object_commands
from .cp import add_cp_command
from .diff import add_diff_command
from .exec import add_exec_command
from .logs import add_logs_command
from .portforward import add_port_forward_command
from .session import Session, UsageError, report_error
from .wait import add_wait_command

__all__ = ["main", "build_parser"]

#: the command line being parsed, for flag errors that name the form typed (``-o``)
_ARGV: list[str] = []

#: the trailing list positionals that take words found after a flag (``get deploy -n x NAME``)
_TRAILING = ("names", "words", "ports")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _flag_error(message, self.prog)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        """Positionals anywhere among the flags, as cobra takes them.

        argparse fills ``resource`` and ``names`` from the first run of positionals only, so
        ``get deploy -n shop api`` would leave ``api`` over; it joins ``names`` here.
        """
        rest = [a for a in self._actions
                if not a.option_strings and a.nargs == argparse.REMAINDER]
        if rest and args is not None and "--" in args:  # `exec POD -n x -- ls -l`
            head, tail = list(args[:list(args).index("--")]), list(args)[
                list(args).index("--") + 1:]
            rest[0].nargs = "*"  # flags before `--` are the command's own, as in kubectl
            try:
                parsed, extra = self.parse_known_args(head, namespace)
            finally:
                rest[0].nargs = argparse.REMAINDER
            setattr(parsed, rest[0].dest, [*getattr(parsed, rest[0].dest), "--", *tail])
            return parsed, extra
        parsed, extra = super().parse_known_args(args, namespace)
        trailing = [a.dest for a in self._actions
                    if not a.option_strings and a.nargs == "*" and a.dest in _TRAILING]
        if not trailing or not extra:
            return parsed, extra
        words = [w for w in extra if not w.startswith("-")]
        if "--" in extra or not words:
            return parsed, extra
        setattr(parsed, trailing[-1], [*getattr(parsed, trailing[-1]), *words])
        return parsed, [w for w in extra if w.startswith("-")]


def _flag_error(message: str, prog: str) -> UsageError:
    """argparse's complaint, worded as kubectl's (cobra's) flag errors."""
    hint = f"See '{prog} --help' for usage."
    if message.startswith("unrecognized arguments: "):
        extra = message.split(": ", 1)[1].split()
        flags = [a for a in extra if a.startswith("-")]
        if flags:
            return UsageError(f"unknown flag: {flags[0].split('=', 1)[0]}", hint=hint,
                              label="Error")
        return UsageError(f"unexpected arguments: {' '.join(extra)}", hint=hint)
    bad = re.fullmatch(r"argument (\S+): (invalid int value:|expected true or false, not) "
                       r"'(.*)'", message)
    if bad:  # pflag's words for a value that does not parse
        flag, text = bad.group(1).split("/")[-1], bad.group(3)
        parser = "ParseInt" if bad.group(2).startswith("invalid int") else "ParseBool"
        return UsageError(f'invalid argument "{text}" for "{flag}" flag: strconv.{parser}: '
                          f'parsing "{text}": invalid syntax', hint=hint, label="Error")
    if message.startswith("argument COMMAND: invalid choice: "):
        name = message.split(": ")[2].split(" (")[0].strip("'")
        return UsageError(f'unknown command "{name}" for "{prog}"',
                          hint=f"Run '{prog} --help' for usage.")
    if message.endswith(": expected one argument"):
        forms = message.split()[1].split("/")
        flag = forms[-1]
        if len(forms) > 1 and forms[0] in _ARGV and flag not in _ARGV:  # cobra: `-o`
            flag = f"'{forms[0].lstrip('-')}' in {forms[0]}"
        return UsageError(f"flag needs an argument: {flag}", hint=hint, label="Error")
    if message.startswith("the following arguments are required: "):
        names = message.split(": ", 1)[1].split(", ")
        flags = [n.split("/")[-1].lstrip("-") for n in names if n.startswith("-")]
        if flags:
            return UsageError("required flag(s) " + ", ".join(f'"{f}"' for f in flags)
                              + " not set", hint=hint)
    return UsageError(message, hint=hint)


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The same flags before or after the subcommand (``dynakube get cm -n shop``)."""
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("global options")
    group.add_argument("--kubeconfig", metavar="PATH", default=default,
                       help="the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    group.add_argument("--context", metavar="NAME", default=default,
                       help="the kubeconfig context to use")
    group.add_argument("-n", "--namespace", metavar="NS", default=default,
                       help="the namespace (default: the context's, else 'default')")
    group.add_argument("-v", "--verbose", action="count",
                       default=argparse.SUPPRESS if suppress else 0,
                       help="log each request to stderr (credentials never shown); -vv: all")
    group.add_argument("--embedded", action="store_true",
                       default=argparse.SUPPRESS if suppress else False,
                       help="run against a fresh embedded API server with sample content")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dynakube", description=(
        "A Kubernetes client that learns what the cluster serves at run time."))
    parser.add_argument("--version", action="version", version=f"dynakube {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _global_options(p, suppress=True)
        return p

    p = command("api-resources", "list the resources the server serves, like kubectl")
    p.add_argument("-o", "--output", choices=("wide", "name"))
    p.add_argument("--api-group", metavar="GROUP", help="only this group ('' for core)")
    p.add_argument("--namespaced", type=_bool, metavar="true|false")
    p.add_argument("--no-headers", action="store_true")

    p = command("get", "show objects (tables from the server, custom columns included)")
    p.add_argument("resource", nargs="?", help="a resource name, kind, short name or "
                   "category; several separated by commas (or TYPE/NAME)")
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-l", "--selector", metavar="SEL", help="label selector")
    p.add_argument("--field-selector", metavar="SEL")
    p.add_argument("-o", "--output", metavar="FORMAT", default="", help="wide, yaml, json, "
                   "name, jsonpath=TEMPLATE, jsonpath-file=PATH, custom-columns=SPEC, "
                   "custom-columns-file=PATH")
    p.add_argument("-w", "--watch", action="store_true", help="then stream changes")
    p.add_argument("--watch-only", action="store_true", help="stream changes only")
    p.add_argument("--output-watch-events", action="store_true",
                   help="with -w: print the event type (ADDED, MODIFIED, DELETED) too")
    p.add_argument("--no-headers", action="store_true")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    p.add_argument("-L", "--label-columns", metavar="KEY", action="append", default=[],
                   help="a column for this label (repeat, or separate keys by commas)")
    p.add_argument("--sort-by", metavar="JSONPATH", help="sort by this field "
                   "(for example .metadata.name)")
    p.add_argument("--show-managed-fields", action="store_true",
                   help="keep metadata.managedFields in -o yaml/json/jsonpath")
    p.add_argument("--allow-missing-template-keys", type=_bool, default=True,
                   metavar="true|false", help="jsonpath: a missing key prints nothing "
                   "(default true) instead of failing")

    p = command("explain", "describe a resource or one of its fields")
    p.add_argument("path", metavar="RESOURCE[.field.path]")
    p.add_argument("--recursive", action="store_true")
    p.add_argument("--api-version", metavar="GROUP/VERSION")

    p = command("apply", "create or update objects from files, directories or stdin")
    _file_option(p)
    p.add_argument("--dry-run", action="store_true", help="let the server check, store nothing")
    p.add_argument("--server-side", action="store_true", help="server-side apply")
    p.add_argument("--field-manager", metavar="NAME", default="dynakube")
    p.add_argument("--force-conflicts", action="store_true",
                   help="server-side apply: take over fields other managers own")
    p.add_argument("--validate", choices=("strict", "warn", "ignore"), default="strict",
                   help="strict: unknown fields are errors; warn: warnings; ignore: no "
                        "client-side checks (default strict)")

    p = command("delete", "delete objects by name, by selector or as listed in files")
    p.add_argument("resource", nargs="?")
    p.add_argument("names", nargs="*", metavar="NAME", default=[])
    p.add_argument("-f", "--filename", metavar="PATH", action="append")
    p.add_argument("-l", "--selector", metavar="SEL")
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="with -l or --all: in every namespace")
    p.add_argument("--dry-run", nargs="?", const="server", default="none",
                   metavar="none|server|client", help="server: the server checks, deletes "
                   "nothing (the default with no value); client: only print")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("--cascade", nargs="?", const="background", default="background",
                   help="background (default), foreground or orphan")
    p.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: now")
    p.add_argument("--wait", type=_bool, nargs="?", const=True, default=True,
                   metavar="true|false", help="until the objects are gone (default true)")
    p.add_argument("--timeout", default="0s", help="of --wait (0: a week)")

    p = command("validate", "check documents against the cluster's schemas (writes nothing)")
    _file_option(p)
    p.add_argument("--validate", choices=("strict", "warn"), default="strict",
                   help="strict: unknown fields are errors (default); warn: warnings")

    p = command("repl", "an interactive Python console with `kube` bound to a client")
    p.add_argument("--plain", action="store_true", help="the standard console even if "
                   "IPython is installed")

    command("tour", "a guided walk through dynakube on an embedded server (no cluster needed)")
    add_logs_command(command)
    add_wait_command(command)
    add_diff_command(command)
    add_exec_command(command)
    add_port_forward_command(command)
    add_cp_command(command)
    add_object_commands(command)
    return parser


def _file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filename", metavar="PATH", action="append", required=True,
                   help="a file, a directory of .yaml/.yml/.json files, or - for stdin")


# -- explain ------------------------------------------------------------------------------

def cmd_explain(session: Session) -> int:
    args = session.args
    text = session.client.explain(args.path, recursive=args.recursive,
                                  api_version=args.api_version)
    session.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


# -- repl and tour ------------------------------------------------------------------------

def cmd_repl(session: Session) -> int:
    from .repl import run_repl

    return run_repl(session.client, plain=session.args.plain, stdout=session.stdout,
                    stdin=session.stdin)


def cmd_tour(session: Session) -> int:
    from .tour import run_tour

    args = session.args
    if args.kubeconfig or args.context:
        return run_tour(session.client, out=session.stdout, embedded=False)
    session.start_embedded(seeded=False)
    return run_tour(session.client, out=session.stdout, embedded=True)


def _commands() -> dict[str, Callable[[Session], int]]:
    from . import commands as clicommands
    from . import cp as clicp
    from . import diff as clidiff
    from . import exec as cliexec
    from . import get as cliget
    from . import logs as clilogs
    from . import manifest as climanifest
    from . import portforward as cliportforward
    from . import wait as cliwait

    return {
        "api-resources": cliget.cmd_api_resources,
        "get": cliget.cmd_get,
        "explain": cmd_explain,
        "apply": climanifest.cmd_apply,
        "delete": climanifest.cmd_delete,
        "validate": climanifest.cmd_validate,
        "repl": cmd_repl,
        "tour": cmd_tour,
        "logs": clilogs.cmd_logs,
        "wait": cliwait.cmd_wait,
        "diff": clidiff.cmd_diff,
        "exec": cliexec.cmd_exec, "port-forward": cliportforward.cmd_port_forward,
        "cp": clicp.cmd_cp,
        **clicommands.COMMANDS,
    }


# -- the entry point ---------------------------------------------------------------------

def _configure_logging(verbosity: int, stream: IO[str]) -> Callable[[], None]:
    """Log requests (``-v``) or everything (``-vv``) to ``stream``; returns the undo."""
    if verbosity <= 0:
        return lambda: None
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("dynakube" if verbosity > 1 else "dynakube.transport")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def undo() -> None:  # main() may run again in this process, with other streams
        logger.removeHandler(handler)
        logger.setLevel(level)

    return undo


def _show_warning(stream: IO[str]) -> Callable[..., None]:
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        stream.write(f"Warning: {message}\n")

    return show


def main(argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None,
         stderr: IO[str] | None = None, stdin: IO[str] | None = None) -> int:
    """Run one command; returns the exit code: 0, or 1 for any failure (kubectl's codes)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    _ARGV[:] = sys.argv[1:] if argv is None else list(argv)
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # reported here, where the subcommand is known: "See 'dynakube get --help'"
            raise _flag_error(f"unrecognized arguments: {' '.join(extra)}",
                              f"dynakube {args.command}" if args.command else "dynakube")
    except UsageError as e:
        e.report(err)
        return 1
    if args.command is None:  # as kubectl: the help, and success
        build_parser().print_help(out)
        return 0
    undo_logging = _configure_logging(args.verbose, err)
    session = Session(args, stdout=out, stderr=err, stdin=stdin)
    previous = warnings.showwarning
    warnings.showwarning = _show_warning(err)
    try:
        code = _commands()[args.command](session)
        out.flush()  # now, not at exit, so that a reader gone early is handled below
        return code
    except UsageError as e:
        e.report(err)
        return 1
    except DynakubeError as e:
        report_error(e, err)
        return 1
    except KeyboardInterrupt:  # as kubectl: a stopped watch (^C) exits 1, silently
        return 1
    except BrokenPipeError:  # `dynakube get ... | head -1`: the reader left, nothing to say
        _silence(out)
        return 0
    finally:
        warnings.showwarning = previous
        try:
            session.close()
        except DynakubeError as e:  # closing must not hide the command's own result
            report_error(e, err)
        undo_logging()


def _silence(stream: IO[str]) -> None:
    """Point ``stream``'s file at /dev/null, so that flushing it at exit cannot fail."""
    try:
        target = stream.fileno()
    except (OSError, ValueError):  # not a real file (a StringIO): nothing to flush at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, target)
    os.close(devnull)
