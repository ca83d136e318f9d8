"""``dynakube exec [-i] [-t] [-c C] POD|TYPE/NAME -- CMD...``, as ``kubectl exec`` does it.

The exit code is the command's: kubectl prints ``command terminated with exit code N`` on
stderr and exits with N. ``-i`` passes stdin (closed at its end, so ``cat`` ends); ``-t``
asks for a terminal: the local one goes to raw mode for the session, and each SIGWINCH
sends the new size. Without ``-c``, a Pod with several containers gets its default one,
as ``logs`` does (``Defaulted container ...`` on stderr).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..errors import TransportError
from .logs import _default_container
from .session import Session, UsageError

__all__ = ["add_exec_command", "cmd_exec", "copy_out"]

_READ = 32 * 1024


def add_exec_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The ``exec`` subcommand's flags."""
    p = command("exec", "execute a command in a container")
    p.add_argument("target", metavar="POD|TYPE/NAME")
    p.add_argument("-c", "--container", metavar="NAME",
                   help="the container (default: the pod's default or first one)")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only print what the command prints")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")


def copy_out(source: io.RawIOBase, target: IO[str]) -> None:
    """Copy a binary stream to ``target`` as it comes: its bytes to a binary buffer, else
    text decoded as UTF-8 (a character split between reads is kept whole)."""
    buffer = getattr(target, "buffer", None)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while chunk := source.read(_READ):
        if buffer is not None:
            target.flush()
            buffer.write(chunk)
            buffer.flush()
        else:
            target.write(decoder.decode(chunk))
            target.flush()
    if buffer is None:
        target.write(decoder.decode(b"", final=True))


def _read_stdin(stdin: IO[str]) -> Iterator[bytes]:
    """Chunks of stdin as they come (a terminal's keys one by one in raw mode)."""
    if _is_terminal(stdin):
        while chunk := os.read(stdin.fileno(), _READ):
            yield chunk
        return
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        read = getattr(buffer, "read1", buffer.read)
        while chunk := read(_READ):
            yield chunk
        return
    while text := stdin.read(_READ):
        yield text.encode()


@contextlib.contextmanager
def _raw_terminal(stdin: IO[str], on: bool) -> Iterator[None]:
    """The local terminal in raw mode (keys go to the container as typed), then restored."""
    if not on:
        yield
        return
    import termios
    import tty

    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _terminal_size(stdout: IO[str]) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return size.columns, size.lines


@contextlib.contextmanager
def _follow_resizes(stream: Any, stdout: IO[str], on: bool) -> Iterator[None]:
    """Send the terminal's size now and on every SIGWINCH (main thread only)."""
    if not on:
        yield
        return
    size = _terminal_size(stdout)
    if size:
        stream.resize(*size)
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "SIGWINCH"):
        yield
        return

    def resized(signum: int, frame: Any) -> None:
        new = _terminal_size(stdout)
        if new:
            with contextlib.suppress(TransportError):
                stream.resize(*new)

    previous = signal.signal(signal.SIGWINCH, resized)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def _pump_stdin(chunks: Iterator[bytes], stdin: Any) -> None:
    try:
        for chunk in chunks:
            stdin.write(chunk)
    except (TransportError, ValueError, OSError):
        pass
    finally:
        stdin.close()


def cmd_exec(session: Session) -> int:
    args = session.args
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise UsageError("you must specify at least one command for the container")
    tty = args.tty
    if tty and not (args.stdin and _is_terminal(session.stdin)):
        if not args.quiet:
            session.stderr.write("Unable to use a TTY - input is not a terminal or the "
                                 "right kind of file\n")
        tty = False
    kind, _, name = args.target.rpartition("/")
    handle = session.client.resource(kind or "pods")
    choice = handle.log_pod(name, args.namespace)
    pods = session.client.resource("pods")
    container = args.container or _default_container(
        session, pods.get(choice.name, choice.namespace))
    stream = pods.stream(choice.name, command, container, stdin=args.stdin, tty=tty,
                         namespace=choice.namespace)
    with stream, _raw_terminal(session.stdin, tty), \
            _follow_resizes(stream, session.stdout, tty):
        if stream.stdin is not None:
            threading.Thread(target=_pump_stdin, args=(_read_stdin(session.stdin),
                                                       stream.stdin),
                             daemon=True, name="dynakube-exec-stdin").start()
        errors = None
        if stream.stderr is not None:
            errors = threading.Thread(target=copy_out, args=(stream.stderr, session.stderr),
                                      daemon=True, name="dynakube-exec-stderr")
            errors.start()
        copy_out(stream.stdout, session.stdout)
        if errors is not None:
            errors.join()
        code = stream.wait()
    if code:
        session.stderr.write(f"command terminated with exit code {code}\n")
    return code

