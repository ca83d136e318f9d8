"""Pod logs over the real wire: the client's ``logs()`` and the embedded server's kubelet
stand-in (``kube_server.pods.write_log``), including following, stopping, broken connections
and a large log read in bounded memory."""

from __future__ import annotations

import dataclasses
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faultproxy import FaultProxy
from rawhttp import session

from dynakube.apiserver.rules.podlogs import format_timestamp
from dynakube.client import Client
from dynakube.errors import (
    BadRequestError,
    InvalidArgumentError,
    InvalidError,
    NotFoundError,
    TransportError,
)
from dynakube.logs import MAX_LINE, LogStream, choose_pod, log_query
from dynakube.request import ApiRequest
from dynakube.testing import ApiServer

T0 = datetime(2025, 12, 2, 5, 0, 0, 123456, tzinfo=UTC)  # well in the past


def pod(name: str, *containers: str, node: str | None = "node-1",
        labels: dict[str, str] | None = None, init: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"}
                                           for c in containers or ("app",)]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "busybox"} for c in init]
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


@pytest.fixture
def pods(kube: Client) -> Any:
    return kube.resource("pods")


def _follow_in_thread(stream: LogStream) -> tuple[threading.Thread, list[str], list[Exception]]:
    lines: list[str] = []
    errors: list[Exception] = []

    def read() -> None:
        try:
            lines.extend(stream)
        except Exception as e:  # the test asserts on it
            errors.append(e)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, lines, errors


def _wait_for(condition: Any, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# -- reading at once ---------------------------------------------------------------------------

def test_logs_come_back_as_text_with_the_kubelets_options(kube_server: ApiServer,
                                                          pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "one\ntwo\n", at=T0)
    kube_server.pods.write_log("default", "web", "app", "three", at=T0 + timedelta(hours=1))
    assert pods.logs("web") == "one\ntwo\nthree\n"
    assert pods.logs("web", tail_lines=2) == "two\nthree\n"
    assert pods.logs("web", tail_lines=0) == ""
    assert pods.logs("web", limit_bytes=6) == "one\ntw"
    assert pods.logs("web", timestamps=True, tail_lines=1) == \
        "2025-12-02T06:00:00.123456000Z three\n"
    assert pods.logs("web", since_time=T0 + timedelta(minutes=30)) == "three\n"
    assert pods.logs("web", since_time="2025-12-02T05:00:00Z") == "one\ntwo\nthree\n"
    assert pods.logs("web", container="app", since_seconds=60) == ""
    kube_server.pods.write_log("default", "web", "app", "now")
    assert pods.logs("web", since_seconds=timedelta(minutes=1)) == "now\n"


def test_the_timestamp_is_rfc3339_with_nine_digits_as_the_kubelet_writes_it() -> None:
    assert format_timestamp(1_796_187_600_123_456_789) == "2026-12-02T05:00:00.123456789Z"
    assert format_timestamp(1_796_187_600_000_000_000) == "2026-12-02T05:00:00.000000000Z"


def test_the_log_subresource_is_text_not_json(kube_server: ApiServer, kube: Client) -> None:
    kube.resource("pods").create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "plain text, not JSON")
    text: Any = kube.resource("pods").subresource("log").get("web")  # typed for JSON verbs
    assert text == "plain text, not JSON\n"


def test_previous_logs_are_those_of_the_last_terminated_instance(kube_server: ApiServer,
                                                                 pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "after the restart")
    with pytest.raises(BadRequestError) as info:
        pods.logs("web", previous=True)
    assert info.value.message == 'previous terminated container "app" in pod "web" not found'
    kube_server.pods.write_log("default", "web", "app", "before the crash", previous=True)
    assert pods.logs("web", previous=True) == "before the crash\n"
    assert pods.logs("web") == "after the restart\n"


def test_a_pod_on_no_node_has_an_empty_log_as_kube_apiserver_answers(
        kube_server: ApiServer, pods: Any) -> None:
    pods.create(pod("pending", node=None))
    kube_server.pods.write_log("default", "pending", "app", "never shown")
    raw = session(kube_server).get(kube_server.url + "/api/v1/namespaces/default/pods/pending/log")
    assert (raw.status_code, raw.content) == (204, b"")
    assert pods.logs("pending") == ""


