"""What kube-apiserver fills into a Service: defaults, type-dependent fields and allocations.

Three steps, as the real server runs them on every write: ``SetDefaults_Service``; on an
update, dropping what the old type needed and the new one does not (``dropTypeDependentFields``)
and keeping what was allocated before (``patchAllocatedValues``); then the allocators give a
cluster IP, node ports and a health-check node port to whatever still lacks one, and the
IP families follow from the cluster IPs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynakube.apiserver.kinds.podspec_defaults import DefaultingState, set_default

__all__ = ["default_service"]

Obj = dict[str, Any]


def _ports(spec: Obj) -> list[Obj]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName"


def _needs_node_port(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind == "NodePort" or (kind == "LoadBalancer"
                                  and spec.get("allocateLoadBalancerNodePorts") is not False)


def _needs_health_check(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP"
                                                   and bool(spec.get("externalIPs")))


def _set_defaults(spec: Obj) -> None:
    """``SetDefaults_Service``."""
    set_default(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        client = config.get("clientIP") if isinstance(config, dict) else None
        if not isinstance(client, dict) or client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    set_default(spec, "type", "ClusterIP")
    for port in _ports(spec):
        set_default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec):
        set_default(spec, "externalTrafficPolicy", "Cluster")
    if spec.get("internalTrafficPolicy") is None and spec["type"] in ("ClusterIP", "NodePort",
                                                                       "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer":
        set_default(spec, "allocateLoadBalancerNodePorts", True)


def _drop_type_dependent(spec: Obj, old: Obj, status: Obj | None) -> None:
    """Wipe what the old type had allocated and the new type does not need, unless changed."""
    if _needs_cluster_ip(old) and not _needs_cluster_ip(spec):
        if (spec.get("clusterIP"), spec.get("clusterIPs")) == (old.get("clusterIP"),
                                                              old.get("clusterIPs")):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        for key in ("ipFamilies", "ipFamilyPolicy"):
            if spec.get(key) == old.get(key):
                spec.pop(key, None)
    if _needs_node_port(old) and not _needs_node_port(spec):
        if [p.get("nodePort") for p in _ports(spec)] == [p.get("nodePort") for p in _ports(old)]:
            for port in _ports(spec):
                port.pop("nodePort", None)
    if _needs_health_check(old) and not _needs_health_check(spec):
        if spec.get("healthCheckNodePort") == old.get("healthCheckNodePort"):
            spec.pop("healthCheckNodePort", None)
    if old.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not None and spec.get(
                "allocateLoadBalancerNodePorts") == old.get("allocateLoadBalancerNodePorts"):
            spec.pop("allocateLoadBalancerNodePorts", None)
        if spec.get("loadBalancerClass") == old.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if _needs_cluster_ip(old) and not _needs_cluster_ip(spec):  # internalTrafficPolicy too
        if spec.get("internalTrafficPolicy") == old.get("internalTrafficPolicy"):
            spec.pop("internalTrafficPolicy", None)
    if _externally_accessible(old) and not _externally_accessible(spec):
        if spec.get("externalTrafficPolicy") == old.get("externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)
    if spec.get("type") != "LoadBalancer" and status is not None:
        status["loadBalancer"] = {}


def _keep_allocated(spec: Obj, old: Obj) -> None:
    """``patchAllocatedValues``: an update that omits an allocated value keeps it."""
    if _needs_cluster_ip(old) and _needs_cluster_ip(spec):
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not spec.get("clusterIPs") and old.get("clusterIPs"):
            spec["clusterIPs"] = list(old["clusterIPs"])
    if _needs_node_port(old) and _needs_node_port(spec):
        used = ({p.get("nodePort") for p in _ports(old)}
                & {p.get("nodePort") for p in _ports(spec)}) - {None, 0}
        by_name = {p.get("name", ""): p.get("nodePort") for p in _ports(old)}
        for port in _ports(spec):
            previous = by_name.get(port.get("name", ""))
            if not port.get("nodePort") and previous and previous not in used:
                port["nodePort"] = previous
    if _needs_health_check(old) and _needs_health_check(spec):
        if not spec.get("healthCheckNodePort") and old.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old["healthCheckNodePort"]


def _allocate(spec: Obj, state: DefaultingState | None) -> None:
    if _needs_cluster_ip(spec):
        if not spec.get("clusterIP") and spec.get("clusterIPs"):
            spec["clusterIP"] = spec["clusterIPs"][0]
        family = "IPv6" if ":" in str(spec.get("clusterIP") or "") else "IPv4"
        families = spec.get("ipFamilies")
        if isinstance(families, list) and families and not spec.get("clusterIP"):
            family = str(families[0])
        if not spec.get("clusterIP") and state is not None:
            spec["clusterIP"] = state.allocate_cluster_ip(family)
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        headless_open = spec.get("clusterIP") == "None" and not spec.get("selector")
        set_default(spec, "ipFamilyPolicy", "RequireDualStack" if headless_open
                    else "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = [family]
    if state is None:
        return
    taken = {int(p["nodePort"]) for p in _ports(spec) if p.get("nodePort")}
    if _needs_node_port(spec):
        for port in _ports(spec):
            if not port.get("nodePort"):
                port["nodePort"] = state.allocate_node_port(taken)
                taken.add(port["nodePort"])
    if _needs_health_check(spec) and not spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = state.allocate_node_port(taken)


def default_service(obj: Obj, old: Obj | None, state: DefaultingState | None, *,
                    defaulted: Callable[[Obj], None] | None = None) -> None:
    """Default, carry over and allocate a Service's spec; ``state=None`` allocates nothing.

    ``defaulted`` sees the object with the scheme's defaults, before the REST strategy
    carries over and allocates addresses and ports."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    _set_defaults(spec)
    if defaulted is not None:
        defaulted(obj)
    status = obj.get("status") if isinstance(obj.get("status"), dict) else None
    old_spec = old.get("spec") if isinstance(old, dict) else None
    if isinstance(old_spec, dict):
        _drop_type_dependent(spec, old_spec, status)
        _keep_allocated(spec, old_spec)
    _allocate(spec, state)
    if obj.get("status") is None:
        obj["status"] = {}
    if isinstance(obj["status"], dict):
        obj["status"].setdefault("loadBalancer", {})
