"""``dynakube logs`` against the embedded server, and kubectl's ``logs`` / ``logs -f`` there."""

from __future__ import annotations

import io
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, Any

import pytest
from kubectlhelp import KUBECTL, Kubectl, needs_kubectl

from dynakube.cli.app import main
from dynakube.cli.logs import parse_duration
from dynakube.errors import InvalidArgumentError
from dynakube.testing import ApiServer


def _pod(name: str, *containers: str, labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "node-1", "containers": [
                {"name": c, "image": "busybox"} for c in containers or ("app",)]}}


def _run(server: ApiServer, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--kubeconfig", server.kubeconfig_path, *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def server(kube_server: ApiServer) -> ApiServer:
    kube = kube_server.client()
    try:
        pods = kube.resource("pods")
        pods.create(_pod("solo"))
        pods.create(_pod("duo", "main", "side", labels={"app": "web"}))
        pods.create(_pod("picky", "main", "side",
                         annotations={"kubectl.kubernetes.io/default-container": "side"}))
        pods.create(_pod("web-2", "main", "side", labels={"app": "web"}))
        kube.resource("deployments").create({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "main",
                                                           "image": "busybox"}]}}}})
    finally:
        kube.close()
    logs = kube_server.pods
    logs.write_log("default", "solo", "app", "line 1\nline 2\nline 3")
    logs.write_log("default", "solo", "app", "crashed", previous=True)
    for name in ("duo", "picky", "web-2"):
        logs.write_log("default", name, "main", f"{name} main")
        logs.write_log("default", name, "side", f"{name} side")
    return kube_server


def test_logs_prints_the_log_and_takes_kubectls_flags(server: ApiServer) -> None:
    assert _run(server, "logs", "solo") == (0, "line 1\nline 2\nline 3\n", "")
    assert _run(server, "logs", "solo", "--tail", "1") == (0, "line 3\n", "")
    assert _run(server, "logs", "solo", "--limit-bytes", "4") == (0, "line", "")
    assert _run(server, "logs", "solo", "-p") == (0, "crashed\n", "")
    assert _run(server, "logs", "solo", "--since", "1h") == (0, "line 1\nline 2\nline 3\n", "")
    assert _run(server, "logs", "solo", "--since-time", "2999-01-01T00:00:00Z") == (0, "", "")
    code, out, _ = _run(server, "logs", "pod/solo", "--timestamps", "--tail=1")
    assert code == 0 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 3\n", out)


def test_a_pod_with_several_containers_defaults_as_kubectl_does(server: ApiServer) -> None:
    assert _run(server, "logs", "duo") == (
        0, "duo main\n", 'Defaulted container "main" out of: main, side\n')
    assert _run(server, "logs", "duo", "-c", "side") == (0, "duo side\n", "")
    assert _run(server, "logs", "picky") == (0, "picky side\n", "")


def test_a_workload_logs_one_of_its_pods(server: ApiServer) -> None:
    code, out, err = _run(server, "logs", "deploy/web")
    assert code == 0
    assert out in ("duo main\n", "web-2 main\n")
    assert err.startswith("Found 2 pods, using pod/")


@pytest.mark.parametrize(("argv", "message"), [
    (["logs", "solo", "-c", "nope"],
     "Error from server (BadRequest): container nope is not valid for pod solo\n"
     "  note: pod solo has the containers: app\n"),
    (["logs", "ghost"], 'Error from server (NotFound): pods "ghost" not found\n'),
    (["logs", "duo", "-p", "-c", "side"],
     'Error from server (BadRequest): previous terminated container "side" in pod "duo" '
     'not found\n'),
    (["logs", "solo", "--since", "5 minutes"],
     'error: invalid argument "5 minutes" for "--since" flag: time: invalid duration '
     '"5 minutes"\n'),
    (["logs", "solo", "--since", "5m", "--since-time", "2026-01-01T00:00:00Z"],
     "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n"),
    (["logs", "solo", "--since-time", "noon"],
     "error: since_time must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got 'noon'\n"),
    (["logs", "solo", "--tail", "-2"], "error: --tail must be greater than or equal to -1\n"),
    (["logs", "solo", "--limit-bytes", "-1"], "error: --limit-bytes must be greater than 0\n"),
    (["logs", "cm/settings"], "error: configmaps have no logs: use pods or a workload "
     "(deployments, statefulsets, daemonsets, replicasets, jobs, replicationcontrollers, "
     "services)\n"),
])
def test_errors_are_one_line_and_exit_1(server: ApiServer, argv: list[str],
                                        message: str) -> None:
    assert _run(server, *argv) == (1, "", message)


