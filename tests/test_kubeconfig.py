"""Kubeconfig files: which are read, how they merge, relative paths, and every decode error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dynakube.config import ClusterConfig, list_contexts, load_config
from dynakube.config.kubeconfig import Kubeconfig
from dynakube.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
KC = FIXTURES / "kubeconfig"
A = str(KC / "merge" / "a.yaml")
B = str(KC / "merge" / "b.yaml")
C = str(KC / "other" / "c.yaml")
FULL = str(KC / "full.yaml")
CA = str(FIXTURES / "pki" / "ca.crt")


# --- merging -------------------------------------------------------------------------------


def test_two_files_first_file_wins_for_entries_and_current_context() -> None:
    kc = Kubeconfig.load([A, B])
    assert kc.files == (A, B)
    assert kc.current_context == "a-ctx"
    assert kc.current_context_origin == A
    assert kc.contexts() == ["a-ctx", "b-ctx", "b-shared", "shared-ctx"]
    shared = ClusterConfig.from_entry(kc.select("shared-ctx"))  # a's context, not b's
    assert shared.server == "https://a.example:6443"
    assert shared.namespace == "team-a"
    assert shared.cluster_name == "shared"
    assert shared.user_name == "shared-user"


def test_entries_are_taken_whole_never_merged_field_by_field() -> None:
    # b-shared (defined only in b) uses cluster "shared" and user "shared-user", which a
    # defines first: a's entries are used whole, nothing of b's versions leaks in.
    config = ClusterConfig.from_kubeconfig([A, B], context="b-shared")
    assert config.server == "https://a.example:6443"
    assert config.certificate_authority == CA
    assert config.insecure_skip_tls_verify is False
    assert config.tls_server_name is None
    assert config.token == "token-from-a"
    assert config.username is None and config.password is None


def test_reversed_order_reverses_the_winner() -> None:
    config = ClusterConfig.from_kubeconfig([B, A], context="b-shared")
    assert config.server == "https://b.example"
    assert config.insecure_skip_tls_verify is True
    assert config.tls_server_name == "b.internal"
    assert config.certificate_authority is None
    assert (config.username, config.password, config.token) == ("admin", "b-password", None)
    assert Kubeconfig.load([B, A]).current_context == "b-ctx"
    current = ClusterConfig.from_kubeconfig([B, A])
    assert (current.context, current.server, current.namespace) == (
        "b-ctx", "https://b-only.example:8443", "team-b")


def test_three_files_current_context_comes_from_the_first_file_that_sets_one() -> None:
    kc = Kubeconfig.load([C, B, A])  # c sets no current-context
    assert kc.current_context == "b-ctx"
    assert kc.current_context_origin == B
    assert kc.files == (C, B, A)
    assert ClusterConfig.from_kubeconfig([C, B, A], context="b-shared").server == (
        "https://c.example")  # c defines "shared" first now
    three = Kubeconfig.load([A, B, C])
    assert three.current_context == "a-ctx"
    assert set(three.contexts()) >= {"a-ctx", "b-ctx", "c-ctx", "shared-ctx"}
    assert ClusterConfig.from_entry(three.select("c-ctx")).server == "https://c-only.example"
    assert ClusterConfig.from_entry(three.select("b-shared")).server == "https://a.example:6443"


def test_source_lists_the_files_read() -> None:
    config = ClusterConfig.from_kubeconfig([A, str(KC / "missing.yaml"), B])
    assert config.source == os.pathsep.join([A, B])


# --- relative paths ------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_defining_file() -> None:
    alice = ClusterConfig.from_kubeconfig([A, C], context="a-ctx")
    assert alice.client_certificate == str(FIXTURES / "pki" / "client.crt")
    assert alice.client_key == str(FIXTURES / "pki" / "client.key")
    carol = ClusterConfig.from_kubeconfig([A, C], context="c-ctx")
    assert carol.token_file == str(KC / "other" / "token")  # other/, not merge/
    assert carol.certificate_authority == CA
    assert carol.token is None  # kept as a path: the transport re-reads it


def test_exec_command_with_a_separator_is_resolved_a_bare_name_is_not() -> None:
    plugin = ClusterConfig.from_kubeconfig(C, context="c-exec").exec
    assert plugin is not None
    assert plugin.command == str(FIXTURES / "exec" / "credential-plugin.py")
    assert plugin.interactive_mode == "Never"
    bare = ClusterConfig.from_kubeconfig(C, context="c-path-exec").exec
    assert bare is not None
    assert bare.command == "kubectl-credential-helper"
    assert bare.api_version == "client.authentication.k8s.io/v1beta1"
    assert bare.interactive_mode == "IfAvailable"  # v1beta1 default


def test_absolute_paths_stay_as_written(tmp_path: Path) -> None:
    token = tmp_path / "elsewhere" / "token"
    token.parent.mkdir()
    token.write_text("t")
    path = tmp_path / "kc" / "config"
    path.parent.mkdir()
    path.write_text(
        "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority: '"
        + CA + "'}}]\n"
        "users: [{name: u, user: {tokenFile: '" + str(token) + "'}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    config = ClusterConfig.from_kubeconfig(str(path))
    assert (config.certificate_authority, config.token_file) == (CA, str(token))


# --- which files: explicit > KUBECONFIG > ~/.kube/config -----------------------------------


def _home_config(text: str) -> Path:
    home = Path(os.path.expanduser("~")) / ".kube" / "config"
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text(text)
    return home


def test_kubeconfig_env_split_missing_skipped_duplicates_and_empties_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = str(KC / "does-not-exist.yaml")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["", missing, A, "", A, B]))
    kc = Kubeconfig.load()
    assert kc.files == (A, B)
    config = load_config()
    assert config.context == "a-ctx"
    assert config.source == os.pathsep.join([A, B])


def test_kubeconfig_env_hides_the_home_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _home_config(Path(FULL).read_text())
    monkeypatch.setenv("KUBECONFIG", B)
    assert load_config().context == "b-ctx"


def test_home_file_is_used_without_kubeconfig_env() -> None:
    home = _home_config(Path(FULL).read_text())
    config = load_config()
    assert config.context == "full"
    assert config.source == str(home)
    assert list_contexts() == ["certs", "certs-win-over-exec", "full", "impersonating", "plain"]


def test_explicit_path_beats_env_and_home(monkeypatch: pytest.MonkeyPatch) -> None:
    _home_config(Path(FULL).read_text())
    monkeypatch.setenv("KUBECONFIG", A)
    assert load_config(B).context == "b-ctx"
    assert load_config(Path(B), context="b-shared").server == "https://b.example"


def test_explicit_missing_file_is_an_error_even_with_a_valid_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", A)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml: the kubeconfig file does not exist"):
        load_config(str(missing))
    with pytest.raises(ConfigError, match="does not exist"):
        ClusterConfig.from_kubeconfig(missing)


def test_env_with_only_missing_files_finds_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _home_config(Path(FULL).read_text())  # not consulted: KUBECONFIG is set
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match=r"KUBECONFIG=.*gone \(does not exist\)"):
        ClusterConfig.from_kubeconfig()
    with pytest.raises(ConfigError, match="no configuration found.*KUBERNETES_SERVICE_HOST"):
        load_config()


def test_empty_files_define_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("# nothing here\n")
    kc = Kubeconfig.load([str(empty)], allow_empty=True)
    assert kc.is_empty and kc.files == ()
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        ClusterConfig.from_kubeconfig([str(empty)])
    assert ClusterConfig.from_kubeconfig([str(empty), A]).context == "a-ctx"


# --- fields --------------------------------------------------------------------------------


@pytest.mark.usefixtures("yaml_parser")
def test_every_field_of_the_full_fixture() -> None:
    config = ClusterConfig.from_kubeconfig(FULL)
    assert config.context == "full"
    assert config.namespace == "kube-system"
    assert config.server == "https://full.example:6443/prefix"  # trailing slash dropped
    assert config.certificate_authority_data == (
        b"-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n")
    assert config.tls_server_name == "kubernetes.default"
    assert config.proxy_url == "http://proxyuser:proxypass@proxy.example:3128"
    ex = config.exec
    assert ex is not None
    assert ex.command == "credential-helper"
    assert ex.args == ("get-token", "--cluster", "full")
    assert ex.env == (("HELPER_MODE", "secret-env-value"), ("EMPTY", ""))
    assert ex.api_version == "client.authentication.k8s.io/v1"
    assert ex.provide_cluster_info is True
    assert ex.interactive_mode == "IfAvailable"
    assert ex.install_hint == "install credential-helper from example.com"
    assert ex.cluster_config == {"audience": "full", "region": "1.20"}
    assert hash(config) == hash(ClusterConfig.from_kubeconfig(FULL))


def test_client_certificate_data_is_decoded() -> None:
    config = ClusterConfig.from_kubeconfig(FULL, context="certs")
    assert config.client_certificate_data == (
        b"-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n")
    assert config.client_key_data == (
        b"-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n")
    assert config.namespace == "default"
    assert config.exec is None


def test_client_certificate_wins_over_exec_as_in_client_go() -> None:
    config = ClusterConfig.from_kubeconfig(FULL, context="certs-win-over-exec")
    assert config.client_certificate_data is not None
    assert config.exec is None


@pytest.mark.usefixtures("yaml_parser")
def test_impersonation_and_number_like_names() -> None:
    config = ClusterConfig.from_kubeconfig(FULL, context="impersonating")
    assert config.cluster_name == "1.20"  # not the float 1.2
    assert config.token == "impersonator-token"
    assert config.impersonate == "jane"
    assert config.impersonate_uid == "1234"
    assert config.impersonate_groups == ("developers", "ops")
    assert config.impersonate_extra == (("reason", ("on-call",)), ("scopes", ("view", "edit")))


def test_server_without_scheme_and_context_without_user() -> None:
    plain = ClusterConfig.from_kubeconfig(FULL, context="plain")
    assert plain.server == "http://10.0.0.1:6443"  # no TLS settings: http, as client-go
    assert plain.user_name is None and plain.token is None and plain.exec is None


def test_server_without_scheme_but_with_tls_settings_is_https(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "clusters: [{name: c, cluster: {server: '10.0.0.1:6443', "
        "insecure-skip-tls-verify: true}}]\n"
        "contexts: [{name: x, context: {cluster: c}}]\n"
    )
    assert ClusterConfig.from_kubeconfig(str(path), "x").server == "https://10.0.0.1:6443"


def test_data_fields_may_be_wrapped_over_lines(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n- name: c\n  cluster:\n    server: https://x\n"
        "    certificate-authority-data: |\n      YWJj\n      ZGVm\n"
        "contexts: [{name: x, context: {cluster: c}}]\n"
    )
    assert ClusterConfig.from_kubeconfig(str(path), "x").certificate_authority_data == b"abcdef"


# --- errors --------------------------------------------------------------------------------

INVALID = [
    ("bad-yaml.yaml", r"bad-yaml\.yaml: line 7: not valid YAML"),
    ("not-mapping.yaml", r"not-mapping\.yaml: not a kubeconfig: expected a mapping.*list"),
    ("clusters-not-list.yaml", r"clusters: expected a list of named entries, found a mapping"),
    ("entry-without-name.yaml", r"users\[1\]\.name: the entry has no name"),
    ("entry-not-mapping.yaml", r"contexts\[0\]: expected a mapping"),
    ("duplicate-name.yaml", r"clusters\[1\]\.name: duplicate name 'twice'"),
    ("bad-base64.yaml", r'users\["unused"\]\.user\.client-key-data: not valid base64'),
    ("bad-padding.yaml",
     r'clusters\["unpadded"\]\.cluster\.certificate-authority-data: not valid base64'),
    ("wrong-kind.yaml", r"kind: expected 'Config', found 'Pod'"),
    ("bool-not-bool.yaml", r"insecure-skip-tls-verify: expected true or false"),
    ("server-not-string.yaml", r'clusters\["c"\]\.cluster\.server: expected a string'),
    ("user-body-list.yaml", r'users\["u"\]\.user: expected a mapping, found a list'),
    ("env-not-list.yaml", r'users\["u"\]\.user\.exec\.env: expected a list'),
    ("extra-not-mapping.yaml", r"as-user-extra: expected a mapping"),
]


@pytest.mark.parametrize(("name", "message"), INVALID)
def test_files_that_do_not_decode(name: str, message: str) -> None:
    path = str(KC / "invalid" / name)
    with pytest.raises(ConfigError, match=message) as info:
        ClusterConfig.from_kubeconfig(path)
    assert str(info.value).startswith(path + ": ")
    assert isinstance(info.value, ConfigError)


def test_a_bad_file_among_several_fails_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = str(KC / "invalid" / "bad-yaml.yaml")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([A, bad]))
    with pytest.raises(ConfigError, match="bad-yaml.yaml: line 7"):
        load_config()


UNUSABLE = [
    ("missing-cluster", r"context\.cluster: cluster 'nowhere' is not defined .*'ok'"),
    ("missing-user", r"context\.user: user 'nobody' is not defined .*defined users: .*'ok'"),
    ("no-cluster", r'contexts\["no-cluster"\]\.context\.cluster: the context names no cluster'),
    ("no-server", r'clusters\["no-server"\]\.cluster\.server: no server found'),
    ("ca-both", r"certificate-authority: both certificate-authority and .*-data"),
    ("ca-missing-file", r"certificate-authority: cannot read .*no-such-ca\.crt"),
    ("insecure-with-ca", r"insecure-skip-tls-verify: .*cannot be combined"),
    ("bad-proxy", r"proxy-url: invalid proxy URL 'socks4://"),
    ("bad-server", r"server: 'ftp://ok\.example' is not a usable server URL"),
    ("token-and-basic",
     r'users\["token-and-basic"\]\.user\.token: more than one authentication method found '
     r"\(token, basicAuth\)"),
    ("exec-no-command", r"exec\.command: command must be specified"),
    ("exec-bad-version", r"exec\.apiVersion: unsupported .*v1alpha1"),
    ("exec-v1-no-interactive", r"exec\.interactiveMode: interactiveMode must be specified"),
    ("exec-bad-interactive", r"exec\.interactiveMode: invalid interactiveMode 'Sometimes'"),
    ("exec-env-no-name", r"exec\.env: every env entry needs a name"),
    ("cert-without-key", r"client-certificate: a client certificate needs a key"),
    ("cert-file-missing", r"client-certificate: cannot read .*no-such-client\.crt"),
    ("groups-without-as", r'users\["groups-without-as"\]\.user\.as: .*set \'as\''),
    ("token-file-missing", r"tokenFile: cannot read .*no-such-token"),
    ("auth-provider", r"auth-provider: auth-provider 'oidc' is not supported"),
]


@pytest.mark.parametrize(("context", "message"), UNUSABLE)
def test_unusable_contexts(context: str, message: str) -> None:
    path = str(KC / "unusable.yaml")
    with pytest.raises(ConfigError, match=message) as info:
        ClusterConfig.from_kubeconfig(path, context=context)
    assert str(info.value).startswith(path + ": ")


def test_errors_never_show_the_secret_values() -> None:
    with pytest.raises(ConfigError) as info:
        ClusterConfig.from_kubeconfig(str(KC / "unusable.yaml"), context="token-and-basic")
    assert "a-token" not in str(info.value) and "a-password" not in str(info.value)


def test_unknown_context_lists_the_existing_ones() -> None:
    with pytest.raises(ConfigError, match=r"current-context: context 'ghost' does not exist; "
                       r"existing contexts: 'auth-provider', 'bad-proxy'"):
        ClusterConfig.from_kubeconfig(str(KC / "unusable.yaml"))
    with pytest.raises(ConfigError, match=r"context 'nope' does not exist; existing contexts: "
                       r"'a-ctx', 'b-ctx', 'b-shared', 'shared-ctx'"):
        ClusterConfig.from_kubeconfig([A, B], context="nope")


def test_no_current_context_and_none_given() -> None:
    with pytest.raises(ConfigError, match=r"no current-context is set and no context was given;"
                       r" pass context= \(existing contexts: 'c-ctx', 'c-exec', 'c-path-exec'\)"):
        ClusterConfig.from_kubeconfig(C)
    with pytest.raises(ConfigError, match="no current-context"):
        load_config(C)  # not in a cluster: no fallback


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the kubeconfig"):
        ClusterConfig.from_kubeconfig(tmp_path)  # a directory
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        ClusterConfig.from_kubeconfig(binary)


MALFORMED = [
    ("users: 5", r"users: expected a list"),
    ("current-context: [a, b]", r"current-context: expected a string, found a list"),
    ("contexts: [{name: x, context: [1]}]", r'contexts\["x"\]\.context: expected a mapping'),
    ("contexts: [{name: {a: b}, context: {}}]", r"contexts\[0\]\.name: expected a string"),
    ("contexts: [{name: x, context: {cluster: [c]}}]", r"context\.cluster: expected a string"),
    ("users: [{name: u, user: {exec: [ls]}}]", r"user\.exec: expected a mapping"),
    ("users: [{name: u, user: {exec: {command: c, args: {a: b}}}}]", r"exec\.args: expected"),
    ("users: [{name: u, user: {exec: {command: c, env: [x]}}}]", r"exec\.env\[0\]: expected"),
    ("users: [{name: u, user: {as-groups: admins}}]", r"as-groups: expected a list"),
    ("users: [{name: u, user: {as-user-extra: {k: v}}}]", r"as-user-extra\.k: expected a list"),
    ("users: [{name: u, user: {auth-provider: oidc}}]", r"auth-provider: expected a mapping"),
    ("clusters: [{name: c, cluster: {extensions: {a: b}}}]", r"extensions: expected a list"),
    ("clusters: [{name: c, cluster: {extensions: [x]}}]", r"extensions\[0\]: expected a map"),
    ("clusters: [{name: c, cluster: {server: https://x, disable-compression: 1}}]",
     r"disable-compression: expected true or false"),
    ("clusters: [{name: c, cluster: {certificate-authority-data: [x]}}]",
     r"certificate-authority-data: expected a string"),
    ("clusters: [{name: c, cluster: {certificate-authority-data: 'caf\u00e9'}}]",
     r"certificate-authority-data: not valid base64"),
    ("users: [{name: u, user: {exec: {command: c}, auth-provider: {name: oidc}}}]",
     r"auth-provider cannot be combined with exec"),
    ("key: [unclosed", r"line \d+: not valid YAML"),
    ("a: 1\n---\nb: 2\n", r"not valid YAML"),
    ("just a string", r"expected a mapping at the top level, found a string"),
]


def test_a_string_in_the_wrong_place_is_not_quoted(tmp_path: Path) -> None:
    # a token pasted one level too high must not be echoed by the shape error
    path = tmp_path / "config"
    path.write_text("users: [{name: u, user: eyJhbGciOi-SECRET-TOKEN}]\n")
    with pytest.raises(ConfigError, match=r'users\["u"\]\.user: expected a mapping, found a '
                                          r"string$") as info:
        Kubeconfig.load(str(path))
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_shapes_give_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        ClusterConfig.from_kubeconfig(str(path), context="x")


def test_list_contexts() -> None:
    assert list_contexts(A) == ["a-ctx", "shared-ctx"]
    assert list_contexts([A, B]) == ["a-ctx", "b-ctx", "b-shared", "shared-ctx"]


def test_token_with_exec_uses_the_token_as_client_go_does(tmp_path: Path) -> None:
    # client-go does not count exec among the authentication methods: a token (or basic
    # auth, or a client certificate) wins and the plugin never runs.
    path = tmp_path / "config"
    path.write_text(
        "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
        "users: [{name: u, user: {token: t, exec: {apiVersion: "
        "client.authentication.k8s.io/v1beta1, command: helper}}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    config = ClusterConfig.from_kubeconfig(str(path), "x")
    assert (config.token, config.exec) == ("t", None)


# --- hostile files: nesting, self-reference, pipes, devices, size -------------------------


def _minimal(extension: str = "") -> str:
    return ("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
            "    server: https://k.example\n" + extension +
            "users:\n- name: u\n  user:\n    exec:\n      apiVersion: "
            "client.authentication.k8s.io/v1\n      command: helper\n"
            "      interactiveMode: Never\n      provideClusterInfo: true\n"
            "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n")


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The kubeconfig reader with libyaml's parser, and without it (PyYAML built without
    libyaml): both give the same values and the same errors."""
    import yaml

    from dynakube.config import kubeconfig

    if request.param == "pure-python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("this PyYAML is built without libyaml")
    kubeconfig._loader.cache_clear()
    request.addfinalizer(kubeconfig._loader.cache_clear)
    assert kubeconfig._loader().__mro__[1].__name__ == (
        "CSafeLoader" if request.param == "libyaml" else "SafeLoader")
    return str(request.param)


