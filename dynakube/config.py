"""Cluster configuration: kubeconfig files (merged as kubectl merges them) and in-cluster.

SKELETON: the dataclasses below are the contract other modules rely on; the loading logic is
being written (load_config, ClusterConfig.from_kubeconfig, ClusterConfig.from_incluster).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ClusterConfig", "ExecConfig", "load_config"]


@dataclass(frozen=True)
class ExecConfig:
    """A client-go credential plugin (``users[].user.exec``)."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"  # Never | IfAvailable | Always
    install_hint: str | None = None


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to talk to one API server as one user. Immutable; repr hides secrets."""

    server: str
    namespace: str = "default"
    context: str | None = None
    cluster_name: str | None = None
    user_name: str | None = None
    source: str = ""  # the kubeconfig file(s) or "in-cluster", for messages
    # TLS
    certificate_authority: str | None = None  # path
    certificate_authority_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    client_certificate: str | None = None  # path
    client_certificate_data: bytes | None = field(default=None, repr=False)
    client_key: str | None = field(default=None, repr=False)  # path
    client_key_data: bytes | None = field(default=None, repr=False)
    # credentials (at most one method besides client certificates)
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    exec: ExecConfig | None = None
    # impersonation
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
