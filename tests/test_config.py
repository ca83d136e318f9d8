"""ClusterConfig as a value: repr without secrets, for_server, in-cluster, load_config fallback."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import dynakube.config.cluster
from dynakube.config import ClusterConfig, ExecConfig, load_config
from dynakube.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CA = str(FIXTURES / "pki" / "ca.crt")


# --- the value -----------------------------------------------------------------------------


def test_repr_never_shows_secrets() -> None:
    config = ClusterConfig(
        server="https://k.example",
        token="tok-SECRET-1",
        password="pw-SECRET-2",
        username="admin",
        client_key="/keys/SECRET-3.key",
        client_key_data=b"KEY-SECRET-4",
        client_certificate_data=b"cert",
        proxy_url="http://proxyuser:proxy-SECRET-5@proxy.example:3128",
        exec=ExecConfig(command="helper", env=(("API_KEY", "env-SECRET-6"),)),
    )
    for text in (repr(config), str(config)):
        assert "SECRET" not in text
        assert "token=<hidden>" in text and "password=<hidden>" in text
        assert "client_key=<hidden>" in text and "client_key_data=<hidden>" in text
        assert "proxyuser:<hidden>@proxy.example:3128" in text
        assert "API_KEY=<hidden>" in text
        assert "username='admin'" in text and "client_certificate_data=<4 bytes>" in text
    assert "SECRET" not in repr(config.exec)


def test_repr_shows_what_is_set() -> None:
    text = repr(ClusterConfig(server="https://k.example", namespace="apps", token_file="/t"))
    assert text == ("ClusterConfig(server='https://k.example', namespace='apps', "
                    "token_file='/t')")


def test_config_is_immutable_and_hashable() -> None:
    config = ClusterConfig(server="https://k.example", token="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.token = "other"  # type: ignore[misc]
    assert config == ClusterConfig(server="https://k.example", token="t")
    assert len({config, ClusterConfig(server="https://k.example", token="t")}) == 1


def test_importing_config_does_not_import_yaml() -> None:
    code = ("import sys, dynakube, dynakube.config, dynakube.config.kubeconfig; "
            "assert 'yaml' not in sys.modules, 'yaml imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- for_server ----------------------------------------------------------------------------


def test_for_server_basic() -> None:
    config = ClusterConfig.for_server("https://k.example:6443/", "tok", CA, namespace="apps")
    assert config.server == "https://k.example:6443"
    assert (config.token, config.certificate_authority, config.namespace) == ("tok", CA, "apps")
    assert config.source == "ClusterConfig.for_server()"


def test_for_server_normalizes_and_accepts_pem_text() -> None:
    config = ClusterConfig.for_server("127.0.0.1:8443", ca_data="-----BEGIN CERTIFICATE-----")
    assert config.server == "https://127.0.0.1:8443"
    assert config.certificate_authority_data == b"-----BEGIN CERTIFICATE-----"
    assert ClusterConfig.for_server("127.0.0.1:8080").server == "http://127.0.0.1:8080"
    # client-go's DefaultServerURL: a tls-server-name alone also means TLS
    assert ClusterConfig.for_server("127.0.0.1:8443",
                                    tls_server_name="k.example").server == "https://127.0.0.1:8443"


def test_for_server_client_certificate_files() -> None:
    config = ClusterConfig.for_server(
        "https://k.example", ca_file=Path(CA), client_certificate=FIXTURES / "pki" / "client.crt",
        client_key=FIXTURES / "pki" / "client.key", tls_server_name="localhost")
    assert config.client_certificate == str(FIXTURES / "pki" / "client.crt")
    assert config.client_key == str(FIXTURES / "pki" / "client.key")
    assert config.tls_server_name == "localhost"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "t", "username": "u", "password": "p"},
         r"for_server\(token=\.\.\.\): more than one authentication method"),
        ({"ca_file": "/no/such/ca.crt"}, r"for_server\(ca_file=\.\.\.\): cannot read"),
        ({"ca_file": CA, "insecure_skip_tls_verify": True}, r"cannot be combined"),
        ({"client_certificate": CA}, r"needs a key"),
        ({"token_file": "/no/such/token"}, r"for_server\(token_file=\.\.\.\): cannot read"),
        # client-go counts tokenFile as the "token" method: with basic auth that is two
        ({"token_file": CA, "username": "u", "password": "p"},
         r"more than one authentication method found \(token, basicAuth\)"),
        ({"proxy_url": "ftp://proxy"}, r"invalid proxy URL"),
        ({"proxy_url": "http://[::1"}, r"invalid proxy URL"),
    ],
)
def test_for_server_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ClusterConfig.for_server("https://k.example", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["", "   ", "https://", "ftp://k.example", "http://[::1",
                                 "https://k.example:99999"])
def test_for_server_rejects_unusable_urls(url: str) -> None:
    with pytest.raises(ConfigError, match=r"for_server\(url=\.\.\.\)"):
        ClusterConfig.for_server(url)


# --- in-cluster ----------------------------------------------------------------------------


@pytest.fixture
def service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("sa-token\n")
    (directory / "ca.crt").write_text(Path(CA).read_text())
    (directory / "namespace").write_text("team-x\n")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return directory


def test_incluster(service_account: Path) -> None:
    config = ClusterConfig.from_incluster(service_account)
    assert config.server == "https://10.96.0.1:443"
    assert config.token_file == str(service_account / "token")
    assert config.token is None  # re-read by the transport: it rotates
    assert config.certificate_authority == str(service_account / "ca.crt")
    assert config.namespace == "team-x"
    assert config.source == "in-cluster"


def test_incluster_ipv6_host_is_bracketed(
    service_account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    assert ClusterConfig.from_incluster(service_account).server == "https://[fd00:10:96::1]:6443"


def test_incluster_namespace_precedence(
    service_account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "from-env")
    assert ClusterConfig.from_incluster(service_account).namespace == "from-env"
    monkeypatch.delenv("POD_NAMESPACE")
    (service_account / "namespace").unlink()
    assert ClusterConfig.from_incluster(service_account).namespace == "default"


def test_incluster_without_ca_uses_the_system_trust(service_account: Path) -> None:
    (service_account / "ca.crt").unlink()
    assert ClusterConfig.from_incluster(service_account).certificate_authority is None


def test_incluster_errors(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (service_account / "token").unlink()
    with pytest.raises(ConfigError, match=r"service-account token .*token: cannot read"):
        ClusterConfig.from_incluster(service_account)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT")
    with pytest.raises(ConfigError, match="not running inside a cluster"):
        ClusterConfig.from_incluster(service_account)


def test_incluster_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(dynakube.config.cluster, "SERVICE_ACCOUNT_DIR", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=str(tmp_path / "absent" / "token")):
        ClusterConfig.from_incluster()


# --- load_config's fallback to in-cluster ------------------------------------------------


@pytest.fixture
def in_pod(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dynakube.config.cluster, "SERVICE_ACCOUNT_DIR", str(service_account))
    return service_account


def test_load_config_falls_back_to_incluster_without_kubeconfig(in_pod: Path) -> None:
    config = load_config()
    assert config.source == "in-cluster"
    assert config.token_file == str(in_pod / "token")


def test_load_config_prefers_a_kubeconfig_in_a_pod(
    in_pod: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(FIXTURES / "kubeconfig" / "full.yaml"))
    assert load_config().context == "full"


def test_load_config_kubeconfig_selecting_no_context_falls_back_like_kubectl(
    in_pod: Path,
) -> None:
    c = str(FIXTURES / "kubeconfig" / "other" / "c.yaml")  # no current-context
    assert load_config(c).source == "in-cluster"
    assert load_config(c, context="c-ctx").context == "c-ctx"


def test_load_config_broken_current_context_is_not_hidden_by_the_fallback(
    in_pod: Path,
) -> None:
    with pytest.raises(ConfigError, match="context 'ghost' does not exist"):
        load_config(str(FIXTURES / "kubeconfig" / "unusable.yaml"))


def test_load_config_context_with_nothing_found(in_pod: Path) -> None:
    with pytest.raises(ConfigError, match=r"context 'prod' does not exist.*\(none\)"):
        load_config(context="prod")


def test_load_config_nothing_found_says_what_was_tried() -> None:
    with pytest.raises(ConfigError) as info:
        load_config()
    text = str(info.value)
    assert str(Path.home() / ".kube" / "config") + " (does not exist)" in text
    assert "KUBERNETES_SERVICE_HOST" in text


def test_load_config_in_a_pod_without_token_is_nothing_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setattr(dynakube.config.cluster, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="no service-account token at"):
        load_config()


def test_a_client_key_without_certificate_is_dropped() -> None:
    key = str(FIXTURES / "pki" / "client.key")
    assert ClusterConfig.for_server("https://k.example", client_key=key).client_key is None
