"""Running the installed ``kubectl`` against an embedded server over HTTPS, bounded in time.

kubectl is the acceptance client of the embedded server: what it does there must be what it
does on a real cluster. Tests import :data:`needs_kubectl` (a clean skip when kubectl is not
installed) and :class:`Kubectl`, which always names the server's own kubeconfig (never the
developer's: ``KUBECONFIG`` is removed from the child's environment) and bounds every call
with ``--request-timeout`` and a subprocess timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pytest

__all__ = ["KUBECTL", "Kubectl", "Result", "Running", "needs_kubectl"]

KUBECTL = shutil.which("kubectl")

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

CALL_TIMEOUT = 90  # seconds for one kubectl run, whatever it waits for
REQUEST_TIMEOUT = "30s"  # for each HTTP request kubectl makes


@dataclass(frozen=True)
class Result:
    """What one kubectl run printed, and its exit code."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return (f"kubectl {' '.join(self.args)} -> exit {self.code}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}")


class Running:
    """A kubectl run started by :meth:`Kubectl.start`."""

    def __init__(self, args: tuple[str, ...], proc: subprocess.Popen[str]):
        self.args = args
        self.proc = proc

    def result(self) -> Result:
        """Wait for it (bounded like every call; killed past the bound) and say what it
        printed."""
        try:
            out, err = self.proc.communicate(timeout=CALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return Result(self.args, self.proc.returncode, out, err)


class Kubectl:
    """``kubectl --kubeconfig PATH ...`` with a private discovery cache and no outside config."""

    def __init__(self, kubeconfig: str, cache_dir: str, namespace: str | None = None):
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir
        self.namespace = namespace

    def in_namespace(self, namespace: str) -> Kubectl:
        """The same kubectl, with ``-n namespace`` on every call."""
        return Kubectl(self.kubeconfig, self.cache_dir, namespace)

    def _argv(self, args: Sequence[str]) -> list[str]:
        assert KUBECTL is not None, "use needs_kubectl on tests that run kubectl"
        base = ["--kubeconfig", self.kubeconfig, "--cache-dir", self.cache_dir,
                f"--request-timeout={REQUEST_TIMEOUT}"]
        if self.namespace:
            base += ["-n", self.namespace]
        return [KUBECTL, *base, *args]

    @staticmethod
    def _env(env: Mapping[str, str] | None) -> dict[str, str]:
        child_env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        child_env.update(env or {})
        return child_env

    def run(self, *args: str, stdin: str | None = None,
            env: Mapping[str, str] | None = None) -> Result:
        """Run kubectl; never raises for a non-zero exit (tests assert on the code)."""
        proc = subprocess.run(self._argv(args), input=stdin, capture_output=True, text=True,
                              timeout=CALL_TIMEOUT, env=self._env(env), check=False)
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def start(self, *args: str) -> Running:
        """Start kubectl in the background (a ``wait`` or a ``-w`` that must already be
        running when the test acts); :meth:`Running.result` collects it."""
        proc = subprocess.Popen(self._argv(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self._env(None))
        return Running(tuple(args), proc)

    def ok(self, *args: str, stdin: str | None = None,
           env: Mapping[str, str] | None = None) -> str:
        """Run kubectl, assert exit 0 and nothing on stderr (no warnings); return stdout."""
        result = self.run(*args, stdin=stdin, env=env)
        assert result.code == 0 and result.err == "", str(result)
        return result.out

    def fails(self, *args: str, stdin: str | None = None, code: int = 1) -> Result:
        """Run kubectl and assert it exits with ``code``."""
        result = self.run(*args, stdin=stdin)
        assert result.code == code, str(result)
        return result

    def jsonpath(self, target: Sequence[str], path: str) -> str:
        """``get TARGET -o jsonpath=PATH``: one field's value as kubectl prints it."""
        return self.ok("get", *target, "-o", f"jsonpath={path}")
