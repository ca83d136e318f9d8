"""exec and attach over the real wire: the embedded server's kubelet stand-in, driven by a
raw WebSocket client (``wsclient``), over HTTP and HTTPS, in both subprotocol versions.

Checks the refusals before the upgrade (JSON ``Status`` with kube-apiserver's words), the
channels after it (stdin and its v5 close signal, stdout, stderr, resize), the final
``Status`` (success, ``NonZeroExitCode``, a command the container does not have), 10 MB of
output in bounded memory, and a client that dies mid-stream (no thread left behind).
"""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest
import requests
from rawhttp import session
from wsclient import RawWebSocket, Rejected, Session, exec_path

from dynakube.apiserver.rules.podshell import PodShell
from dynakube.apiserver.rules.podstreams import ContainerExecError, ResizeEvents
from dynakube.testing import ApiServer

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
BOTH = [V5, V4]
PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, *containers: str, node: str | None = "node-1",
        status: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"}
                                           for c in containers or ("app",)]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def rest(server: ApiServer, token: str | None = None) -> requests.Session:
    """Plain HTTP(S) to ``server``, trusting its CA."""
    s = session(server, token)
    s.verify = server.ca_file or True
    return s


def create(server: ApiServer, body: dict[str, Any],
           status: dict[str, Any] | None = None) -> None:
    s = rest(server)
    r = s.post(server.url + PODS, json=body)
    assert r.status_code == 201, r.text
    if status is not None:
        current = r.json()
        current["status"] = status
        r = s.put(f"{server.url}{PODS}/{body['metadata']['name']}/status", json=current)
        assert r.status_code == 200, r.text


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    with ApiServer(tls=request.param == "https") as srv:
        create(srv, pod("web"))
        yield srv


def upper_and_exit(code: int) -> Any:
    """A handler: stdout gets stdin upper-cased, stderr a note, and it exits with ``code``."""
    def handler(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
                tty: bool, resize: ResizeEvents) -> int:
        stdout.write(stdin.read().upper())
        stderr.write(" ".join(command).encode())
        return code
    return handler


def _wait_for(condition: Any, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _no_exec_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name == "dynakube-exec"]


# -- the session -----------------------------------------------------------------------------

def test_v5_stdin_closes_and_a_zero_exit_is_success(server: ApiServer) -> None:
    server.pods.on_exec("default", "web", "app", upper_and_exit(0))
    ws = RawWebSocket(server, exec_path("web", "tr", "a-z", "A-Z", stdin=True, stdout=True,
                                        stderr=True), BOTH)
    assert ws.subprotocol == V5
    ws.send(0, b"hello ")
    ws.send(0, b"world")
    ws.send(255, b"\x00")  # v5: stdin is done
    got = Session.read(ws)
    assert (bytes(got.out), bytes(got.err)) == (b"HELLO WORLD", b"tr a-z A-Z")
    assert got.status == {"metadata": {}, "status": "Success"}
    assert got.close_code == 1000 and got.other == []


