"""kubectl exec against the embedded server (HTTPS, the server's kubeconfig): stdin piped
through ``-i``, output back, and the exit code as kubectl reports it. Skipped without kubectl.
(``kubectl port-forward`` speaks SPDY; its test lives with the SPDY tunnel.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

import pytest
from kubectlhelp import Kubectl, needs_kubectl

from dynakube.apiserver.rules.podshell import PodShell
from dynakube.apiserver.rules.podstreams import ResizeEvents
from dynakube.apiserver.server import ApiServer

pytestmark = needs_kubectl

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "box"},
       "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "busybox"}]}}


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(tls=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def k(server: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    kubectl = Kubectl(server.kubeconfig_path, str(tmp_path_factory.mktemp("kubectl-cache")))
    kubectl.ok("create", "-f", "-", stdin=json.dumps(POD))
    return kubectl


def test_exec_with_piped_stdin_ends_when_stdin_ends(server: ApiServer, k: Kubectl) -> None:
    def rev(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
            tty: bool, resize: ResizeEvents) -> int:
        assert command == ["rev"] and not tty
        for line in stdin.read().decode().splitlines():
            stdout.write(line[::-1].encode() + b"\n")
        return 0

    server.pods.on_exec("default", "box", "main", rev)
    assert k.ok("exec", "-i", "box", "--", "rev", stdin="hello\nworld\n") == "olleh\ndlrow\n"


def test_a_non_zero_exit_is_kubectls_exit_code(server: ApiServer, k: Kubectl) -> None:
    server.pods.on_exec("default", "box", "main", PodShell("default", "box", "main"))
    result = k.run("exec", "box", "--", "sh", "-c", "echo out; cat /nope; exit 3")
    assert result.code == 3, str(result)
    assert result.out == "out\n"
    assert result.err == ("cat: /nope: No such file or directory\n"
                          "command terminated with exit code 3\n")


def test_a_command_the_container_lacks(server: ApiServer, k: Kubectl) -> None:
    server.pods.on_exec("default", "box", "main", PodShell("default", "box", "main"))
    result = k.run("exec", "box", "--", "bash")
    assert result.code == 1, str(result)
    assert result.err.startswith("error: Internal error occurred: error executing command in "
                                 "container: failed to exec in container: failed to start exec")
    assert result.err.endswith('exec: "bash": executable file not found in $PATH: unknown\n')
