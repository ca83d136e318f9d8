"""What every command shares: the :class:`Session` (its client, made on first use, and the
``--embedded`` server it may own), :class:`UsageError`, and :func:`report_error`.

The command modules (:mod:`~dynakube.cli.get`, :mod:`~dynakube.cli.manifest`) import this one
and never :mod:`~dynakube.cli.app`, which imports them to dispatch: no import circle.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import IO, TYPE_CHECKING

from ..errors import (
    ApiError,
    InvalidError,
    UnauthorizedError,
    UnknownResourceError,
    ValidationError,
)

if TYPE_CHECKING:
    from ..apiserver.server import ApiServer
    from ..client import Client

__all__ = ["Session", "UsageError", "api_error_text", "report_error"]


class UsageError(Exception):
    """The command line is wrong; exit code 1, as kubectl's (``error: ...`` on stderr).

    ``hint`` is the line kubectl prints after a flag mistake (``See 'dynakube get --help'
    for usage.``); ``preamble`` the text some kubectl usage errors print before the
    ``error:`` line.
    """

    def __init__(self, message: str, *, hint: str = "", preamble: str = "",
                 label: str = "error"):
        super().__init__(message)
        self.hint = hint
        self.preamble = preamble
        self.label = label  # cobra's flag errors say "Error:", kubectl's own "error:"

    def report(self, stream: IO[str]) -> None:
        hint = self.hint + "\n" if self.hint else ""
        stream.write(f"{self.preamble}{self.label}: {self}\n{hint}")


class Session:
    """The client a command talks to, made on first use; ``--embedded`` owns its server."""

    def __init__(self, args: argparse.Namespace, *, stdout: IO[str], stderr: IO[str],
                 stdin: IO[str] | None = None):
        self.args = args
        self.stdin = stdin or sys.stdin
        self.stdout = stdout
        self.stderr = stderr
        self.server: ApiServer | None = None
        self._client: Client | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def warn(self, text: str) -> None:
        self.stderr.write(f"Warning: {text}\n")

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Client:
        from ..client import Client

        args = self.args
        if args.embedded and self.server is None:
            if args.kubeconfig or args.context:
                raise UsageError("--embedded runs its own server: drop --kubeconfig/--context")
            self.start_embedded(seeded=True)
        if self.server is not None and self._tmp is not None:
            return Client(kubeconfig=self.server.kubeconfig_path,
                          namespace=args.namespace, cache_dir=self._tmp.name,
                          warning_handler=self.warn)
        return Client(kubeconfig=args.kubeconfig, context=args.context,
                      namespace=args.namespace, warning_handler=self.warn)

    def start_embedded(self, *, seeded: bool) -> ApiServer:
        """Start a fresh embedded server (seeded with sample content when asked)."""
        from ..apiserver.seed import seed
        from ..apiserver.server import ApiServer

        self._tmp = tempfile.TemporaryDirectory(prefix="dynakube-cli-")
        self.server = ApiServer().start()
        if seeded:
            seeder = self.server.client(cache_dir=self._tmp.name)
            try:
                seed(seeder)
            finally:
                seeder.close()
        return self.server

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self.server is not None:
            self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def report_error(error: BaseException, stream: IO[str], source: str | None = None) -> None:
    """Write ``error`` as kubectl words it (``Error from server (NotFound): ...``, ``The
    Widget "x" is invalid: ...``, ``error: ...``), one line per validation problem, notes
    after."""
    where = f"{source}: " if source else ""
    if isinstance(error, ValidationError):
        subject = " ".join(p for p in (error.kind, f'"{error.name}"' if error.name else None)
                           if p) or "object"
        where = f"{error.source}: " if error.source else where
        for problem in error.problems:
            if problem.severity == "error":
                stream.write(f"error: {where}{subject}: {problem}\n")
    elif isinstance(error, ApiError):
        stream.write(api_error_text(error, where))
    elif isinstance(error, UnknownResourceError) and " " not in error.name:
        stream.write(f'error: the server doesn\'t have a resource type "{error.name}"\n')
        if error.suggestions:
            stream.write("  note: did you mean " + ", ".join(map(repr, error.suggestions))
                         + "?\n")
    else:
        text = str(error)
        if where and text.startswith(where):  # the message names its document already
            text = text[len(where):]
        stream.write(f"error: {where}{text}\n")
    for note in getattr(error, "__notes__", ()):
        stream.write(f"  note: {note}\n")


def api_error_text(error: ApiError, where: str = "") -> str:
    """kubectl's lines for a server's error (its ``StandardErrorMessage`` and the
    ``is invalid`` form listing the causes), newline-terminated."""
    if isinstance(error, UnauthorizedError):
        return f"error: {where}You must be logged in to the server ({error.message})\n"
    if isinstance(error, InvalidError) and not where:
        kind = error.details.get("kind") or ""
        name = error.details.get("name") or ""
        prefix = f'The {kind} "{name}" is invalid: ' if kind or name else \
            "The request is invalid"
        causes = list(dict.fromkeys(f"{c.get('field') or '<nil>'}: {c.get('message')}"
                                    for c in error.causes))
        if not causes:
            return (prefix.removesuffix(": ") if kind or name else prefix) + "\n"
        if len(causes) == 1:
            return f"{prefix}{causes[0]}\n"
        return prefix + "\n" + "".join(f"* {c}\n" for c in causes)
    reason = f" ({error.reason})" if error.reason else ""
    return f"Error from server{reason}: {where}{error.message}\n"
