"""``dynakube repl``: a Python console with ``kube`` bound to a client.

IPython when it is installed and the console is a terminal (IPython's own display and
``%tb`` then), else the standard library's ``code`` console with readline completion:
``kube.resources.<TAB>`` lists the served resource names (``dir()`` of ``kube.resources`` is
discovery), and inside ``kube.resource("`` or ``kube.resources["`` TAB completes every
name the server accepts, dotted ones included. The banner says which server, context and
namespace it talks to.

Results read as kubectl shows them (in IPython too, through :func:`setup_ipython`): an
object as YAML without ``managedFields``, a list (or a ``kube.table(...)``) as kubectl's
table, from the server's own columns. An exception is
one line (``NotFoundError: ... (%tb: traceback)``); ``%tb`` prints the whole traceback and
``kube.last_error`` holds the exception.
"""

from __future__ import annotations

import builtins
import code
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from .._version import __version__
from . import printing
from .output import without_managed_fields

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["Console", "ResourceCompleter", "banner", "error_line", "render", "repl_namespace",
           "run_repl", "setup_ipython"]

_QUOTED_NAME = re.compile(r"""resources?(\(|\[)\s*["']$""")


def banner(kube: Client) -> str:
    config = kube.config
    context = config.context or "(none)"
    return (f"dynakube {__version__} on Python {sys.version.split()[0]}\n"
            f"server {config.server}, context {context}, namespace {kube.namespace}\n"
            "`kube` is a dynakube.Client: try kube.resources.<TAB>, "
            "kube.resource(\"pods\").list(), kube.explain(\"deployment.spec\"); "
            "exit with Ctrl-D")


def repl_namespace(kube: Client) -> dict[str, Any]:
    """The names the console starts with."""
    import dynakube
    from dynakube.client import ALL

    return {"kube": kube, "dynakube": dynakube, "ALL": ALL, "__name__": "__console__",
            "__doc__": None}


class ResourceCompleter:
    """rlcompleter plus resource names inside ``resource("...`` and ``resources["...``."""

    def __init__(self, namespace: dict[str, Any], kube: Client,
                 line_before: Callable[[], str]):
        import rlcompleter

        self._python = rlcompleter.Completer(namespace)
        self._kube = kube
        self._line_before = line_before
        self._matches: list[str] = []

    def complete(self, text: str, state: int) -> str | None:
        if not _QUOTED_NAME.search(self._line_before()):
            result: str | None = self._python.complete(text, state)
            return result
        if state == 0:
            try:
                names = self._kube.discovery.registry().names()
            except Exception:  # completion must never break the console
                names = []
            self._matches = [n for n in names if n.startswith(text)]
        return self._matches[state] if state < len(self._matches) else None


def _is_object(value: Any) -> bool:
    return (isinstance(value, Mapping) and isinstance(value.get("metadata"), Mapping)
            and bool(value.get("apiVersion")) and bool(value.get("kind")))


def _list_table(kube: Client, listing: Mapping[str, Any]) -> str:
    """A List as ``kubectl get`` shows it: the server's Table for the same collection,
    narrowed to the listed objects, in the list's order."""
    items = listing.get("items") or []
    if not items:
        return "No resources found\n"
    resource = kube.resource(str(listing["kind"]).removesuffix("List"),
                             str(listing["apiVersion"]))
    namespaces = {(i.get("metadata") or {}).get("namespace") for i in items}
    several = resource.info.namespaced and len(namespaces) > 1
    if several or not resource.info.namespaced:
        table = kube.table(resource, all_namespaces=True)
    else:
        table = kube.table(resource, next(iter(namespaces)))
    by_uid = {((r.get("object") or {}).get("metadata") or {}).get("uid"): r
              for r in table.get("rows") or []}
    rows = [by_uid[uid] for i in items if (uid := (i.get("metadata") or {}).get("uid")) in by_uid]
    return printing.format_table(printing.table_rows(dict(table, rows=rows),
                                                     namespace_column=several))


