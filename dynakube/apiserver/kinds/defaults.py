"""Defaults kube-apiserver 1.36 fills into built-in objects, on every write.

:func:`apply_defaults` runs on the result of a create, a replace, every patch type and an
apply, as the real server defaults whatever it decodes: a merge patch that replaces a Deployment's
``containers`` gets their ``imagePullPolicy`` back. It covers the scheme's ``SetDefaults_*``
functions, the create/update strategies' fixed fields (a Namespace's finalizer, a Job's
generated selector, the zero ``status`` of a new object), and what the default admission
plugins add (a Pod's service account token, priority and tolerations; the protection
finalizers of volumes). Workloads are in :mod:`.workload_defaults`, pod specs and Pod
admission in :mod:`.podspec_defaults` (LimitRanger in :mod:`.limit_ranger`), Services in
:mod:`.service_defaults`, every other kind in :mod:`.object_defaults`.

Pure functions: the state some of this needs (stored ServiceAccounts and PriorityClasses,
the cluster-IP and node-port allocators) comes from a :class:`DefaultingState`.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dynakube.apiserver.kinds.object_defaults import (
    DEFAULTERS,
    PROTECTION_FINALIZERS,
    UserInfo,
    WriteContext,
)
from dynakube.apiserver.kinds.podspec_defaults import AdmissionRefused, DefaultingState
from dynakube.apiserver.kinds.workload_defaults import WORKLOAD_DEFAULTERS, WORKLOAD_STRATEGIES

__all__ = [
    "NODE_PORTS",
    "PROTECTION_FINALIZERS",
    "SERVICE_NETWORKS",
    "AdmissionRefused",
    "DefaultingState",
    "StoredState",
    "UserInfo",
    "apply_defaults",
]

_GROUPS = {"serviceaccounts": "", "limitranges": "", "services": "",
           "priorityclasses": "scheduling.k8s.io"}
SERVICE_NETWORKS = {"IPv4": ipaddress.ip_network("10.0.0.0/24"),
                    "IPv6": ipaddress.ip_network("fd00:10:96::/108")}
"""The service CIDRs: kube-apiserver's own default ``--service-cluster-ip-range`` (what the
recordings' server used) for IPv4; the kubernetes Service holds the first address."""
NODE_PORTS = range(30000, 32768)
"""The default ``--service-node-port-range``."""
_DRY_RUN_NODE_PORT = 32768  # a dry run's node ports count up from here (they are not allocated)


def apply_defaults(obj: dict[str, Any], *, old: dict[str, Any] | None = None,
                   state: DefaultingState | None = None, user: UserInfo | None = None,
                   now: str | None = None,
                   defaulted: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Fill in, in place, what kube-apiserver defaults in the built-in object ``obj``.

    ``old`` is the stored object on an update (``None`` on create: create-only steps such as
    a Pod's admission or a Job's selector run then). ``state`` gives stored objects and the
    allocators; without it nothing is allocated and every ServiceAccount is assumed to exist.
    ``user`` is recorded into a CertificateSigningRequest. Objects of other kinds (custom
    resources) are left alone. Raises :class:`AdmissionRefused` where an admission plugin
    refuses the object (``403``). ``defaulted`` is called with the object as kube-apiserver's
    field manager sees it: with the scheme's defaults, before admission plugins and the
    strategy (a kind with neither may not call it: then the result is that object).
    """
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return
    group, _, version = api_version.rpartition("/")
    now = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write = WriteContext(old, state, user, now, defaulted)
    workload = WORKLOAD_DEFAULTERS.get((group, kind))
    if workload is not None:
        workload(obj, old)
        strategy = WORKLOAD_STRATEGIES.get((group, kind))
        if strategy is not None:
            write.defaulted(obj)
            strategy(obj, old)
        return
    defaulter = DEFAULTERS.get((group, kind)) or DEFAULTERS.get((f"{group}/{version}", kind))
    if defaulter is not None:
        defaulter(obj, write)


class StoredState:
    """A :class:`DefaultingState` over a server's store.

    ``all_of(plural, group)`` lists the stored objects of a built-in resource. Only stored
    ServiceAccounts count: every new namespace gets its ``default`` one (as the
    service-account controller makes it), so a Pod is refused, as on a real server, only
    where that one was deleted. Addresses come from :data:`SERVICE_NETWORKS`, lowest free
    first in the upper part of the range, then in the lower part kube-apiserver keeps for
    static addresses (KEP-3070); node ports from 30000-32767, lowest free first. A dry run
    allocates nothing, as the real allocators do then: a Service gets the network's own
    address and node ports counting up past 32768 (or past the highest one it names).
    """

    def __init__(self, all_of: Callable[[str, str], Sequence[Mapping[str, Any]]], *,
                 dry_run: bool = False):
        self._all_of = all_of
        self._dry_run = dry_run

    def list_objects(self, resource: str, namespace: str | None) -> list[Mapping[str, Any]]:
        found = self._all_of(resource, _GROUPS.get(resource, ""))
        if namespace is None:
            return list(found)
        return [o for o in found if (o.get("metadata") or {}).get("namespace") == namespace]

    def get_object(self, resource: str, namespace: str | None,
                   name: str) -> Mapping[str, Any] | None:
        for obj in self.list_objects(resource, namespace):
            if (obj.get("metadata") or {}).get("name") == name:
                return obj
        return None

    def _services(self) -> list[Mapping[str, Any]]:
        return [o.get("spec") or {} for o in self._all_of("services", "")]

    def allocate_cluster_ip(self, family: str) -> str:
        network = SERVICE_NETWORKS.get(family, SERVICE_NETWORKS["IPv4"])
        if self._dry_run:
            return str(network.network_address)
        taken = {ip for spec in self._services()
                 for ip in [spec.get("clusterIP"), *(spec.get("clusterIPs") or [])]}
        size = network.num_addresses
        last = size - (1 if network.version == 4 else 0)  # IPv4 keeps its broadcast address
        static = 0 if size < 16 else min(max(16, size // 16), 256)  # kept for static addresses
        for offset in itertools.chain(range(1 + static, last), range(1, 1 + static)):
            candidate = str(network[offset])
            if candidate not in taken:
                return candidate
        raise AdmissionRefused(f"failed to allocate a serviceIP: range is full ({network})")

    def allocate_node_port(self, exclude: Collection[int]) -> int:
        if self._dry_run:
            return max(exclude, default=_DRY_RUN_NODE_PORT) + 1
        taken: set[Any] = set(exclude)
        for spec in self._services():
            taken.update(p.get("nodePort") for p in spec.get("ports") or []
                         if isinstance(p, dict))
            taken.add(spec.get("healthCheckNodePort"))
        for port in NODE_PORTS:
            if port not in taken:
                return port
        raise AdmissionRefused("failed to allocate a nodePort: range is full")