def test_parse_duration_reads_gos_durations() -> None:
    assert parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("250ms") == 0.25
    for bad in ("", "5", "m", "5 m", "1d"):
        with pytest.raises(InvalidArgumentError):
            parse_duration(bad)


class _Lines(io.StringIO):
    """A stdout that hands each finished write to a queue, for a follower to be watched."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> int:
        self.lines.put(text)
        return super().write(text)


def test_follow_prints_lines_as_they_come_and_ends_with_the_pod(server: ApiServer) -> None:
    out, err = _Lines(), io.StringIO()
    result: list[int] = []
    follower = threading.Thread(target=lambda: result.append(main(
        ["--kubeconfig", server.kubeconfig_path, "logs", "-f", "--tail", "1", "solo"],
        stdout=out, stderr=err)), daemon=True)
    follower.start()
    assert out.lines.get(timeout=10) == "line 3\n"
    server.pods.write_log("default", "solo", "app", "line 4")
    assert out.lines.get(timeout=10) == "line 4\n"
    kube = server.client()
    try:
        kube.resource("pods").delete("solo", grace_period_seconds=0)
    finally:
        kube.close()
    follower.join(10)
    assert not follower.is_alive() and result == [0] and err.getvalue() == ""


# -- kubectl -----------------------------------------------------------------------------------

@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[ApiServer, Kubectl]]:
    with ApiServer(tls=True) as srv:
        kube = srv.client(cache_dir=str(tmp_path / "dynakube"))
        try:
            kube.resource("pods").create(_pod("web", "main", "side", labels={"app": "web"}))
        finally:
            kube.close()
        srv.pods.write_log("default", "web", "main", "hello from main")
        srv.pods.write_log("default", "web", "side", "hello from side")
        yield srv, Kubectl(srv.kubeconfig_path, str(tmp_path / "kubectl"))


@needs_kubectl
def test_kubectl_logs_against_the_embedded_server(
        tls_server: tuple[ApiServer, Kubectl]) -> None:
    _, kubectl = tls_server
    result = kubectl.run("logs", "web")
    assert (result.code, result.out) == (0, "hello from main\n"), str(result)
    assert 'Defaulted container "main" out of: main, side' in result.err
    assert kubectl.ok("logs", "web", "-c", "side", "--tail=1") == "hello from side\n"
    failed = kubectl.fails("logs", "web", "-c", "nope")
    assert "container nope is not valid for pod web" in failed.err, str(failed)


def _reader(stream: IO[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=pump, daemon=True).start()
    return lines


@needs_kubectl
def test_kubectl_logs_follow_against_the_embedded_server(
        tls_server: tuple[ApiServer, Kubectl]) -> None:
    server, kubectl = tls_server
    assert KUBECTL is not None
    proc = subprocess.Popen(
        [KUBECTL, "--kubeconfig", kubectl.kubeconfig, "--cache-dir", kubectl.cache_dir,
         "logs", "-f", "web", "-c", "main"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": kubectl.cache_dir})
    try:
        assert proc.stdout is not None
        lines = _reader(proc.stdout)
        assert lines.get(timeout=30) == "hello from main\n"
        server.pods.write_log("default", "web", "main", "followed line")
        assert lines.get(timeout=30) == "followed line\n"
        kube = server.client()
        try:
            kube.resource("pods").delete("web", grace_period_seconds=0)
        finally:
            kube.close()
        assert lines.get(timeout=30) == ""
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