# -- refusals --------------------------------------------------------------------------------

def test_a_wrong_container_is_a_bad_request_that_names_the_containers(pods: Any) -> None:
    pods.create(pod("web", "app", "sidecar", init=("setup",)))
    with pytest.raises(BadRequestError) as info:
        pods.logs("web", container="nope")
    assert info.value.message == "container nope is not valid for pod web"
    assert info.value.__notes__ == [
        "pod web has the containers: app, sidecar, setup (init)"]
    with pytest.raises(BadRequestError) as info:
        pods.logs("web")
    assert info.value.message == ("a container name must be specified for pod web, choose one "
                                  "of: [setup app sidecar]")


def test_a_container_not_started_is_reported_as_the_kubelet_words_it(
        kube_server: ApiServer, kube: Client, pods: Any) -> None:
    pods.create(pod("web"))
    with pytest.raises(BadRequestError) as info:
        pods.logs("web")
    assert info.value.message == \
        'container "app" in pod "web" is waiting to start: ContainerCreating'
    kube.resource("pods").status.patch("web", {"status": {"containerStatuses": [{
        "name": "app", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}})
    with pytest.raises(BadRequestError) as info:
        pods.logs("web", follow=True)
    assert info.value.message == \
        'container "app" in pod "web" is waiting to start: trying and failing to pull image'


def test_a_missing_pod_is_not_found(pods: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        pods.logs("ghost")
    assert info.value.message == 'pods "ghost" not found'


def test_bad_options_are_refused_before_anything_is_sent(kube_server: ApiServer,
                                                        pods: Any) -> None:
    before = len(kube_server.requests)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"tail_lines": -1}, "tail_lines must be an integer >= 0"),
        ({"limit_bytes": 0}, "limit_bytes must be an integer >= 1"),
        ({"since_seconds": 0}, "since_seconds must be a positive number"),
        ({"since_seconds": 5, "since_time": T0}, "not both"),
        ({"since_time": datetime(2026, 1, 1)}, "has no time zone"),
        ({"since_time": "yesterday"}, "RFC 3339"),
        ({"container": "a/b"}, "container 'a/b'"),
        ({"follow": "yes"}, "follow must be True or False"),
    ]
    for options, text in cases:
        with pytest.raises(InvalidArgumentError, match=text):
            pods.logs("web", **options)
    assert len(kube_server.requests) == before
    with pytest.raises(InvalidArgumentError, match="configmaps have no logs"):
        pods.client.resource("configmaps").logs("settings")


def test_the_server_validates_pod_log_options_as_kube_apiserver(kube_server: ApiServer,
                                                               pods: Any) -> None:
    pods.create(pod("web"))
    base = kube_server.url + "/api/v1/namespaces/default/pods/web/log"
    raw = session(kube_server).get(base, params={"tailLines": "-1", "limitBytes": "0"})
    assert raw.status_code == 422
    assert raw.json()["message"] == (
        'PodLogOptions "web" is invalid: [tailLines: Invalid value: -1: must be greater than '
        "or equal to 0, limitBytes: Invalid value: 0: must be greater than 0]")
    raw = session(kube_server).get(base, params={"sinceSeconds": "5",
                                                 "sinceTime": "2026-01-01T00:00:00Z"})
    assert raw.json()["message"] == ('PodLogOptions "web" is invalid: Forbidden: at most one '
                                     "of `sinceTime` or `sinceSeconds` may be specified")
    raw = session(kube_server).get(base, params={"follow": "maybe"})
    assert (raw.status_code, raw.json()["message"]) == (
        400, 'strconv.ParseBool: parsing "maybe": invalid syntax')
    with pytest.raises(InvalidError, match="limitBytes: Invalid value: -3"):
        pods.client.transport.send(ApiRequest("GET", "/api/v1/namespaces/default/pods/web/log",
                                              (("limitBytes", "-3"),)))


def test_write_log_takes_only_containers_the_pod_has(kube_server: ApiServer,
                                                    pods: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="no Pod default/web"):
        kube_server.pods.write_log("default", "web", "app", "x")
    pods.create(pod("web", "app", "sidecar"))
    with pytest.raises(InvalidArgumentError, match=r"no container 'db' \(it has: app, sidecar\)"):
        kube_server.pods.write_log("default", "web", "db", "x")


