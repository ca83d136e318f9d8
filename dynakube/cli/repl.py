"""``dynakube repl``: a Python console with ``kube`` bound to a client.

IPython when it is installed and the console is a terminal, else the standard library's
``code`` console with readline completion: ``kube.resources.<TAB>`` lists the served
resource names (``dir()`` of ``kube.resources`` is discovery), and inside
``kube.resource("`` or ``kube.resources["`` TAB completes every name the server accepts,
dotted ones included. The banner says which server, context and namespace it talks to.
"""

from __future__ import annotations

import code
import re
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["banner", "repl_namespace", "ResourceCompleter", "run_repl"]

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
            IPython.start_ipython(argv=["--no-banner"], user_ns=namespace)
            return 0
    if interactive:
        _install_readline(namespace, kube)
    console = code.InteractiveConsole(namespace, filename="<dynakube>")
    console.interact(banner=text, exitmsg="")
    return 0
