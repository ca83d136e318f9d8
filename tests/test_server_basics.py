"""The embedded API server as a process: lifecycle, auth, TLS, faults, the request log."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from rawhttp import CM, configmap, session

from dynakube.errors import InvalidArgumentError
from dynakube.testing import ApiServer

PKI = Path(__file__).resolve().parents[1] / "fixtures" / "pki"


def test_start_stop_and_kubeconfig(kube_server: ApiServer) -> None:
    path = Path(kube_server.kubeconfig_path)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert f"server: {kube_server.url}" in text and f"token: {kube_server.token}" in text
    assert kube_server.url.startswith("http://127.0.0.1:")
    kube_server.stop()
    assert not path.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(kube_server.url + "/version", timeout=2)


def test_version_and_health_need_no_token(kube_server: ApiServer) -> None:
    version = requests.get(kube_server.url + "/version", timeout=5)
    assert version.status_code == 200
    assert {"major", "minor", "gitVersion", "platform"} <= set(version.json())
    for path in ("/healthz", "/readyz", "/livez"):
        answer = requests.get(kube_server.url + path, timeout=5)
        assert (answer.status_code, answer.text) == (200, "ok")


def test_wrong_or_missing_token_is_401(kube_server: ApiServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        answer = requests.get(kube_server.url + CM, headers=headers, timeout=5)
        assert answer.status_code == 401
        assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                 "status": "Failure", "message": "Unauthorized",
                                 "reason": "Unauthorized", "code": 401}


def test_readonly_token_reads_but_cannot_write(kube_server: ApiServer) -> None:
    ro = session(kube_server, kube_server.forbidden_token)
    assert ro.get(kube_server.url + CM).status_code == 200
    answer = ro.post(kube_server.url + CM, json=configmap("x"))
    assert answer.status_code == 403
    body = answer.json()
    assert body["reason"] == "Forbidden"
    assert body["message"] == ('configmaps is forbidden: User "readonly" cannot create resource '
                               '"configmaps" in API group "" in the namespace "default"')
    assert body["details"] == {"kind": "configmaps"}
    answer = ro.delete(kube_server.url + "/api/v1/namespaces/default")
    assert answer.status_code == 403
    assert answer.json()["message"].endswith('cannot delete resource "namespaces" in API group '
                                             '"" at the cluster scope')


def test_reject_token_simulates_expired_credentials(kube_server: ApiServer) -> None:
    s = session(kube_server)
    assert s.get(kube_server.url + CM).status_code == 200
    kube_server.faults.reject_token(kube_server.token)
    assert s.get(kube_server.url + CM).status_code == 401


@pytest.mark.parametrize(("status", "reason"), [(429, "TooManyRequests"), (500, "InternalError"),
                                                (503, "ServiceUnavailable")])
def test_fail_next(kube_server: ApiServer, status: int, reason: str) -> None:
    s = session(kube_server)
    kube_server.faults.fail_next(2, status=status, retry_after=3)
    for _ in range(2):
        answer = s.get(kube_server.url + CM)
        assert answer.status_code == status
        assert answer.json()["reason"] == reason
        assert answer.headers["Retry-After"] == "3"
    assert s.get(kube_server.url + CM).status_code == 200


def test_429_without_retry_after_still_says_when(kube_server: ApiServer) -> None:
    kube_server.faults.fail_next(1)
    answer = session(kube_server).get(kube_server.url + CM)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["details"] == {"retryAfterSeconds": 1}


def test_delay_holds_answers(kube_server: ApiServer) -> None:
    kube_server.faults.delay(0.2)
    assert kube_server.faults.delay_seconds == 0.2
    assert session(kube_server).get(kube_server.url + CM).status_code == 200
    kube_server.faults.delay(0)
    assert kube_server.faults.delay_seconds == 0.0


def test_request_log_counts(kube_server: ApiServer) -> None:
    s = session(kube_server)
    kube_server.requests.clear()
    s.get(kube_server.url + CM)
    s.post(kube_server.url + CM, json=configmap("a"))
    s.get(kube_server.url + CM + "/a")
    s.get(kube_server.url + "/api")
    log = kube_server.requests
    assert len(log) == 4
    assert log.count() == 4
    assert log.count(method="GET") == 3
    assert log.count(method="post", path=CM) == 1
    assert log.count(prefix=CM) == 3
    assert log.count(path="/api") == 1
    assert [r.status for r in log] == [200, 201, 200, 200]


def test_concurrent_clients(kube_server: ApiServer) -> None:
    errors: list[Any] = []

    def work(n: int) -> None:
        s = session(kube_server)
        for i in range(20):
            answer = s.post(kube_server.url + CM, json=configmap(f"c-{n}-{i}"))
            if answer.status_code != 201:
                errors.append(answer.text)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items = [i for i in session(kube_server).get(kube_server.url + CM).json()["items"]
             if i["metadata"]["name"].startswith("c-")]  # not the cluster's kube-root-ca.crt
    assert len(items) == 160
    versions = [int(i["metadata"]["resourceVersion"]) for i in items]
    assert len(set(versions)) == 160


def test_tls_with_fixture_pki() -> None:
    with ApiServer(tls=True, cert_file=str(PKI / "server.crt"), key_file=str(PKI / "server.key"),
                   ca_file=str(PKI / "ca.crt")) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert f"certificate-authority: {PKI / 'ca.crt'}" in Path(
            server.kubeconfig_path).read_text()
        answer = session(server).get(server.url + CM, verify=str(PKI / "ca.crt"))
        assert answer.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(server.url + "/version", timeout=5)
        # a client certificate signed by the CA authenticates without a token
        answer = requests.get(server.url + CM, verify=str(PKI / "ca.crt"), timeout=5,
                              cert=(str(PKI / "client.crt"), str(PKI / "client.key")))
        assert answer.status_code == 200


def test_tls_with_a_throwaway_certificate() -> None:
    server = ApiServer(tls=True)
    with server:
        ca_file = server.ca_file
        assert ca_file and os.path.isfile(ca_file)
        answer = session(server).get(server.url + "/api", verify=ca_file)
        assert answer.status_code == 200
    assert not os.path.exists(ca_file)
    with server:  # a restart makes a new throwaway CA
        assert server.ca_file and os.path.isfile(server.ca_file)
        assert session(server).get(server.url + "/api", verify=server.ca_file).ok


def test_serve_command_prints_the_kubeconfig_path() -> None:
    with subprocess.Popen([sys.executable, "-m", "dynakube.testing", "serve", "--token", "t0k"],
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            url = first.strip().rsplit(" ", 1)[-1]
            second = proc.stdout.readline()
            assert second.startswith("kubeconfig: ")
            path = second.split(": ", 1)[1].strip()
            assert f"server: {url}" in Path(path).read_text()
            answer = requests.get(url + CM, headers={"Authorization": "Bearer t0k"}, timeout=5)
            assert answer.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert proc.returncode == 0


def test_client_is_bound_to_the_server(kube_server: ApiServer) -> None:
    client = kube_server.client()
    try:
        assert client.config.server == kube_server.url
        assert client.version()["major"] == "1"
    finally:
        client.close()


def test_kube_fixture_talks_to_the_embedded_server(kube: Any) -> None:
    created = kube.resource("configmaps").create(configmap("from-fixture"))
    assert created["metadata"]["namespace"] == kube.namespace
    assert json.loads(json.dumps(created))["metadata"]["uid"]


def test_bad_switch_values_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="aggregated_discovery"):
        ApiServer(aggregated_discovery="v3")


def test_a_body_past_the_real_limit_is_413_without_being_read(kube_server: ApiServer) -> None:
    import socket

    from dynakube.apiserver.http.handler import MAX_BODY_BYTES

    host, port = kube_server.url.removeprefix("http://").split(":")
    for framing in (f"Content-Length: {MAX_BODY_BYTES + 1}",
                    "Transfer-Encoding: chunked"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: Bearer {kube_server.token}\r\n"
                         f"Content-Type: application/json\r\n{framing}\r\n\r\n".encode())
            if framing.startswith("Transfer"):
                sock.sendall(b"%x\r\n" % (MAX_BODY_BYTES + 1))
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
        assert json.loads(body) == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"Request entity too large: limit is {MAX_BODY_BYTES}",
            "reason": "RequestEntityTooLarge", "code": 413}
    assert requests.post(kube_server.url + "/api/v1/namespaces/default/configmaps",
                         json={"metadata": {"name": "fits"}, "data": {"a": "x" * 100_000}},
                         headers={"Authorization": f"Bearer {kube_server.token}"},
                         timeout=10).status_code == 201


def test_version_is_served_with_and_without_a_trailing_slash() -> None:
    import requests

    from dynakube.testing import ApiServer

    with ApiServer() as server:
        bodies = [requests.get(server.url + path, timeout=10).json()
                  for path in ("/version", "/version/")]
    assert bodies[0] == bodies[1] and bodies[0]["major"] == "1"
