"""``dynakube exec``, ``port-forward`` and ``cp`` against the embedded server (TLS), and
kubectl 1.32's ``exec -i`` / ``port-forward`` there for the same answers."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from kubectlhelp import KUBECTL, Kubectl, needs_kubectl
from test_cp import container

from dynakube.cli.app import main
from dynakube.cli.cp import FileSpec, parse_file_spec
from dynakube.cli.portforward import translate_ports
from dynakube.errors import InvalidArgumentError
from dynakube.testing import ApiServer


def shell(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
          tty: bool, resize: Any) -> int:
    if command == ["cat"]:
        while chunk := stdin.read(65536):
            stdout.write(chunk)
        return 0
    if command[:1] == ["exit"]:
        stderr.write(b"leaving\n")
        return int(command[1])
    stdout.write(("ran " + " ".join(command) + "\n").encode())
    return 0


def echo(conn: Any) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with ApiServer(tls=True) as server:
        kube = server.client()
        pods = kube.resource("pods")
        pods.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "web", "labels": {"app": "web"}}, "spec": {"nodeName": "n", "containers": [
                {"name": "app", "image": "nginx", "ports": [{"name": "http",
                                                             "containerPort": 8080}]},
                {"name": "side", "image": "busybox"}]}})
        pods.status.patch("web", {"status": {"phase": "Running"}})  # kubectl checks it
        kube.resource("services").create({"apiVersion": "v1", "kind": "Service",
                                          "metadata": {"name": "web"}, "spec": {
                                              "selector": {"app": "web"},
                                              "ports": [{"port": 80, "targetPort": "http"}]}})
        server.pods.on_exec("default", "web", "app", shell)
        server.pods.on_port("default", "web", 8080, echo)
        kube.close()
        yield server


def run(server: ApiServer, *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--kubeconfig", server.kubeconfig_path, *argv], stdout=out, stderr=err,
                stdin=io.TextIOWrapper(io.BytesIO(stdin)))
    return code, out.getvalue(), err.getvalue()


# -- exec -----------------------------------------------------------------------------------

def test_exec_prints_the_output_and_defaults_the_container(server: ApiServer) -> None:
    code, out, err = run(server, "exec", "web", "--", "ls", "-l")
    assert (code, out) == (0, "ran ls -l\n")
    assert err == 'Defaulted container "app" out of: app, side\n'


def test_exec_i_passes_stdin_and_closes_it(server: ApiServer) -> None:
    code, out, _ = run(server, "exec", "-i", "-c", "app", "web", "--", "cat",
                       stdin="héllo\n".encode() * 1000)
    assert (code, out) == (0, "héllo\n" * 1000)


def test_exec_exits_with_the_commands_code(server: ApiServer) -> None:
    code, out, err = run(server, "exec", "-c", "app", "pod/web", "--", "exit", "7")
    assert (code, out) == (7, "")
    assert err == "leaving\ncommand terminated with exit code 7\n"


def test_exec_t_without_a_terminal_says_so(server: ApiServer) -> None:
    code, out, err = run(server, "exec", "-it", "-c", "app", "web", "--", "cat", stdin=b"x")
    assert (code, out) == (0, "x")
    assert err.startswith("Unable to use a TTY - input is not a terminal")


def test_exec_through_a_workload_and_its_errors(server: ApiServer) -> None:
    assert run(server, "exec", "-c", "app", "svc/web", "--", "id")[:2] == (0, "ran id\n")
    code, _, err = run(server, "exec", "web")
    assert code != 0 and "at least one command" in err
    code, _, err = run(server, "exec", "-c", "nope", "web", "--", "ls")
    assert code == 1 and "container nope is not valid for pod web" in err
    code, _, err = run(server, "exec", "-c", "side", "web", "--", "ls")
    assert code == 1 and 'exec: "ls": executable file not found' in err


def test_exec_with_a_terminal_uses_raw_mode_and_sends_its_size(server: ApiServer) -> None:
    if sys.platform == "win32":
        pytest.skip("no pseudo-terminals")
    import pty

    sizes: list[tuple[int, int]] = []

    def sized(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
              tty: bool, resize: Any) -> int:
        first = resize.get(timeout=10)
        sizes.append(first)
        stdout.write(f"tty={tty} size={first[0]}x{first[1]}\r\n".encode())
        return 0

    server.pods.on_exec("default", "web", "side", sized)
    pid, fd = pty.fork()
    if pid == 0:  # the child: dynakube on a terminal of 100x30
        import fcntl
        import struct
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.execv(sys.executable, [sys.executable, "-m", "dynakube", "--kubeconfig",
                                  server.kubeconfig_path, "exec", "-it", "-c", "side", "web",
                                  "--", "sh"])
    output = b""
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert b"tty=True size=100x30" in output, output
    assert os.waitstatus_to_exitcode(status) == 0
    server.pods.on_exec("default", "web", "side", shell)


# -- port-forward ---------------------------------------------------------------------------

def test_service_ports_become_target_ports() -> None:
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [
        {"ports": [{"name": "http", "containerPort": 8080}]}]}}
    service = {"metadata": {"name": "web"}, "spec": {"ports": [
        {"port": 80, "targetPort": "http"}, {"port": 443, "targetPort": 8443},
        {"port": 53}]}}
    assert translate_ports(["80", "9000:443", ":53"], pod, service) == \
        ["80:8080", "9000:8443", ":53"]
    assert translate_ports(["http", "5000:http", "7"], pod) == ["8080", "5000:8080", "7"]
    with pytest.raises(InvalidArgumentError, match="does not have a service port 81"):
        translate_ports(["81"], pod, service)
    with pytest.raises(InvalidArgumentError, match="does not have a named port 'grpc'"):
        translate_ports(["grpc"], pod)


def _forwarding(argv: list[str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _echoes(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"through the forward")
        return sock.recv(100)


def test_port_forward_prints_kubectls_line_and_forwards(server: ApiServer) -> None:
    argv = [sys.executable, "-m", "dynakube", "--kubeconfig", server.kubeconfig_path,
            "port-forward", "svc/web", ":80"]
    for _, line in _forwarding(argv):
        assert line.startswith("Forwarding from 127.0.0.1:") and line.endswith(" -> 8080\n")
        local = int(line.split(":")[1].split()[0])
        assert _echoes(local) == b"through the forward"


def test_port_forward_needs_a_port(server: ApiServer) -> None:
    code, _, err = run(server, "port-forward", "web")
    assert code != 0 and "at least 1 PORT" in err


# -- cp ---------------------------------------------------------------------------------------

def test_file_specs_as_kubectl_reads_them() -> None:
    assert parse_file_spec("/tmp/x") == FileSpec("/tmp/x")
    assert parse_file_spec("web:/etc") == FileSpec("/etc", "web")
    assert parse_file_spec("shop/web:etc") == FileSpec("etc", "web", "shop")
    for bad in (":/etc", "a/b/c:/x", "/web:/x"):
        with pytest.raises(InvalidArgumentError, match="canonical format"):
            parse_file_spec(bad)


def test_cp_both_ways(server: ApiServer, tmp_path: Path) -> None:
    root = tmp_path / "container"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "motd").write_text("welcome\n")
    server.pods.on_exec("default", "web", "app", container(root))
    try:
        assert run(server, "cp", "-c", "app", "default/web:/etc/motd", str(tmp_path / "m"))[0] \
            == 0
        assert (tmp_path / "m").read_text() == "welcome\n"
        (tmp_path / "up.txt").write_text("up\n")
        assert run(server, "cp", str(tmp_path / "up.txt"), "web:/etc/up.txt")[0] == 0
        assert (root / "etc" / "up.txt").read_text() == "up\n"
        code, _, err = run(server, "cp", "web:/a", "web:/b")
        assert code == 1 and "one of src or dest must be a local file" in err
        code, _, err = run(server, "cp", "/a", "/b")
        assert code == 1 and "must be a remote file specification" in err
    finally:
        server.pods.on_exec("default", "web", "app", shell)


# -- kubectl against the embedded server ------------------------------------------------------

@pytest.fixture
def kubectl(server: ApiServer, tmp_path: Path) -> Kubectl:
    return Kubectl(server.kubeconfig_path, str(tmp_path / "kubectl"))


@needs_kubectl
def test_kubectl_exec_i_gives_what_dynakube_gives(server: ApiServer, kubectl: Kubectl) -> None:
    assert kubectl.ok("exec", "-i", "-c", "app", "web", "--", "cat", stdin="in\n") == "in\n"
    result = kubectl.run("exec", "-c", "app", "web", "--", "exit", "3")
    mine = run(server, "exec", "-c", "app", "web", "--", "exit", "3")
    assert (result.code, result.out, result.err) == mine


@needs_kubectl
def test_kubectl_port_forward_against_the_embedded_server(kubectl: Kubectl) -> None:
    assert KUBECTL is not None
    argv = [KUBECTL, "--kubeconfig", kubectl.kubeconfig, "--cache-dir", kubectl.cache_dir,
            "port-forward", "pod/web", ":8080"]
    for _, line in _forwarding(argv):
        assert line.startswith("Forwarding from 127.0.0.1:") and line.endswith(" -> 8080\n")
        assert _echoes(int(line.split(":")[1].split()[0])) == b"through the forward"
