"""``copy_from``/``copy_to`` (kubectl cp: exec + tar) over the real wire against a container
whose filesystem is a local directory and whose ``tar`` is Python's, plus archives that try
to escape the destination."""

from __future__ import annotations

import io
import itertools
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from dynakube.client import Client
from dynakube.cp import check_member, remote_member_name
from dynakube.errors import InvalidArgumentError
from dynakube.testing import ApiServer

_names = itertools.count()
Handler = Callable[..., int]


def container(root: Path) -> Handler:
    """``test -d``, ``tar cf - PATH`` and ``tar -xmf - [-C DIR]`` over ``root``."""

    def run(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
            **kw: Any) -> int:
        if command[:2] == ["test", "-d"]:
            return 0 if (root / command[2].lstrip("/")).is_dir() else 1
        if command[:3] == ["tar", "cf", "-"]:
            src = command[3]
            if not (root / src.lstrip("/")).exists():
                stderr.write(f"tar: {src}: Cannot stat: No such file or directory\n".encode())
                return 2
            with tarfile.open(fileobj=stdout, mode="w|") as tar:
                tar.add(root / src.lstrip("/"), arcname=src.lstrip("/"))
            return 0
        if command[:3] == ["tar", "-xmf", "-"]:
            into = root / (command[4].lstrip("/") if command[3:4] == ["-C"] else "")
            with tarfile.open(fileobj=stdin, mode="r|") as tar:
                # Python 3.11.4+ checks members with a filter; older 3.11 has none
                tar.extractall(into, **({"filter": "data"} if hasattr(tarfile, "data_filter")
                                        else {}))
            return 0
        stderr.write(b"unknown command\n")
        return 127

    return run


def hostile(*members: tarfile.TarInfo) -> Handler:
    """A container whose ``tar cf`` sends ``members`` (a file ``ok`` first)."""

    def run(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
            **kw: Any) -> int:
        if command[:2] == ["test", "-d"]:
            return 0
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.addfile(_dir("data"))
            ok = tarfile.TarInfo("data/ok")
            ok.size = 2
            tar.addfile(ok, io.BytesIO(b"ok"))
            for member in members:
                tar.addfile(member, io.BytesIO(b"x" * member.size))
        stdout.write(buffer.getvalue())
        return 0

    return run


def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def kube(server: ApiServer) -> Iterator[Client]:
    client = server.client()
    yield client
    client.close()


@pytest.fixture
def pod(kube: Client) -> str:
    name = f"cp{next(_names)}"
    kube.resource("pods").create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name}, "spec": {"nodeName": "n", "containers": [{"name": "app",
                                                                 "image": "x"}]}})
    return name


@pytest.fixture
def fs(tmp_path: Path, server: ApiServer, pod: str) -> Path:
    root = tmp_path / "container"
    (root / "etc" / "app" / "conf.d").mkdir(parents=True)
    (root / "etc" / "app" / "main.conf").write_text("main\n")
    (root / "etc" / "app" / "conf.d" / "extra.conf").write_text("extra\n")
    (root / "etc" / "app" / "link").symlink_to("main.conf")
    (root / "tmp").mkdir()
    server.pods.on_exec("default", pod, "app", container(root))
    return root


def test_member_names_relative_to_what_is_copied() -> None:
    assert remote_member_name("/etc/app/") == "etc/app"
    assert remote_member_name("/") == "."
    assert check_member("etc/app/x", "etc/app") == "x"
    assert check_member("etc/app", "etc/app") == ""
    assert check_member("etc/other", "etc/app") is None
    for bad in ("/etc/passwd", "etc/app/../../x"):
        with pytest.raises(InvalidArgumentError, match="outside the destination"):
            check_member(bad, "etc/app")


def test_a_file_from_the_container(kube: Client, fs: Path, pod: str, tmp_path: Path) -> None:
    pods = kube.resource("pods")
    written = pods.copy_from(pod, "/etc/app/main.conf", tmp_path / "copy.conf")
    assert written.read_text() == "main\n"
    (tmp_path / "into").mkdir()
    assert pods.copy_from(pod, "/etc/app/main.conf", tmp_path / "into").read_text() == "main\n"
    assert (tmp_path / "into" / "main.conf").is_file()


def test_a_directory_from_the_container(kube: Client, fs: Path, pod: str,
                                        tmp_path: Path) -> None:
    dest = kube.resource("pods").copy_from(pod, "/etc/app", tmp_path / "app")
    assert (dest / "main.conf").read_text() == "main\n"
    assert (dest / "conf.d" / "extra.conf").read_text() == "extra\n"
    assert (dest / "link").is_symlink() and (dest / "link").read_text() == "main\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dynakube-cp-")]


def test_a_file_and_a_directory_to_the_container(kube: Client, fs: Path, pod: str,
                                                 tmp_path: Path) -> None:
    pods = kube.resource("pods")
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("a\n")
    (local / "sub" / "b.txt").write_text("b\n")
    assert pods.copy_to(pod, local / "a.txt", "/tmp/renamed.txt") == "/tmp/renamed.txt"
    assert (fs / "tmp" / "renamed.txt").read_text() == "a\n"
    assert pods.copy_to(pod, local, "/tmp") == "/tmp/local"  # into an existing directory
    assert (fs / "tmp" / "local" / "sub" / "b.txt").read_text() == "b\n"
    assert pods.copy_to(pod, local, "/tmp/fresh") == "/tmp/fresh"
    assert (fs / "tmp" / "fresh" / "a.txt").read_text() == "a\n"


def test_a_round_trip_of_a_large_file(kube: Client, fs: Path, pod: str, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    pods = kube.resource("pods")
    pods.copy_to(pod, big, "/tmp/big.bin")
    back = pods.copy_from(pod, "/tmp/big.bin", tmp_path / "back.bin")
    assert back.read_bytes() == big.read_bytes()


def test_missing_paths_say_what_is_wrong(kube: Client, fs: Path, pod: str,
                                         tmp_path: Path) -> None:
    pods = kube.resource("pods")
    with pytest.raises(InvalidArgumentError, match="Cannot stat: No such file"):
        pods.copy_from(pod, "/nope", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(InvalidArgumentError, match="doesn't exist in local filesystem"):
        pods.copy_to(pod, tmp_path / "absent", "/tmp/x")
    with pytest.raises(InvalidArgumentError, match="must not be empty"):
        pods.copy_from(pod, "", tmp_path / "x")


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


@pytest.mark.parametrize("member", [
    _file("data/../../escaped"),
    _file("/data/absolute"),
    _symlink("data/passwd", "/etc/passwd"),
    _symlink("data/up", "../../outside"),
    _symlink("data/sub/up", "../../x"),
], ids=["dotdot", "absolute", "absolute-symlink", "escaping-symlink", "nested-escape"])
def test_an_archive_escaping_the_destination_writes_nothing(
        server: ApiServer, kube: Client, pod: str, tmp_path: Path,
        member: tarfile.TarInfo) -> None:
    server.pods.on_exec("default", pod, "app", hostile(_dir("data/sub"), member))
    with pytest.raises(InvalidArgumentError, match="outside"):
        kube.resource("pods").copy_from(pod, "data", tmp_path / "dest")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "escaped").exists()


def test_a_link_that_stays_inside_is_kept(server: ApiServer, kube: Client, pod: str,
                                          tmp_path: Path) -> None:
    server.pods.on_exec("default", pod, "app", hostile(_symlink("data/same", "ok")))
    dest = kube.resource("pods").copy_from(pod, "data", tmp_path / "dest")
    assert (dest / "same").read_text() == "ok"
