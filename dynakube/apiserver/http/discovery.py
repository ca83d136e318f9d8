"""Discovery documents of the embedded server, built from its :class:`ResourceTable`.

Both forms a real server serves: aggregated (``apidiscovery.k8s.io`` v2 or v2beta1, with an
``Etag`` so clients can revalidate with ``If-None-Match``) and the legacy per-group-version
documents older clients walk one by one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..kinds.specs import KindSpec
from ..storage.resources import ResourceTable, storage_version_hash

__all__ = [
    "aggregated",
    "aggregated_content_type",
    "encode",
    "etag_of",
    "legacy_api",
    "legacy_apis",
    "legacy_group",
    "legacy_resource_list",
    "wants_aggregated",
]


def aggregated_content_type(version: str) -> str:
    return f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"


def wants_aggregated(accept: str, served: str | None) -> bool:
    """True when the ``Accept`` header lists the aggregated form this server serves first."""
    if not served:
        return False
    for media in accept.split(","):
        params = {}
        for part in media.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            params[key] = value
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            if params.get("v") == served:
                return True
    return False


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha512(body).hexdigest().upper() + '"'


def _response_kind(spec: KindSpec) -> dict[str, str]:
    if spec.is_custom:
        return {"group": spec.group, "kind": spec.kind, "version": spec.version}
    return {"group": "", "kind": spec.kind, "version": ""}


def _names(spec: KindSpec) -> dict[str, list[str]]:
    """``shortNames`` and ``categories`` of a resource entry, each only when it has some."""
    names: dict[str, list[str]] = {}
    if spec.short_names:
        names["shortNames"] = list(spec.short_names)
    if spec.categories:
        names["categories"] = list(spec.categories)
    return names


def _aggregated_resource(spec: KindSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": spec.plural,
        "responseKind": _response_kind(spec),
        "scope": "Namespaced" if spec.namespaced else "Cluster",
        "singularResource": spec.singular,
        "verbs": list(spec.verbs),
        **_names(spec),
    }
    subs = [
        {
            "subresource": sub.name,
            "responseKind": {"group": sub.group, "kind": sub.kind, "version": sub.version},
            "verbs": list(sub.verbs),
        }
        for sub in spec.subresources
    ]
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(table: ResourceTable, core: bool, version: str) -> dict[str, Any]:
    """``/api`` (``core``) or ``/apis`` as an ``APIGroupDiscoveryList``."""
    items = []
    for group, versions in table.group_versions():
        if (group == "") != core:
            continue
        items.append({
            "metadata": {"name": group} if group else {},
            "versions": [
                {
                    "version": v,
                    "resources": [_aggregated_resource(s) for s in table.resources_of(group, v)],
                    "freshness": "Current",
                }
                for v in versions
            ],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}


def legacy_api(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                        "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def legacy_apis(table: ResourceTable) -> dict[str, Any]:
    groups = [_group_entry(g, vs) for g, vs in table.group_versions() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def legacy_group(table: ResourceTable, group: str) -> dict[str, Any] | None:
    for g, versions in table.group_versions():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(g, versions)}
    return None


def legacy_resource_list(table: ResourceTable, group: str, version: str) -> dict[str, Any] | None:
    specs = table.resources_of(group, version)
    if not specs:
        return None
    resources: list[dict[str, Any]] = []
    for spec in specs:
        storage = table.storage_spec(spec)
        entry: dict[str, Any] = {
            "name": spec.plural,
            "singularName": spec.singular,
            "namespaced": spec.namespaced,
            "kind": spec.kind,
            "verbs": list(spec.verbs),
            **_names(spec),
        }
        digest = spec.storage_hash if spec.storage_hash is not None else storage_version_hash(
            storage.group, storage.version, storage.kind)
        if digest:  # the review APIs store nothing, so have none
            entry["storageVersionHash"] = digest
        resources.append(entry)
        subs = sorted(spec.subresources, key=lambda s: s.name) if not spec.is_custom \
            else list(spec.subresources)
        for sub in subs:
            sub_entry: dict[str, Any] = {
                "name": f"{spec.plural}/{sub.name}",
                "singularName": "",
                "namespaced": spec.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group != spec.group and (sub.group or sub.version):
                sub_entry["group"] = sub.group
                sub_entry["version"] = sub.version
            resources.append(sub_entry)
    body: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        body["apiVersion"] = "v1"
    body["groupVersion"] = f"{group}/{version}" if group else version
    body["resources"] = resources
    return body


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
