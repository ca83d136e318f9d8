"""NetworkPolicies, Ingresses and EndpointSlices (``pkg/apis/networking`` and ``discovery``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from . import names
from .fields import Cause, child, forbidden, index, invalid, not_supported, required
from .metadata import mapping
from .podspec import PROTOCOLS
from .selectors import validate_selector

__all__ = ["network_policy", "ingress", "endpoint_slice"]

_CIDR_EXAMPLE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _policy_port(port: Mapping[str, Any], path: str) -> list[Cause]:
    out: list[Cause] = []
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        out.append(not_supported(child(path, "protocol"), protocol, ("TCP", "UDP", "SCTP")))
    number, end = port.get("port"), port.get("endPort")
    if isinstance(number, int):
        out += [invalid(child(path, "port"), number, m) for m in names.port_number(number)]
        if isinstance(end, int):
            if end < number:
                out.append(invalid(child(path, "endPort"), number,
                                   "must be greater than or equal to `port`"))
            out += [invalid(child(path, "endPort"), end, m) for m in names.port_number(end)]
    elif isinstance(number, str):
        if end is not None:
            out.append(invalid(child(path, "endPort"), end,
                               "may not be specified when `port` is non-numeric"))
        out += [invalid(child(path, "port"), number, m) for m in names.port_name(number)]
    elif end is not None:
        out.append(invalid(child(path, "endPort"), end,
                           "may not be specified when `port` is not specified"))
    return out


def _ip_block(block: Mapping[str, Any], path: str) -> list[Cause]:
    cidr = block.get("cidr")
    if not cidr:
        return [required(child(path, "cidr"))]
    if not names.is_cidr(str(cidr)):
        return [invalid(child(path, "cidr"), cidr, _CIDR_EXAMPLE)]
    outer = ipaddress.ip_network(str(cidr), strict=False)
    out: list[Cause] = []
    for i, text in enumerate(block.get("except") or []):
        epath = index(child(path, "except"), i)
        if not names.is_cidr(str(text)):
            out.append(invalid(epath, text, _CIDR_EXAMPLE))
            continue
        inner = ipaddress.ip_network(str(text), strict=False)
        if inner.version != outer.version or inner.network_address not in outer or \
                outer.prefixlen >= inner.prefixlen:
            out.append(invalid(epath, text, "must be a strict subset of `cidr`"))
    return out


def _peer(peer: Mapping[str, Any], path: str) -> list[Cause]:
    out: list[Cause] = []
    count = 0
    for name in ("podSelector", "namespaceSelector"):
        if peer.get(name) is not None:
            count += 1
            out += validate_selector(peer.get(name), child(path, name))
    if peer.get("ipBlock") is not None:
        count += 1
        out += _ip_block(mapping(peer.get("ipBlock")), child(path, "ipBlock"))
    if count == 0:
        out.append(required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        out.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return out


def network_policy(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    out = validate_selector(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_items(spec.get(direction))):
            rpath = index(f"spec.{direction}", i)
            for j, port in enumerate(_items(rule.get("ports"))):
                out += _policy_port(port, index(child(rpath, "ports"), j))
            for j, peer in enumerate(_items(rule.get(peers))):
                out += _peer(peer, index(child(rpath, peers), j))
    found = spec.get("policyTypes")
    types: list[Any] = found if isinstance(found, list) else []
    if len(types) > 2:
        return out + [invalid("spec.policyTypes", types, "may not specify more than two "
                              "policyTypes")]
    for i, kind in enumerate(types):
        if kind not in ("Ingress", "Egress"):
            out.append(not_supported(index("spec.policyTypes", i), kind, ("Ingress", "Egress")))
    return out


def _backend(backend: Mapping[str, Any], path: str) -> list[Cause]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        return []
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    svc = mapping(service)
    out: list[Cause] = []
    name = svc.get("name") or ""
    if not name:
        out.append(required(child(path, "service", "name")))
    else:
        out += [invalid(child(path, "service", "name"), name, m)
                for m in names.dns1123_label(name)]
    port = mapping(svc.get("port"))
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        out.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        out += [invalid(child(path, "service", "port", "name"), port_name, m)
                for m in names.port_name(port_name)]
    elif number:
        out += [invalid(child(path, "service", "port", "number"), number, m)
                for m in names.port_number(number)]
    else:
        out.append(required(path, "port name or number is required"))
    return out


def _http_path(item: Mapping[str, Any], path: str) -> list[Cause]:
    kind = item.get("pathType")
    if kind is None:
        return [required(child(path, "pathType"), "pathType must be specified")]
    where = item.get("path") or ""
    out: list[Cause] = []
    if kind in ("Exact", "Prefix"):
        if not where.startswith("/"):
            out.append(invalid(child(path, "path"), where, "must be an absolute path"))
        for seq in ("//", "/./", "/../", "%2f", "%2F"):
            if seq in where:
                out.append(invalid(child(path, "path"), where, f"must not contain '{seq}'"))
        for suffix in ("/..", "/."):
            if where.endswith(suffix):
                out.append(invalid(child(path, "path"), where, f"cannot end with '{suffix}'"))
    elif kind == "ImplementationSpecific":
        if where and not where.startswith("/"):
            out.append(invalid(child(path, "path"), where, "must be an absolute path"))
    else:
        out.append(not_supported(child(path, "pathType"), kind, _PATH_TYPES))
    return out + _backend(mapping(item.get("backend")), child(path, "backend"))


def ingress(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = mapping(obj.get("spec"))
    rules = _items(spec.get("rules"))
    out: list[Cause] = []
    if not rules and spec.get("defaultBackend") is None:
        out.append(invalid("spec", spec.get("rules"),
                           "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        out += _backend(mapping(spec.get("defaultBackend")), "spec.defaultBackend")
    for i, rule in enumerate(rules):
        rpath = index("spec.rules", i)
        host = rule.get("host") or ""
        if host:
            if names.is_ip(host):
                out.append(invalid(child(rpath, "host"), host,
                                   "must be a DNS name, not an IP address"))
            check = names.wildcard_dns1123_subdomain if "*" in host else names.dns1123_subdomain
            out += [invalid(child(rpath, "host"), host, m) for m in check(host)]
        http = rule.get("http")
        if http is not None:
            items = _items(mapping(http).get("paths"))
            if not items:
                out.append(required(child(rpath, "http", "paths")))
            for j, item in enumerate(items):
                out += _http_path(item, index(child(rpath, "http", "paths"), j))
    klass = spec.get("ingressClassName")
    if isinstance(klass, str) and klass:
        out += [invalid("spec.ingressClassName", klass, m) for m in names.dns1123_subdomain(klass)]
    return out


def endpoint_slice(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    kind = obj.get("addressType")
    out: list[Cause] = []
    if kind not in ("FQDN", "IPv4", "IPv6"):
        out.append(not_supported("addressType", kind, ("FQDN", "IPv4", "IPv6")))
    for i, endpoint in enumerate(_items(obj.get("endpoints"))):
        apath = child(index("endpoints", i), "addresses")
        listed = endpoint.get("addresses")
        addresses: list[Any] = listed if isinstance(listed, list) else []
        if not addresses:
            out.append(required(apath, "must contain at least 1 address"))
        for address in addresses:
            if kind in ("IPv4", "IPv6"):
                try:
                    ok = ipaddress.ip_address(str(address)).version == int(kind[-1])
                except ValueError:
                    ok = False
                if not ok:
                    out.append(invalid(apath, address, f"must be an {kind} address"))
            elif kind == "FQDN":
                out += [invalid(apath, address, m) for m in names.dns1123_subdomain(str(address))]
    for i, port in enumerate(_items(obj.get("ports"))):
        name = port.get("name")
        if isinstance(name, str) and name:
            out += [invalid(child(index("ports", i), "name"), name, m)
                    for m in names.dns1123_label(name)]
    if old is not None and kind != old.get("addressType"):
        out.append(invalid("addressType", kind, "field is immutable"))
    return out