def test_logs_belong_to_one_pod_instance(kube_server: ApiServer, pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "first life")
    pods.delete("web", grace_period_seconds=0)
    pods.create(pod("web"))
    with pytest.raises(BadRequestError, match="waiting to start"):
        pods.logs("web")


def test_autostart_gives_unwritten_containers_a_log(kube_server: ApiServer, pods: Any) -> None:
    kube_server.pods.logs.autostart = lambda ns, name, container: f"hello from {container}"
    pods.create(pod("web"))
    assert pods.logs("web") == "hello from app\n"


# -- following -------------------------------------------------------------------------------

def test_follow_streams_new_lines_and_ends_when_the_pod_is_deleted(kube_server: ApiServer,
                                                                  pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "old\n\nblank above")
    with pods.logs("web", follow=True, tail_lines=2) as stream:
        thread, lines, errors = _follow_in_thread(stream)
        _wait_for(lambda: len(lines) == 2, "the tail")
        kube_server.pods.write_log("default", "web", "app", "new 1\nnew 2")
        _wait_for(lambda: len(lines) == 4, "the new lines")
        pods.delete("web", grace_period_seconds=0)
        thread.join(10)
    assert not thread.is_alive() and errors == []
    assert lines == ["", "blank above", "new 1", "new 2"]


def test_follow_stops_cleanly_when_closed_from_another_thread(kube_server: ApiServer,
                                                             pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "started")
    stream = pods.logs("web", follow=True)
    thread, lines, errors = _follow_in_thread(stream)
    _wait_for(lambda: lines == ["started"], "the first line")
    stream.close()
    thread.join(10)
    assert not thread.is_alive() and errors == [] and stream.closed
    assert pods.logs("web") == "started\n"  # the server stayed healthy


def test_a_connection_killed_mid_stream_ends_the_iterator_with_a_transport_error(
        kube_server: ApiServer) -> None:
    with FaultProxy(kube_server.url) as proxy:
        kube = Client(dataclasses.replace(kube_server.config(), server=proxy.url))
        try:
            pods = kube.resource("pods")
            pods.create(pod("web"))
            kube_server.pods.write_log("default", "web", "app", "before the cut")
            stream = pods.logs("web", follow=True)
            assert next(stream) == "before the cut"
            proxy.cut_all()
            with pytest.raises(TransportError, match="broke"):
                next(stream)
        finally:
            kube.close()


def test_follow_with_limit_bytes_ends_at_the_limit(kube_server: ApiServer, pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "0123456789")
    with pods.logs("web", follow=True, limit_bytes=4) as stream:
        assert list(stream) == ["0123"]


def test_logs_over_tls(tmp_path: Any) -> None:
    with ApiServer(tls=True) as server:
        kube = server.client(cache_dir=str(tmp_path))
        try:
            pods = kube.resource("pods")
            pods.create(pod("web"))
            server.pods.write_log("default", "web", "app", "secret line")
            assert pods.logs("web") == "secret line\n"
            stream = pods.logs("web", follow=True)
            thread, lines, errors = _follow_in_thread(stream)
            _wait_for(lambda: lines == ["secret line"], "the TLS line")
            stream.close()
            thread.join(10)
            assert not thread.is_alive() and errors == []
        finally:
            kube.close()


def test_a_large_log_streams_in_bounded_memory(kube_server: ApiServer, pods: Any) -> None:
    pods.create(pod("web"))
    line = "x" * 127
    count = 80_000  # 10 MiB of log
    kube_server.pods.write_log("default", "web", "app", (line + "\n") * count)
    stream = pods.logs("web", follow=True)
    tracemalloc.start()
    try:
        seen = 0
        for text in stream:
            assert text == line
            seen += 1
            if seen == count:
                stream.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a 10 MiB log"


# -- workloads -------------------------------------------------------------------------------