@pytest.mark.usefixtures("yaml_parser")
def test_a_deeply_nested_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("clusters: " + "[" * 20000 + "]" * 20000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply") as info:
        load_config(str(path))
    assert info.value.__cause__ is None and info.value.__suppress_context__  # a short report


@pytest.mark.parametrize(("extension", "message"), [
    ("      extension: &loop {self: *loop}\n", "refers to itself"),
    ("      extension: &loop [1, *loop]\n", "refers to itself"),
    ("      extension: &a [1, 2, 3, 4, 5, 6, 7, 8]\n      other: &b [*a, *a, *a, *a, *a]\n"
     "      x: &c [*b, *b, *b, *b, *b]\n", None),  # shared, not circular: fine
    ("      extension: " + "[" * 100 + "]" * 100 + "\n", "nested too deeply"),
    ("      extension: {when: 2024-01-01T00:00:00Z, n: .nan}\n", None),  # strings, kept
    ("      extension: {1: one}\n", None),  # the loader keeps "1" a string key
])
@pytest.mark.usefixtures("yaml_parser")
def test_the_exec_extension_must_be_plain_json(tmp_path: Path, extension: str,
                                               message: str | None) -> None:
    path = tmp_path / "config"
    path.write_text(_minimal("    extensions:\n    - name: client.authentication.k8s.io/exec\n"
                             + extension))
    if message is None:
        config = load_config(str(path))
        assert config.exec is not None and config.exec.cluster_config is not None
        return
    with pytest.raises(ConfigError, match=r'clusters\["c"\]\.cluster\.extensions\[0\]'
                                          r"\.extension: .*" + message):
        load_config(str(path))


def test_a_billion_laughs_extension_is_refused(tmp_path: Path) -> None:
    levels = ["      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"]
    levels += [f"      l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n"
               for i in range(1, 9)]
    path = tmp_path / "config"
    path.write_text(_minimal("    extensions:\n    - name: client.authentication.k8s.io/exec\n"
                             "      defs:\n" + "".join("  " + line for line in levels)
                             + "      extension: {bomb: *l8}\n"))
    with pytest.raises(ConfigError, match="too large"):
        load_config(str(path))


def _config_error_in_a_child(call: str, path: Path) -> str:
    """The ConfigError text of ``call`` (on ``path``) run in a child process, so that a
    regression that hangs or reads without end shows as a failure, not a hung suite."""
    import subprocess
    import sys

    code = ("import resource, sys\n"  # and a regression that reads forever stops at 2 GiB
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from dynakube.config import ClusterConfig, load_config\n"
            "from dynakube.errors import ConfigError\n"
            f"try:\n    {call}\nexcept ConfigError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout


def test_a_fifo_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "config"
    os.mkfifo(fifo)
    assert "kubeconfig" in _config_error_in_a_child("load_config(sys.argv[1])", fifo)


def test_a_pipe_as_kubeconfig_is_read_as_kubectl_reads_it() -> None:
    """``--kubeconfig <(vault read ...)`` names a pipe (/dev/fd/N): read to its end."""
    text = (b"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            b"clusters: [{name: k, cluster: {server: 'https://k.example'}}]\n"
            b"users: [{name: u, user: {token: t}}]\n"
            b"contexts: [{name: c, context: {cluster: k, user: u}}]\n")
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, text)
        os.close(write_end)
        config = load_config(f"/proc/self/fd/{read_end}")
    finally:
        os.close(read_end)
    assert config.server == "https://k.example" and config.token == "t"


def test_a_pipe_that_never_ends_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dynakube.config.kubeconfig as module

    monkeypatch.setattr(module, "PIPE_SECONDS", 0.3)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"apiVersion: v1\n")  # and never closed
        with pytest.raises(ConfigError, match="no end of file"):
            load_config(f"/proc/self/fd/{read_end}")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_device_as_kubeconfig_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "config"
    link.symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), link):
        assert "not a regular file" in _config_error_in_a_child("load_config(sys.argv[1])",
                                                                path)


