"""The embedded server under load and hostile input (issue 13, items 4, 5 and 10).

Each case is what a fault-injection harness found: connection resets under 20 concurrent
clients, a 500 for a non-ASCII token, NaN stored and served back as invalid JSON, a 501-byte
YAML alias bomb that took 76 s and 1 GB, a watch from a future resourceVersion, and a plain
HTTP ``serve`` that lets anyone in as admin without saying so.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from rawhttp import CM, RawKube, configmap

from dynakube.apiserver.seed import WIDGET_CRD
from dynakube.testing import ApiServer

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.dynakube.io/v1/namespaces/default/widgets"


@pytest.fixture
def k(kube_server: ApiServer) -> RawKube:
    return RawKube(kube_server)


def _strict_json(text: str) -> Any:
    """Parse as a JSON parser that follows RFC 8259 does: NaN and Infinity are not JSON."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


# -- the listen backlog ---------------------------------------------------------------------

def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dynakube.testing", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


CLIENTS = 32


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP (POSIX)")
def test_the_listen_backlog_queues_many_clients_while_the_server_is_busy() -> None:
    """With socketserver's backlog of 5, a server that is busy for a moment (here: stopped)
    holds only 6 connections; the rest are dropped, and under load some are reset."""
    proc = _serve()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        address = urlsplit(url)
        host, port = address.hostname or "127.0.0.1", address.port or 0
        os.kill(proc.pid, signal.SIGSTOP)  # accepts nothing: only the kernel's queue holds
        socks: list[socket.socket] = []
        try:
            for _ in range(CLIENTS):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex((host, port))
                socks.append(s)
            pending, deadline = set(socks), time.monotonic() + 5
            while pending and time.monotonic() < deadline:
                _, ready, _ = select.select([], list(pending), [], deadline - time.monotonic())
                pending.difference_update(ready)
            connected = [s for s in socks if s not in pending
                         and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
            assert len(connected) == CLIENTS
            os.kill(proc.pid, signal.SIGCONT)
            for s in socks:
                s.setblocking(True)
                s.settimeout(10)
                s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            for s in socks:
                assert s.recv(64).startswith(b"HTTP/1.1 200 "), "a queued client got no answer"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
            for s in socks:
                s.close()
    finally:
        _stop(proc)


# -- authentication -------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["tök", "\u00e9t\u00e9", "Zm9v\u00ff"])
def test_a_non_ascii_bearer_token_is_401(kube_server: ApiServer, token: str) -> None:
    answer = requests.get(kube_server.url + CM, timeout=10,
                          headers={"Authorization": b"Bearer " + token.encode("utf-8")})
    assert answer.status_code == 401
    assert answer.json()["reason"] == "Unauthorized"


# -- NaN and Infinity -----------------------------------------------------------------------

@pytest.fixture
def free_widgets(k: RawKube) -> RawKube:
    """The Widget CRD, whose ``spec.config`` keeps any value: what a NaN would be stored in."""
    assert k("POST", CRDS, WIDGET_CRD).status_code == 201
    return k


def _widget(extra: str) -> str:
    return ('{"apiVersion":"example.dynakube.io/v1","kind":"Widget","metadata":{"name":"w"},'
            '"spec":{"size":"small","config":{"x":' + extra + '}}}')


@pytest.mark.parametrize(("literal", "problem"), [
    ("NaN", "invalid character 'N' looking for beginning of value"),
    ("Infinity", "invalid character 'I' looking for beginning of value"),
    ("-Infinity", "invalid character 'I' in numeric literal"),
    ("1e999", "json: cannot unmarshal number 1e999 into Go value of type float64"),
])
def test_nan_and_infinity_in_json_bodies_are_400(free_widgets: RawKube, literal: str,
                                                problem: str) -> None:
    k = free_widgets
    answer = k("POST", WIDGETS, _widget(literal))
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "BadRequest"
    assert problem in answer.json()["message"]
    assert k("POST", WIDGETS, _widget("1.5")).status_code == 201
    patched = k("PATCH", WIDGETS + "/w", '{"spec":{"config":{"x":' + literal + '}}}',
                ctype="application/merge-patch+json")
    assert patched.status_code == 400, patched.text
    assert _strict_json(k("GET", WIDGETS + "/w").text)["spec"]["config"] == {"x": 1.5}
    assert _strict_json(k("GET", WIDGETS).text)["items"][0]["spec"]["config"] == {"x": 1.5}


@pytest.mark.parametrize(("literal", "go"), [(".nan", "NaN"), (".inf", "+Inf"), ("-.inf", "-Inf")])
def test_nan_and_infinity_in_yaml_bodies_are_400(free_widgets: RawKube, literal: str,
                                                go: str) -> None:
    body = ("apiVersion: example.dynakube.io/v1\nkind: Widget\nmetadata: {name: y}\n"
            f"spec: {{size: small, config: {{x: {literal}}}}}\n")
    answer = free_widgets("POST", WIDGETS, body, ctype="application/yaml")
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == \
        f"error converting YAML to JSON: json: unsupported value: {go}"
    assert free_widgets("GET", WIDGETS + "/y").status_code == 404


# -- YAML alias bombs -----------------------------------------------------------------------

def _alias_bomb(levels: int) -> str:
    """"Billion laughs": each level a list of nine aliases of the one before."""
    lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}',
             'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [5, 9])  # 9**9 = 387 million strings once expanded
