"""Secrets stay out of every message: reprs, exceptions, connection errors and ``-v`` logs.

A token with a line break (from a kubeconfig, a token file or an exec plugin) is refused up
front without being echoed; a server URL with ``user:pass@`` in it is refused wherever a
config is made, with the password hidden.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynakube.apiserver.server import ApiServer
from dynakube.cli import main
from dynakube.client import Client
from dynakube.config import ClusterConfig, ExecConfig, load_config
from dynakube.errors import ConfigError, TransportError
from dynakube.request import ApiRequest
from dynakube.transport import Transport

SECRET = "s3cr3t-TOKEN-value"
PASSWORD = "pa55-WORD-value"
GET = ApiRequest("GET", "/api/v1/namespaces")


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    api = ApiServer(token=SECRET).start()
    try:
        yield api
    finally:
        api.stop()


def _kubeconfig(path: Path, *, server: str, user: str) -> Path:
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server}
users:
- name: u
  user:
{user}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
""")
    return path


def _assert_hidden(text: str) -> None:
    assert SECRET not in text and PASSWORD not in text, text


# --- tokens with line breaks --------------------------------------------------------------


@pytest.mark.parametrize("scalar", [
    f'"{SECRET}\\r\\nX-Injected: 1"',  # CR/LF inside
    f"|\n      {SECRET}",  # a YAML block keeps the trailing newline
])
def test_a_kubeconfig_token_with_a_line_break_is_refused_unechoed(
        tmp_path: Path, scalar: str) -> None:
    path = _kubeconfig(tmp_path / "config", server="https://k.example",
                       user=f"    token: {scalar}")
    with pytest.raises(ConfigError, match=r'users\["u"\]\.user\.token: the token contains '
                                          r"a line break") as info:
        load_config(str(path))
    _assert_hidden(str(info.value))
    with pytest.raises(ConfigError) as via_client:
        Client(kubeconfig=str(path))
    _assert_hidden(str(via_client.value))


def test_a_hand_made_config_with_such_a_token_is_refused_by_the_transport(
        server: ApiServer) -> None:
    config = ClusterConfig(server=server.url, token=SECRET + "\nX-Injected: 1")
    with pytest.raises(ConfigError, match="line break") as info:
        Transport(config)
    _assert_hidden(str(info.value))
    _assert_hidden(repr(config))


def test_a_token_file_with_a_line_break_inside_is_refused(server: ApiServer,
                                                          tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(f"{SECRET}\r\nX-Injected: 1\n")
    with Transport(ClusterConfig(server=server.url, token_file=str(token))) as t:
        with pytest.raises(ConfigError, match="line break") as info:
            t.send(GET)
    _assert_hidden(str(info.value))


def test_an_exec_plugin_token_with_a_line_break_is_refused(server: ApiServer,
                                                           tmp_path: Path) -> None:
    answer = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
              "status": {"token": SECRET + "\r\nX-Injected: 1"}}
    script = tmp_path / "plugin.py"
    script.write_text(f"print({json.dumps(json.dumps(answer))})\n")
    config = ClusterConfig(server=server.url,
                           exec=ExecConfig(command=sys.executable, args=(str(script),)))
    with Transport(config) as t:
        with pytest.raises(ConfigError, match="exec plugin .* line break") as info:
            t.send(GET)
    _assert_hidden(str(info.value))
    assert info.value.__cause__ is None


def test_a_header_that_cannot_be_sent_is_named_not_quoted(server: ApiServer) -> None:
    config = ClusterConfig(server=server.url, token=SECRET, impersonate="jane\r\nX-Evil: 1")
    with Transport(config) as t, pytest.raises(ConfigError, match="Impersonate-User") as info:
        t.send(GET)
    _assert_hidden(str(info.value))
    assert "X-Evil" not in str(info.value)


# --- passwords in the server URL ----------------------------------------------------------


def test_a_kubeconfig_server_url_with_a_password_is_refused_and_hidden(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config", server=f"https://admin:{PASSWORD}@k.example:6443",
                       user="    username: admin")
    with pytest.raises(ConfigError, match=r'clusters\["c"\]\.cluster\.server: the server URL '
                                          r"'https://admin:<hidden>@k.example:6443' has "
                                          "credentials") as info:
        load_config(str(path))
    _assert_hidden(str(info.value))
    with pytest.raises(ConfigError) as via_client:  # repr(Client) never gets to exist
        Client(kubeconfig=str(path))
    _assert_hidden(str(via_client.value))


@pytest.mark.parametrize("url", [f"https://admin:{PASSWORD}@k.example",
                                 f"http://{SECRET}@127.0.0.1:8080/",
                                 f"admin:{PASSWORD}@k.example:6443",
                                 f"https://admin:{PASSWORD}@k.example:99999"])
def test_every_way_of_making_a_config_refuses_url_credentials(url: str) -> None:
    for make in (lambda: ClusterConfig(server=url),
                 lambda: ClusterConfig.for_server(url),
                 lambda: Client(ClusterConfig(server=url))):
        with pytest.raises(ConfigError, match="has credentials") as info:
            make()
        _assert_hidden(str(info.value))


def test_repr_of_config_and_client_hide_the_proxy_password(server: ApiServer) -> None:
    config = ClusterConfig(server=server.url, token=SECRET,
                           proxy_url=f"http://proxy:{PASSWORD}@127.0.0.1:9")
    _assert_hidden(repr(config))
    with Client(config) as kube:
        _assert_hidden(repr(kube))
        _assert_hidden(repr(kube.transport))


def test_connection_errors_through_a_proxy_do_not_show_its_password() -> None:
    config = ClusterConfig(server="http://127.0.0.1:9", token=SECRET,
                           proxy_url=f"http://proxy:{PASSWORD}@127.0.0.1:9")
    with Transport(config, connect_timeout=2) as t:
        with pytest.raises(TransportError) as info:
            t.send(ApiRequest("POST", "/api/v1/namespaces", body=b"{}"))
    text = str(info.value)
    error: BaseException | None = info.value
    while error is not None:  # the whole chain a traceback would print
        text += "\n" + str(error)
        error = error.__cause__ or error.__context__
    _assert_hidden(text)


# --- -v debug logs ----------------------------------------------------------------------


def test_debug_logs_show_requests_but_no_secret(server: ApiServer, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    path = _kubeconfig(tmp_path / "config", server=server.url, user=f"    token: {SECRET}")
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's too
    out, err = io.StringIO(), io.StringIO()
    assert main(["--kubeconfig", str(path), "-v", "-v", "-v", "api-resources"],
                stdout=out, stderr=err) == 0, err.getvalue()
    assert "configmaps" in out.getvalue()
    assert "GET" in err.getvalue() + caplog.text  # the log is on
    _assert_hidden(err.getvalue() + caplog.text)


def test_cli_reports_url_credentials_in_one_line_without_the_password(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "config", server=f"https://admin:{PASSWORD}@127.0.0.1:9",
                       user="    username: admin")
    out, err = io.StringIO(), io.StringIO()
    assert main(["--kubeconfig", str(path), "-v", "get", "namespaces"],
                stdout=out, stderr=err) == 1
    assert err.getvalue().count("\n") == 1 and "has credentials" in err.getvalue()
    _assert_hidden(err.getvalue())

