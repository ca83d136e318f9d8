"""``python -m dynakube.testing serve`` as a person runs it: a subprocess, its first lines,
``--seed``'s sample content read back over the wire, and one ``error:`` line (exit 1, no
traceback) for a busy port or a certificate file that is missing or not PEM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynakube.client import ALL, Client

BOUND = 60  # seconds: a guard against hanging


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dynakube.testing", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def _fails(*args: str) -> str:
    """Run serve expecting a refusal; returns its stderr."""
    proc = _serve(*args)
    out, err = proc.communicate(timeout=BOUND)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Client]:
    proc = _serve("--seed")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("dynakube embedded API server at http://127.0.0.1:"), first
        line = proc.stdout.readline()
        assert line.startswith("kubeconfig: "), line
        with Client(kubeconfig=line.split(": ", 1)[1].strip(),
                    cache_dir=str(tmp_path / "cache")) as kube:
            yield kube
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=BOUND)
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_seed_loads_the_sample_widgets_and_deployments(seeded: Client) -> None:
    widgets = seeded.resource("widgets").list(namespace=ALL)["items"]
    assert sorted(w["metadata"]["name"] for w in widgets) == ["alpha", "beta", "gamma"]
    deployments = seeded.resource("deployments").list(namespace=ALL)["items"]
    found = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments}
    assert len(found) >= 3 and {"shop", "tools"} <= {ns for ns, _ in found}


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _fails("--port", str(port))
    assert f"port {port}" in err and "already in use" in err


def test_certificate_files_missing_or_not_pem_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    err = _fails("--cert-file", str(missing), "--key-file", str(missing))
    assert str(missing) in err and "does not exist" in err
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    err = _fails("--cert-file", str(junk), "--key-file", str(junk))
    assert "PEM" in err
