"""Raw HTTP against the embedded API server, and the real server's recorded answers.

The server tests speak plain HTTP (``requests``, not the dynakube client) so that they check
the wire exactly: status codes, headers, bodies. :class:`RawKube` is that one helper;
:func:`configmap` builds the object most of them create; :func:`recorded` reads
``../shared/k8s-api`` (the recordings of a real kube-apiserver 1.36) and skips the test when
the folder is absent, as it is in a fresh clone.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from dynakube.testing import ApiServer

__all__ = ["CM", "SHARED", "RawKube", "behaviour", "configmap", "kinds_entry", "recorded",
           "session", "shared_file"]

CM = "/api/v1/namespaces/default/configmaps"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "k8s-api"


def session(server: ApiServer, token: str | None = None) -> requests.Session:
    """A session that sends ``token`` (the server's own by default) and ignores the
    environment's proxies."""
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {token or server.token}"
    return s


def configmap(name: str, data: dict[str, str] | None = None, *,
              labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    """A ConfigMap body; ``meta`` goes into its metadata."""
    metadata: dict[str, Any] = {"name": name, **meta}
    if labels is not None:
        metadata["labels"] = labels
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    if data is not None:
        body["data"] = data
    return body


class RawKube:
    """Requests to one embedded server, with its token; every method returns what was
    answered, except :meth:`create`, which insists on a ``201``."""

    def __init__(self, server: ApiServer, token: str | None = None):
        self.server = server
        self.url = server.url
        self.s = session(server, token)

    def __call__(self, method: str, path: str, body: Any = None, *,
                 ctype: str = "application/json", **params: Any) -> requests.Response:
        """``body`` is sent as is when it is bytes or text, as JSON otherwise."""
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        return self.s.request(method, self.url + path, data=data, params=params,
                              headers={"Content-Type": ctype})

    def get(self, path: str, accept: str = "application/json", **params: Any
            ) -> requests.Response:
        return self.s.get(self.url + path, params=params, headers={"Accept": accept})

    def create(self, path: str, body: Any) -> dict[str, Any]:
        answer = self("POST", path, body)
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def names(self, path: str, **params: Any) -> list[str]:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return [i["metadata"]["name"] for i in answer.json()["items"]]

    def stream(self, path: str = CM, **params: Any) -> requests.Response:
        """An open watch (``timeoutSeconds`` 5 unless given); use it as a context manager."""
        params.setdefault("timeoutSeconds", "5")
        return self.s.get(self.url + path, params={"watch": "true", **params}, stream=True,
                          timeout=10)

    def events(self, path: str = CM, **params: Any) -> list[dict[str, Any]]:
        """Every event of a watch, read until the server ends it."""
        with self.stream(path, **params) as answer:
            assert answer.status_code == 200, answer.text
            return [json.loads(line) for line in answer.iter_lines() if line]


def shared_file(relative: str) -> Path:
    """A file under ``../shared/k8s-api``; the test skips when it is not there."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is not available (a fresh clone has no ../shared)")
    return path


def recorded(relative: str) -> Any:
    """A recorded answer of the real server, ``relative`` to ``k8s-api/v1.36``."""
    return json.loads(shared_file(f"v1.36/{relative}").read_text())


@functools.cache
def _behaviour() -> dict[str, Any]:
    return json.loads((SHARED / "v1.36" / "behaviour.json").read_text())  # type: ignore[no-any-return]


@functools.cache
def _kinds() -> dict[str, Any]:
    return json.loads((SHARED / "v1.36" / "kinds.json").read_text())  # type: ignore[no-any-return]


def kinds_entry(key: str) -> dict[str, Any]:
    """The ``kinds.json`` entry ``key`` (the file read once); skips without the recordings."""
    shared_file("v1.36/kinds.json")
    return _kinds()[key]  # type: ignore[no-any-return]


def behaviour(name: str | None = None) -> Any:
    """``behaviour.json`` (read once), or its entry ``name``; skips without the recordings."""
    shared_file("v1.36/behaviour.json")
    whole = _behaviour()
    return whole if name is None else whole[name]