@pytest.mark.parametrize(("protocols", "chosen", "inner"), [
    (BOTH, V5, "command terminated with exit code 3"),
    ([V4], V4, "error executing command [sh -c exit 3], exit code 3"),
    ([V4, V5], V4, "error executing command [sh -c exit 3], exit code 3"),  # client's order
])
def test_a_non_zero_exit_is_reported_with_the_exit_code(
        server: ApiServer, protocols: list[str], chosen: str, inner: str) -> None:
    server.pods.on_exec("default", "web", "app", upper_and_exit(3))
    ws = RawWebSocket(server, exec_path("web", "sh", "-c", "exit 3", stdout=True), protocols)
    assert ws.subprotocol == chosen
    got = Session.read(ws)
    assert got.status == {
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: {inner}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert got.close_code == 1000


def test_v4_has_no_close_signal_stdin_ends_with_the_connection(server: ApiServer) -> None:
    seen: list[bytes] = []
    done = threading.Event()

    def handler(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
                tty: bool, resize: ResizeEvents) -> int:
        seen.append(stdin.read())
        done.set()
        return 0

    server.pods.on_exec("default", "web", "app", handler)
    ws = RawWebSocket(server, exec_path("web", "cat", stdin=True, stdout=True), [V4])
    ws.send(0, b"abc")
    ws.send(255, b"\x00")  # not a close signal in v4: ignored
    assert not done.wait(0.3)
    ws.close()
    assert done.wait(10) and seen == [b"abc"]
    _wait_for(_no_exec_threads, "the exec thread to end")


def test_the_default_handler_reports_the_command_as_not_found(server: ApiServer) -> None:
    ws = RawWebSocket(server, exec_path("web", "bash", stdout=True), BOTH)
    got = Session.read(ws)
    inner = got.status["details"]["causes"][0]["message"]
    assert got.status["message"] == "Internal error occurred: " + inner
    assert (got.status["status"], got.status["reason"], got.status["code"]) == \
        ("Failure", "InternalError", 500)
    assert inner.startswith("error executing command in container: failed to exec in "
                            'container: failed to start exec "')
    assert inner.endswith('": OCI runtime exec failed: exec failed: unable to start container '
                          'process: exec: "bash": executable file not found in $PATH: unknown')


def test_a_handler_that_raises_is_an_internal_error_and_the_runtime_words_pass_through(
        server: ApiServer) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise ContainerExecError("no space left on device")

    server.pods.on_exec("default", "web", "app", broken)
    got = Session.read(RawWebSocket(server, exec_path("web", "x", stdout=True), BOTH))
    assert got.status["message"] == ("Internal error occurred: error executing command in "
                                     "container: no space left on device")


def test_attach_runs_the_handler_without_a_command(server: ApiServer) -> None:
    commands: list[list[str]] = []

    def main_process(command: list[str], stdin: BinaryIO, stdout: BinaryIO,
                     stderr: BinaryIO, *, tty: bool, resize: ResizeEvents) -> int:
        commands.append(command)
        stdout.write(b"attached\n")
        return 7  # attach has no exit code: the kubelet reports success

    server.pods.on_exec("default", "web", "app", main_process)
    got = Session.read(RawWebSocket(
        server, exec_path("web", verb="attach", stdout=True, container="app"), BOTH))
    assert commands == [[]] and bytes(got.out) == b"attached\n"
    assert got.status == {"metadata": {}, "status": "Success"}


def test_resize_events_reach_a_tty_handler(server: ApiServer) -> None:
    sizes: list[tuple[int, int]] = []
    latest: list[Any] = []

    def terminal(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
                 tty: bool, resize: ResizeEvents) -> int:
        assert tty
        sizes.append(resize.get(timeout=10) or (0, 0))
        sizes.append(resize.get(timeout=10) or (0, 0))
        latest.append(resize.latest())
        stdin.read()
        return 0

    server.pods.on_exec("default", "web", "app", terminal)
    ws = RawWebSocket(server, exec_path("web", "sh", stdin=True, stdout=True, stderr=True,
                                        tty=True), BOTH)
    ws.send(4, json.dumps({"Width": 80, "Height": 24}).encode())
    ws.send(4, b"not json")  # ignored, as the kubelet does
    ws.send(4, json.dumps({"Width": 120, "Height": 40}).encode())
    ws.send(255, b"\x00")
    got = Session.read(ws)
    assert got.status == {"metadata": {}, "status": "Success"}
    assert sizes == [(80, 24), (120, 40)] and latest == [(120, 40)]


def test_post_upgrades_too_and_the_shell_runs_simple_scripts(server: ApiServer) -> None:
    server.pods.on_exec("default", "web", "app", PodShell("default", "web", "app"))
    ws = RawWebSocket(server, exec_path("web", "sh", "-c", "echo hi; cat /etc/x || exit 4",
                                        stdout=True, stderr=True), BOTH, method="POST")
    got = Session.read(ws)
    assert bytes(got.out) == b"hi\n"
    assert bytes(got.err) == b"cat: /etc/x: No such file or directory\n"
    assert got.status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]


def test_registrations_are_forgotten_with_the_pod(server: ApiServer) -> None:
    server.pods.on_exec("default", "web", "app", upper_and_exit(0))
    assert rest(server).delete(f"{server.url}{PODS}/web",
                                  params={"gracePeriodSeconds": "0"}).status_code == 200
    create(server, pod("web"))
    got = Session.read(RawWebSocket(server, exec_path("web", "tr", stdout=True), BOTH))
    assert got.status["reason"] == "InternalError"  # the new Pod has no handler


# -- large output, slow readers, dead clients --------------------------------------------------

