"""Services (``ValidateService`` and ``ValidateServiceUpdate``).

Ports are required except for headless and ExternalName Services, must be named when there
are several, and stay in 1-65535; ``targetPort`` counts as ``port`` when unset, ``type`` as
``ClusterIP`` and ``sessionAffinity`` as ``None``. A node port outside 30000-32767 is refused
by the allocator, which a dry run does not reach. The primary cluster IP never changes,
except to or from ``ExternalName`` (whose strategy drops the type-dependent fields).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from . import names
from .fields import (
    Cause,
    as_int,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from .metadata import label_map, mapping
from .podspec import PROTOCOLS

__all__ = ["service", "allocation", "NODE_PORT_RANGE"]

NODE_PORT_RANGE = (30000, 32767)
_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_AFFINITY = ("ClientIP", "None")
_IP_EXAMPLE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def _ports(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, Mapping)] if isinstance(ports, list) else []


def _cluster_ips(spec: Mapping[str, Any]) -> list[str]:
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return [str(ip) for ip in ips]
    ip = spec.get("clusterIP")
    return [str(ip)] if ip else []


def _port(port: Mapping[str, Any], require_name: bool, seen: set[str], path: str) -> list[Cause]:
    out: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        out.append(required(child(path, "name")))
    elif name:
        out += [invalid(child(path, "name"), name, m) for m in names.dns1123_label(name)]
        if name in seen:
            out.append(duplicate(child(path, "name"), name))
        seen.add(name)
    number = as_int(port.get("port")) or 0
    out += [invalid(child(path, "port"), number, m) for m in names.port_number(number)]
    protocol = port.get("protocol")
    if protocol and protocol not in PROTOCOLS:
        out.append(not_supported(child(path, "protocol"), protocol, PROTOCOLS))
    target = port.get("targetPort")
    if target in (None, 0, ""):
        target = number
    if isinstance(target, str):
        out += [invalid(child(path, "targetPort"), target, m) for m in names.port_name(target)]
    elif isinstance(target, int):
        out += [invalid(child(path, "targetPort"), target, m) for m in names.port_number(target)]
    return out


def _externally_accessible(spec: Mapping[str, Any], kind: str) -> bool:
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs")))


def _create_rules(spec: Mapping[str, Any], switching: bool) -> list[Cause]:
    """``ValidateService``; ``switching`` to ExternalName drops what that type may not have."""
    out: list[Cause] = []
    kind = spec.get("type") or "ClusterIP"
    ips = [] if switching else _cluster_ips(spec)
    headless = bool(ips) and ips[0] == "None"
    ports = _ports(spec)
    if not ports and not headless and kind != "ExternalName":
        out.append(required("spec.ports"))
    if kind in ("LoadBalancer", "NodePort") and headless:
        out.append(invalid("spec.clusterIP", "None",
                           f"may not be set to 'None' for {kind} services"))
    elif kind == "ExternalName":
        if ips:
            out.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        cname = str(spec.get("externalName") or "").removesuffix(".")
        if cname:
            out += [invalid("spec.externalName", cname, m) for m in names.dns1123_subdomain(cname)]
        else:
            out.append(required("spec.externalName"))
    seen: set[str] = set()
    for i, port in enumerate(ports):
        out += _port(port, len(ports) > 1, seen, index("spec.ports", i))
    if spec.get("selector") is not None:
        out += label_map(spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    if affinity and affinity not in _AFFINITY:
        out.append(not_supported("spec.sessionAffinity", affinity, _AFFINITY))
    for i, ip in enumerate(ips):
        if ip and not (ip == "None" and i == 0) and not names.is_ip(ip):
            out.append(invalid(index("spec.clusterIPs", i), ip, _IP_EXAMPLE))
    if kind not in _TYPES:
        out.append(not_supported("spec.type", kind, _TYPES))
    if kind == "ClusterIP":
        for i, port in enumerate(ports):
            if as_int(port.get("nodePort")):
                out.append(forbidden(child(index("spec.ports", i), "nodePort"),
                                     "may not be used when `type` is 'ClusterIP'"))
    policy = spec.get("externalTrafficPolicy")
    if not switching and not _externally_accessible(spec, kind) and policy:
        out.append(invalid("spec.externalTrafficPolicy", policy,
                           "may only be set for externally-accessible services"))
    return out


def _node_ports(spec: Mapping[str, Any]) -> list[Cause]:
    """What the node-port allocator refuses on a real (not dry-run) write."""
    low, high = NODE_PORT_RANGE
    out: list[Cause] = []
    for i, port in enumerate(_ports(spec)):
        node_port = as_int(port.get("nodePort"))
        if node_port and not low <= node_port <= high:
            out.append(invalid(child(index("spec.ports", i), "nodePort"), node_port,
                               "provided port is not in the valid range. The range of valid "
                               f"ports is {low}-{high}"))
    return out


def service(obj: Mapping[str, Any], old: Mapping[str, Any] | None, *,
            dry_run: bool = False) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out: list[Cause] = []
    switching = False
    if old is not None:
        old_spec = mapping(old.get("spec"))
        new_kind, old_kind = spec.get("type") or "ClusterIP", old_spec.get("type") or "ClusterIP"
        switching = new_kind == "ExternalName" and old_kind != "ExternalName"
        if "ExternalName" not in (new_kind, old_kind):
            new_ips, old_ips = _cluster_ips(spec), _cluster_ips(old_spec)
            for i in (0, 1):
                if len(new_ips) > i and len(old_ips) > i and new_ips[i] != old_ips[i]:
                    out.append(invalid(index("spec.clusterIPs", i), new_ips,
                                       "may not change once set"))
    out += _create_rules(spec, switching)
    if not dry_run and (spec.get("type") or "ClusterIP") in ("NodePort", "LoadBalancer"):
        out += _node_ports(spec)
    return out


def _in_range(ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether the allocator may hand out ``ip``: inside the network, not its own address
    and, for IPv4, not its broadcast address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return True  # not an address: validation words that refusal
    if address.version != network.version or address not in network:
        return False
    return address != network.network_address and not (
        network.version == 4 and address == network.broadcast_address)


def allocation(obj: Mapping[str, Any], old: Mapping[str, Any] | None,
               others: Iterable[Mapping[str, Any]],
               networks: Mapping[str, ipaddress.IPv4Network | ipaddress.IPv6Network], *,
               dry_run: bool = False) -> list[Cause]:
    """What the cluster-IP and node-port allocators refuse, before validation runs (the
    service registry allocates first): an address outside the service CIDR, an address
    another Service holds (not checked by a dry run), a node port another Service holds (a
    dry run checks that one, but not the node-port range). ``others`` are the stored
    Services other than this one; only values new to this write are allocated."""
    spec = mapping(obj.get("spec"))
    old_spec = mapping(old.get("spec")) if old is not None else {}
    if (spec.get("type") or "ClusterIP") == "ExternalName":
        return []
    held_ips: set[str] = set()
    held_ports: set[Any] = set()
    for other in others:
        other_spec = mapping(other.get("spec"))
        held_ips.update(str(ip) for ip in _cluster_ips(other_spec))
        held_ports.update(as_int(p.get("nodePort")) for p in _ports(other_spec))
        held_ports.add(as_int(other_spec.get("healthCheckNodePort")))
    ips, old_ips = _cluster_ips(spec), set(_cluster_ips(old_spec))
    for ip in ips:
        if ip == "None" or ip in old_ips or not names.is_ip(ip):
            continue
        family = "IPv6" if ":" in ip else "IPv4"
        network = networks[family]
        if not _in_range(ip, network):
            return [invalid("spec.clusterIPs", ips, f"failed to allocate IP {ip}: the provided "
                            f"IP ({ip}) is not in the valid range. The range of valid IPs is "
                            f"{network}")]
        if not dry_run and ip in held_ips:
            return [invalid("spec.clusterIPs", ips,
                            f"failed to allocate IP {ip}: provided IP is already allocated")]
    out: list[Cause] = []
    old_ports = {as_int(p.get("nodePort")) for p in _ports(old_spec)}
    for i, port in enumerate(_ports(spec)):
        node_port = as_int(port.get("nodePort"))
        if node_port and node_port not in old_ports and node_port in held_ports:
            out.append(invalid(child(index("spec.ports", i), "nodePort"), node_port,
                               "provided port is already allocated"))
    check = as_int(spec.get("healthCheckNodePort"))
    if check and check != as_int(old_spec.get("healthCheckNodePort")) and check in held_ports:
        out.append(invalid("spec.healthCheckNodePort", check, "failed to allocate requested "
                           f"HealthCheck NodePort {check}: provided port is already allocated"))
    return out