def _ts(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_status(obj: dict[str, Any], phase: str, ready_at: str | None = None,
                 restarts: int = 0, created: str | None = None) -> dict[str, Any]:
    obj = dict(obj)
    obj["metadata"] = dict(obj["metadata"], creationTimestamp=created or _ts(0))
    conditions = [{"type": "Ready", "status": "True" if ready_at else "False",
                   "lastTransitionTime": ready_at or _ts(0)}]
    obj["status"] = {"phase": phase, "conditions": conditions,
                     "containerStatuses": [{"name": "app", "restartCount": restarts}]}
    return obj


def test_choose_pod_sorts_as_kubectl_by_logging() -> None:
    unscheduled = _with_status(pod("unscheduled", node=None), "Running", _ts(1))
    pending = _with_status(pod("pending"), "Pending")
    running = _with_status(pod("running"), "Running")
    ready_late = _with_status(pod("ready-late"), "Running", _ts(9))
    ready_early = _with_status(pod("ready-early"), "Running", _ts(2))
    restarted = _with_status(pod("restarted"), "Running", _ts(2), restarts=3)
    older = _with_status(pod("older"), "Running", _ts(2), restarts=3, created=_ts(-5))

    def first(*candidates: dict[str, Any]) -> str:
        chosen = choose_pod(list(candidates))
        assert chosen is not None
        return str(chosen["metadata"]["name"])

    assert first(unscheduled, pending) == "pending"
    assert first(pending, running) == "running"
    assert first(running, ready_late) == "ready-late"
    assert first(ready_late, ready_early) == "ready-early"
    assert first(ready_early, restarted) == "restarted"
    assert first(restarted, older) == "older"
    assert choose_pod([]) is None


def test_workload_logs_come_from_the_pod_kubectl_picks(kube_server: ApiServer,
                                                      kube: Client) -> None:
    pods = kube.resource("pods")
    pods.create(pod("web-pending", node=None, labels={"app": "web"}))
    pods.create(pod("web-running", labels={"app": "web"}))
    pods.create(pod("other", labels={"app": "other"}))
    kube_server.pods.write_log("default", "web-running", "app", "serving")
    kube.resource("deployments").create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}})
    deployments = kube.resource("deployments")
    choice = deployments.log_pod("web")
    assert (choice.name, choice.namespace, choice.matched) == ("web-running", "default", 2)
    assert deployments.logs("web") == "serving\n"
    with deployments.logs("web", follow=True) as stream:
        assert next(stream) == "serving"


def test_a_workload_without_pods_is_not_found(kube: Client) -> None:
    kube.resource("jobs").create({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"selector": {"matchLabels": {"job": "once"}}, "manualSelector": True,
                 "template": {"metadata": {"labels": {"job": "once"}},
                              "spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "app", "image": "busybox"}]}}}})
    with pytest.raises(NotFoundError, match=r'no pods found for jobs "once" in namespace '
                                            r'"default" \(selector job=once\)'):
        kube.resource("jobs").logs("once")
    kube.resource("services").create({"apiVersion": "v1", "kind": "Service",
                                      "metadata": {"name": "bare"},
                                      "spec": {"ports": [{"port": 80}]}})
    with pytest.raises(InvalidArgumentError, match="Service is defined without a selector"):
        kube.resource("services").logs("bare")


def test_log_query_is_what_kubectl_sends() -> None:
    assert log_query(container="app", follow=True, tail_lines=10, since_seconds=2.5,
                     timestamps=True, previous=True, limit_bytes=100) == (
        ("container", "app"), ("follow", "true"), ("previous", "true"),
        ("timestamps", "true"), ("sinceSeconds", "3"), ("tailLines", "10"),
        ("limitBytes", "100"))
    tz = datetime(2026, 12, 2, 7, 0, 0, 999, tzinfo=UTC).astimezone()
    assert log_query(since_time=tz) == (("sinceTime", "2026-12-02T07:00:00Z"),)
    assert log_query() == ()


def test_a_line_longer_than_max_line_comes_in_pieces(kube_server: ApiServer, pods: Any) -> None:
    pods.create(pod("web"))
    kube_server.pods.write_log("default", "web", "app", "y" * (2 * MAX_LINE + 10) + "\nend")
    with pods.logs("web", follow=True) as stream:
        sizes = [len(next(stream)) for _ in range(4)]
    assert sizes == [MAX_LINE, MAX_LINE, 10, 3]