def test_a_yaml_alias_bomb_is_refused_as_kube_apiserver_refuses_it(k: RawKube,
                                                                   levels: int) -> None:
    assert len(_alias_bomb(levels).encode()) <= 501  # the size the harness sent
    answer = k("POST", CM, _alias_bomb(levels), ctype="application/yaml")
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json()["message"] == \
        "error converting YAML to JSON: yaml: document contains excessive aliasing"
    applied = k("PATCH", CM + "/bomb", _alias_bomb(levels), ctype="application/apply-patch+yaml",
                fieldManager="m")
    assert applied.status_code == 400, applied.text[:200]
    assert "yaml: document contains excessive aliasing" in applied.json()["message"]
    assert k("GET", CM + "/bomb").status_code == 404


def test_yaml_with_a_few_aliases_is_still_accepted(k: RawKube) -> None:
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: anchors\n"
            "  labels: &labels {app: web, tier: front}\n  annotations: *labels\n"
            "data: {a: '1'}\n")
    answer = k("POST", CM, body, ctype="application/yaml")
    assert answer.status_code == 201, answer.text
    meta = answer.json()["metadata"]
    assert meta["labels"] == meta["annotations"] == {"app": "web", "tier": "front"}


# -- watches from a future resourceVersion --------------------------------------------------

def _current_rv(k: RawKube) -> int:
    return int(k.get(CM).json()["metadata"]["resourceVersion"])


def test_a_watch_from_a_future_resource_version_sends_only_what_comes_after_it(
        k: RawKube) -> None:
    """kube-apiserver's watch cache accepts it and sends events past that resourceVersion
    only (the cacher's ``process`` skips the rest), so objects made before it is reached are
    never seen: that is what a client must notice and relist for."""
    future = _current_rv(k) + 3
    with k.stream(resourceVersion=str(future), timeoutSeconds="2",
                  allowWatchBookmarks="true") as answer:
        assert answer.status_code == 200
        made = [k.create(CM, configmap(f"f{n}")) for n in range(5)]
        events = [json.loads(line) for line in answer.iter_lines() if line]
    after = [m["metadata"]["name"] for m in made
             if int(m["metadata"]["resourceVersion"]) > future]
    assert after == ["f3", "f4"]
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events
            if e["type"] != "BOOKMARK"] == [("ADDED", "f3"), ("ADDED", "f4")]
    assert all(int(e["object"]["metadata"]["resourceVersion"]) > future for e in events)


def test_a_watch_list_from_a_future_resource_version_ends_with_too_large(
        kube_server: ApiServer, k: RawKube) -> None:
    kube_server.options.resource_version_wait = 0.2
    current = _current_rv(k)
    events = k.events(resourceVersion=str(current + 100), sendInitialEvents="true",
                      resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    assert [e["type"] for e in events] == ["ERROR"]
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 504, "Timeout")
    assert status["message"] == \
        f"Timeout: Too large resource version: {current + 100}, current: {current}"
    assert status["details"] == {"causes": [{"reason": "ResourceVersionTooLarge",
                                             "message": "Too large resource version"}],
                                 "retryAfterSeconds": 1}


def test_a_watch_list_from_a_reached_resource_version_is_served(kube_server: ApiServer,
                                                                 k: RawKube) -> None:
    made = k.create(CM, configmap("here"))
    events = k.events(resourceVersion=made["metadata"]["resourceVersion"],
                      sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                      allowWatchBookmarks="true", timeoutSeconds="1")
    assert ("ADDED", "here") in [(e["type"], e["object"]["metadata"].get("name"))
                                 for e in events]
    assert events[-1]["type"] == "BOOKMARK"


# -- the standalone server ------------------------------------------------------------------

def test_serve_without_require_token_warns_loudly_and_help_documents_it() -> None:
    proc = _serve()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert requests.get(url + "/api/v1/namespaces", timeout=10).status_code == 200
    finally:
        _, err = _stop(proc)
    assert "WARNING" in err and "WITHOUT A TOKEN ARE ADMIN" in err and "--require-token" in err
    proc = _serve("--require-token")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert requests.get(url + "/api/v1/namespaces", timeout=10).status_code == 401
    finally:
        _, err = _stop(proc)
    assert "WARNING" not in err
    shown = subprocess.run([sys.executable, "-m", "dynakube.testing", "serve", "--help"],
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    assert "--require-token" in shown.stdout and "others can reach" in " ".join(
        shown.stdout.split())
