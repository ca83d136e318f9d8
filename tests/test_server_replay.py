"""Replay the recorded real-server calls against the embedded server and compare answers.

``../shared/k8s-api/record_behaviour.py`` makes exactly the calls behind ``behaviour.json``;
run against the embedded server, every status code and ``reason`` must match the recording,
and messages must match wherever they do not depend on resourceVersions or timing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import requests
import yaml
from rawhttp import behaviour, shared_file

from dynakube.testing import ApiServer

# Messages that embed numbers the recording's cluster had (resourceVersions, compaction points).
_NUMBERS = re.compile(r"\d+")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    want = behaviour()
    out = tmp_path_factory.mktemp("replay")
    with ApiServer() as server:
        crd = yaml.safe_load(shared_file("manifests/widget-crd.yaml").read_text())
        answer = requests.post(server.url + "/apis/apiextensions.k8s.io/v1/"
                               "customresourcedefinitions", json=crd,
                               headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
        assert answer.status_code == 201, answer.text
        proc = subprocess.run(
            [sys.executable, str(shared_file("record_behaviour.py")), server.url, server.token, "",
             str(out)], capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"})
        assert proc.returncode == 0, proc.stderr
    got = json.loads((out / "behaviour.json").read_text())
    return want, got


def _calls(recording: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in recording.items() if isinstance(v, dict) and "status" in v
                  and "body" in v)


def test_every_recorded_call_was_replayed(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    assert sorted(want) == sorted(got)


def test_status_codes_and_reasons_match(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    mismatches = []
    for name in _calls(want):
        w, g = want[name], got[name]
        w_reason = w["body"].get("reason") if isinstance(w["body"], dict) else None
        g_reason = g["body"].get("reason") if isinstance(g["body"], dict) else None
        if (w["status"], w_reason) != (g["status"], g_reason):
            mismatches.append((name, w["status"], w_reason, g["status"], g_reason))
    assert mismatches == []


def test_error_messages_match(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    for name in _calls(want):
        w, g = want[name]["body"], got[name]["body"]
        if isinstance(w, dict) and w.get("kind") == "Status":
            assert _NUMBERS.sub("N", g["message"]) == _NUMBERS.sub("N", w["message"]), name
            assert g.get("details", {}).get("causes") == w.get("details", {}).get("causes"), name
        elif isinstance(w, str):
            assert g == w, name


def test_content_types_and_warnings_match(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    for name in _calls(want):
        assert got[name]["headers"] == want[name]["headers"], name


def test_watch_streams_have_the_recorded_shape(
        replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    want, got = replayed
    assert got["watch_list_status"] == want["watch_list_status"] == 200
    too_old = got["watch_too_old_resource_version"]
    assert too_old["status"] == 200
    [line] = too_old["lines"]
    assert line["type"] == "ERROR"
    assert {k: v for k, v in line["object"].items() if k != "message"} == {
        k: v for k, v in want["watch_too_old_resource_version"]["lines"][0]["object"].items()
        if k != "message"}
    assert re.fullmatch(r"too old resource version: 1 \(\d+\)", line["object"]["message"])

    initial = got["watch_list_send_initial_events"]["events"]
    marker = [e for e in initial if e["type"] == "BOOKMARK"
              and e["object"]["metadata"].get("annotations")]
    assert marker and marker[0]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}
    assert set(marker[0]["object"]) == {"apiVersion", "kind", "metadata"}
    before = initial[:initial.index(marker[0])]
    assert before and {e["type"] for e in before} == {"ADDED"}

    resumed = got["watch_stream_from_resource_version"]["events"]
    names = [(e["type"], e["object"]["metadata"].get("name")) for e in resumed]
    assert names[:4] == [("MODIFIED", "cm1")] * 4
    assert ("ADDED", "watched") in names and ("DELETED", "watched") in names
    assert names[-1] == ("BOOKMARK", None)


def test_managed_fields_match(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Every answer's managedFields (applies, patches, creates): manager, operation,
    version, subresource and field set exactly; their times differ."""
    want, got = replayed

    def entries(answer: dict[str, Any]) -> list[dict[str, Any]] | None:
        body = answer.get("body")
        meta = body.get("metadata") if isinstance(body, dict) else None
        managed = meta.get("managedFields") if isinstance(meta, dict) else None
        if managed is None:
            return None
        return [{k: v for k, v in e.items() if k != "time"} for e in managed]

    compared = [key for key in _calls(want) if entries(want[key]) is not None]
    assert [key for key in compared if entries(got[key]) != entries(want[key])] == []
    assert len(compared) >= 10