def test_ten_megabytes_of_output_flow_in_bounded_memory(server: ApiServer) -> None:
    block = b"x" * 65536
    total = 10 * 1024 * 1024

    def firehose(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
                 tty: bool, resize: ResizeEvents) -> int:
        for _ in range(total // len(block)):
            stdout.write(block)
        return 0

    server.pods.on_exec("default", "web", "app", firehose)
    ws = RawWebSocket(server, exec_path("web", "yes", stdout=True), BOTH)
    received = 0
    tracemalloc.start()
    try:
        while (message := ws.recv()) is not None:
            assert message[0] in (1, 3)
            if message[0] == 1:
                received += len(message) - 1
                if received < 256 * 1024:
                    time.sleep(0.01)  # a slow reader first: the handler must wait for it
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == total and ws.close_code == 1000
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for {total} through exec"


def test_a_client_killed_mid_stream_ends_the_session(server: ApiServer) -> None:
    outcome: list[str] = []

    def endless(command: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, *,
                tty: bool, resize: ResizeEvents) -> int:
        try:
            while True:
                stdout.write(b"y\n" * 4096)
        except BrokenPipeError:
            outcome.append("broken pipe")
        outcome.append(repr(stdin.read()))
        return 0

    server.pods.on_exec("default", "web", "app", endless)
    ws = RawWebSocket(server, exec_path("web", "yes", stdin=True, stdout=True), BOTH)
    assert ws.recv() is not None
    ws.kill()
    _wait_for(lambda: len(outcome) == 2, "the handler to see the client go")
    assert outcome == ["broken pipe", "b''"]
    _wait_for(_no_exec_threads, "the exec thread to end")


# -- refusals before the upgrade ---------------------------------------------------------------

def _refusal(server: ApiServer, path: str, protocols: list[str] = BOTH, **kw: Any) -> Rejected:
    with pytest.raises(Rejected) as caught:
        RawWebSocket(server, path, protocols, **kw)
    return caught.value


@pytest.mark.parametrize(("path", "code", "message"), [
    (exec_path("nope", "ls", stdout=True), 404, 'pods "nope" not found'),
    (exec_path("web", "ls", stdout=True, container="db"), 400,
     "container db is not valid for pod web"),
    (exec_path("web", stdout=True), 400,
     "you must specify at least one command for the container"),
    (exec_path("web", "ls"), 400, "you must specify at least 1 of stdin, stdout, stderr"),
    (exec_path("web", "ls", stdout="maybe"), 400,
     'strconv.ParseBool: parsing "maybe": invalid syntax'),
    (exec_path("web", verb="attach"), 400, "you must specify at least 1 of stdin, stdout, stderr"),
])
def test_refusals_are_json_status_with_kube_apiservers_words(
        server: ApiServer, path: str, code: int, message: str) -> None:
    refused = _refusal(server, path)
    body = refused.json()
    assert (refused.status, body["kind"], body["status"], body["message"], body["code"]) == \
        (code, "Status", "Failure", message, code)


def test_pods_that_cannot_run_a_command_are_refused(server: ApiServer) -> None:
    create(server, pod("unscheduled", node=None))
    create(server, pod("two", "a", "b"))
    create(server, pod("done"), {"phase": "Succeeded"})
    create(server, pod("starting"), {"phase": "Pending", "containerStatuses": [
        {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]})
    expected = {
        "unscheduled": "pod unscheduled does not have a host assigned",
        "two": "a container name must be specified for pod two, choose one of: [a b]",
        "done": "cannot exec into a container in a completed pod; current phase is Succeeded",
        "starting": 'unable to upgrade connection: container not found ("app")',
    }
    for name, message in expected.items():
        refused = _refusal(server, exec_path(name, "ls", stdout=True))
        assert (refused.status, refused.json()["message"]) == (400, message)


def test_what_is_not_a_websocket_upgrade_is_refused(server: ApiServer) -> None:
    s = rest(server)
    r = s.get(server.url + exec_path("web", "ls", stdout=True))
    assert (r.status_code, r.json()["message"]) == (400, "Upgrade request required")
    refused = _refusal(server, exec_path("web", "ls", stdout=True), ["base64.channel.k8s.io"])
    assert (refused.status, refused.json()["message"]) == (
        403, "requested protocol(s) are not supported: [base64.channel.k8s.io]; supports "
        "[v5.channel.k8s.io v4.channel.k8s.io]")


def test_credentials_are_checked_before_the_upgrade(server: ApiServer) -> None:
    path = exec_path("web", "ls", stdout=True)
    assert _refusal(server, path, token="wrong").status == 401
    refused = _refusal(server, path, token=server.forbidden_token)
    assert (refused.status, refused.json()["message"]) == (403, (
        'pods "web" is forbidden: User "readonly" cannot create resource "pods/exec" in API '
        'group "" in the namespace "default"'))
    assert requests.get(server.url + path, timeout=10,
                        verify=server.ca_file or True).status_code == 401