def test_dev_null_is_an_empty_kubeconfig_as_for_kubectl() -> None:
    kc = Kubeconfig.load(os.devnull, allow_empty=True)
    assert kc.is_empty and kc.files == ()
    with pytest.raises(ConfigError, match="no configuration found: /dev/null"):
        load_config(os.devnull)


def test_a_kubeconfig_larger_than_the_cap_is_refused(tmp_path: Path) -> None:
    from dynakube.config.kubeconfig import MAX_KUBECONFIG_BYTES

    path = tmp_path / "config"
    with path.open("wb") as fh:
        fh.write(b"# padding\n")
        fh.truncate(MAX_KUBECONFIG_BYTES + 1)  # sparse: no 16 MiB actually written
    with pytest.raises(ConfigError, match="larger than 16 MiB"):
        load_config(str(path))


def test_a_fifo_as_ca_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "ca.crt"
    os.mkfifo(fifo)
    text = _config_error_in_a_child(
        "ClusterConfig.for_server('https://k.example', ca_file=sys.argv[1])", fifo)
    assert "ca_file=...): " in text and "not a regular file" in text


def test_disable_compression_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(_minimal().replace("    server: https://k.example\n",
                                       "    server: https://k.example\n"
                                       "    disable-compression: true\n"))
    assert load_config(str(path)).disable_compression is True
    assert ClusterConfig.from_kubeconfig(FULL).disable_compression is False
