"""``dynakube cp SRC DEST [-c C]``, as ``kubectl cp`` does it: one side local, the other
``[NAMESPACE/]POD:PATH`` (the container needs ``tar``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidArgumentError
from .logs import _default_container
from .session import Session

__all__ = ["add_cp_command", "cmd_cp", "FileSpec", "parse_file_spec"]


def add_cp_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The ``cp`` subcommand's flags."""
    p = command("cp", "copy files and directories to and from containers")
    p.add_argument("src", metavar="SRC")
    p.add_argument("dest", metavar="DEST")
    p.add_argument("-c", "--container", metavar="NAME",
                   help="the container (default: the pod's default or first one)")


@dataclass(frozen=True)
class FileSpec:
    """One side of a copy: a local path, or a path in ``namespace/pod``."""

    path: str
    pod: str | None = None
    namespace: str | None = None


def parse_file_spec(text: str) -> FileSpec:
    """kubectl's ``extractFileSpec``: ``PATH``, ``POD:PATH`` or ``NAMESPACE/POD:PATH``."""
    head, sep, path = text.partition(":")
    if not sep:
        return FileSpec(text)
    if not head:  # ":path" names no pod
        raise InvalidArgumentError(f"filespec must match the canonical format: "
                                   f"[[namespace/]pod:]file/path, got {text!r}")
    namespace, slash, pod = head.rpartition("/")
    if slash and (not namespace or "/" in namespace or not pod):
        raise InvalidArgumentError(f"filespec must match the canonical format: "
                                   f"[[namespace/]pod:]file/path, got {text!r}")
    return FileSpec(path, pod, namespace or None)


def cmd_cp(session: Session) -> int:
    args = session.args
    src, dest = parse_file_spec(args.src), parse_file_spec(args.dest)
    if src.pod and dest.pod:
        raise InvalidArgumentError("one of src or dest must be a local file specification")
    if not src.path or not dest.path:
        raise InvalidArgumentError("filepath can not be empty")
    remote = src if src.pod else dest
    if remote.pod is None:
        raise InvalidArgumentError("one of src or dest must be a remote file specification")
    pods = session.client.resource("pods")
    namespace = remote.namespace or args.namespace
    container = args.container or _default_container(
        session, pods.get(remote.pod, namespace))
    if src.pod:
        pods.copy_from(remote.pod, src.path, dest.path, container=container,
                       namespace=namespace)
    else:
        pods.copy_to(remote.pod, src.path, dest.path, container=container,
                     namespace=namespace)
    return 0
