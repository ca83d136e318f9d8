"""A tiny shell for the containers of the standalone server, so ``kubectl exec`` can be tried.

Not a real shell: enough of busybox ``sh`` to see exec work end to end, and honest about the
rest. Programs: ``echo [-n]``, ``cat`` (stdin, or "No such file" for a path: the container has
no files), ``env``, ``hostname``, ``pwd``, ``ls`` (of nothing), ``true``, ``false``,
``sleep N``, ``exit N``, and ``sh``: ``sh -c "a; b && c || d"`` runs simple commands (quotes
as ``shlex`` reads them; no pipes, redirections or variables), and ``sh`` without ``-c`` reads
commands from stdin, one a line, with a ``/ # `` prompt on a terminal. An unknown program in
``sh`` is ``sh: x: not found`` (127); as the command itself, the runtime's "executable file
not found".
"""

from __future__ import annotations

import re
import shlex
import time
from typing import BinaryIO

from .podstreams import ResizeEvents, command_not_found

__all__ = ["PodShell"]

_SEPARATORS = re.compile(r"(;|&&|\|\|)")


class PodShell:
    """The exec handler of one container of Pod ``namespace/pod``."""

    def __init__(self, namespace: str, pod: str, container: str):
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOSTNAME": pod, "HOME": "/root", "POD_NAMESPACE": namespace,
                    "CONTAINER": container}

    def __call__(self, command: list[str], stdin: BinaryIO, stdout: BinaryIO,
                 stderr: BinaryIO, *, tty: bool, resize: ResizeEvents) -> int:
        if not command:  # attach: the container's main process is a shell
            command = ["sh"]
        name = command[0].rsplit("/", 1)[-1]
        if name not in self._programs():
            return command_not_found(command, stdin, stdout, stderr, tty=tty, resize=resize)
        return self._run(command, stdin, stdout, stderr, tty)

    def _programs(self) -> set[str]:
        return {"echo", "cat", "env", "hostname", "pwd", "ls", "true", "false", "sleep",
                "exit", "sh"}

    def _run(self, argv: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
             tty: bool) -> int:
        name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
        if name == "echo":
            newline = not (args and args[0] == "-n")
            stdout.write((" ".join(args[0 if newline else 1:]) + "\n" * newline).encode())
            return 0
        if name in ("cat", "ls"):
            for path in args:
                what = "cat: " + path if name == "cat" else f"ls: cannot access '{path}'"
                stderr.write(f"{what}: No such file or directory\n".encode())
            if name == "cat" and not args:
                while data := stdin.read1(64 * 1024):  # type: ignore[attr-defined]
                    stdout.write(data)
            return (1 if name == "cat" else 2) if args else 0
        if name == "env":
            stdout.write("".join(f"{k}={v}\n" for k, v in self.env.items()).encode())
            return 0
        if name in ("hostname", "pwd"):
            stdout.write((self.env["HOSTNAME"] if name == "hostname" else "/").encode() + b"\n")
            return 0
        if name == "sleep":
            time.sleep(min(float(args[0]) if args else 0, 3600))
            return 0
        if name == "exit":
            return int(args[0]) & 0xFF if args and args[0].lstrip("-").isdigit() else 0
        if name == "sh":
            if len(args) >= 2 and args[0] == "-c":
                return self._script(args[1], stdin, stdout, stderr, tty)[0]
            return self._interactive(stdin, stdout, stderr, tty)
        return 0 if name == "true" else 1

    def _script(self, text: str, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                tty: bool) -> tuple[int, bool]:
        """Run ``a; b && c || d``: the last status, and whether ``exit`` ended the shell."""
        status, skip = 0, False
        for part in _SEPARATORS.split(text):
            if part in (";", "&&", "||"):
                skip = (part == "&&" and status != 0) or (part == "||" and status == 0)
                continue
            try:
                argv = shlex.split(part)
            except ValueError as exc:
                stderr.write(f"sh: syntax error: {exc}\n".encode())
                return 2, True
            if skip or not argv:
                skip = False
                continue
            name = argv[0].rsplit("/", 1)[-1]
            if name not in self._programs():
                stderr.write(f"sh: {argv[0]}: not found\n".encode())
                status = 127
                continue
            status = self._run(argv, stdin, stdout, stderr, tty)
            if name == "exit":
                return status, True
        return status, False

    def _interactive(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                     tty: bool) -> int:
        status = 0
        while True:
            if tty:
                stdout.write(b"/ # ")
            line = stdin.readline()
            if not line:
                return status
            status, ended = self._script(line.decode("utf-8", "replace").strip(), stdin,
                                         stdout, stderr, tty)
            if ended:
                return status