def render(kube: Client, value: Any) -> str | None:
    """How the console shows ``value``; None: as Python shows it."""
    if not isinstance(value, Mapping):
        return None
    kind = str(value.get("kind") or "")
    if kind == "Table" and "columnDefinitions" in value:
        return printing.format_table(printing.table_rows(value))
    if kind.endswith("List") and isinstance(value.get("items"), list) and \
            value.get("apiVersion"):
        try:
            return _list_table(kube, value)
        except Exception:  # showing a result must never fail: Python's way then
            return None
    if _is_object(value):
        return printing.to_yaml(without_managed_fields(value))
    return None


def error_line(error: BaseException) -> str:
    """One line for an exception, with its hint and where the traceback is."""
    notes = "".join(f"; {n}" for n in getattr(error, "__notes__", ()))
    return f"{type(error).__name__}: {error}{notes}  (%tb: traceback)\n"


class Console(code.InteractiveConsole):
    """The standard console, with results shown by :func:`render`, errors in one line and
    ``%tb`` for the last traceback."""

    def __init__(self, namespace: dict[str, Any], kube: Client,
                 out: IO[str] | None = None):
        super().__init__(namespace, filename="<dynakube>")
        self.kube = kube
        self.out = out
        self.last: tuple[type[BaseException], BaseException, Any] | None = None

    def displayhook(self, value: Any) -> None:
        if value is None:
            return
        builtins._ = value  # type: ignore[attr-defined]
        text = render(self.kube, value)
        (self.out or sys.stdout).write(text if text is not None else repr(value) + "\n")

    def showtraceback(self) -> None:
        kind, error, tb = sys.exc_info()
        if error is None or kind is None:
            return
        self.last = (kind, error, tb.tb_next if tb is not None else None)
        setattr(self.kube, "last_error", error)  # noqa: B010 - a console-only attribute
        self.write(error_line(error))

    def push(self, line: str, *args: Any, **kwargs: Any) -> bool:
        if line.strip() in ("%tb", "%traceback"):
            if self.last is None:
                self.write("No traceback available to show.\n")
            else:
                self.write("".join(traceback.format_exception(*self.last)))
            return False
        previous = sys.displayhook
        sys.displayhook = self.displayhook
        try:
            return bool(super().push(line, *args, **kwargs))
        finally:
            sys.displayhook = previous


def setup_ipython(shell: Any, kube: Client) -> None:
    """The same display in IPython: dicts through :func:`render`, a dynakube error as one
    line (IPython's own ``%tb`` shows the traceback), ``kube.last_error`` set."""
    from ..errors import DynakubeError

    def pretty(value: Any, printer: Any, cycle: bool) -> None:
        text = None if cycle else render(kube, value)
        printer.text(text.rstrip("\n") if text is not None else repr(value))

    shell.display_formatter.formatters["text/plain"].for_type(dict, pretty)

    def one_line(shell: Any, kind: type[BaseException], error: BaseException, tb: Any,
                 tb_offset: int | None = None) -> list[str]:
        # IPython prints nothing of what a handler returns when the cell itself raised
        setattr(kube, "last_error", error)  # noqa: B010 - a console-only attribute
        sys.stderr.write(error_line(error))
        return []

    shell.set_custom_exc((DynakubeError,), one_line)


def _install_readline(namespace: dict[str, Any], kube: Client) -> None:
    try:
        import readline
    except ImportError:  # some platforms have no readline; the console works without
        return

    def line_before() -> str:
        return readline.get_line_buffer()[:readline.get_begidx()]

    readline.set_completer(ResourceCompleter(namespace, kube, line_before).complete)
    readline.parse_and_bind("tab: complete")


def run_repl(kube: Client, *, plain: bool = False, stdout: IO[str] | None = None,
             stdin: IO[str] | None = None) -> int:
    """Run the console until end of input; returns the exit code."""
    namespace = repl_namespace(kube)
    text = banner(kube)
    interactive = (stdin or sys.stdin).isatty()
    if interactive and not plain:
        try:
            import IPython
        except ImportError:
            pass
        else:
            (stdout or sys.stdout).write(text + "\n")
            namespace["_dynakube_setup"] = setup_ipython
            IPython.start_ipython(argv=["--no-banner", "--InteractiveShellApp.exec_lines="
                                        "['_dynakube_setup(get_ipython(), kube)']"],
                                  user_ns=namespace)
            return 0
    if interactive:
        _install_readline(namespace, kube)
    console = Console(namespace, kube, stdout)
    console.interact(banner=text, exitmsg="")
    return 0
