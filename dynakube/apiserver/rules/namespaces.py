"""What a cluster's controllers do for namespaces, done by the embedded server itself.

- Every new namespace gets its ``default`` ServiceAccount (the serviceaccount controller) and
  its ``kube-root-ca.crt`` ConfigMap (the root-ca-cert-publisher), made again when deleted
  (an edit of the ConfigMap is undone), and ``default`` holds the ``kubernetes`` Service with
  its Endpoints and EndpointSlice (kube-apiserver's own).
- A deleted namespace is ``Terminating``: the namespace controller deletes what it holds,
  reports what remains in ``status.conditions``, and once it is empty removes the
  ``kubernetes`` finalizer from ``spec.finalizers`` (what ``PUT .../finalize`` does), after
  which the namespace goes.
"""

from __future__ import annotations

from typing import Any

from ..call import ApiState
from ..kinds.defaults import SERVICE_NETWORKS
from ..kinds.specs import KindSpec
from ..objects import Obj, canonical, deep_copy, now_rfc3339
from ..storage.resources import bucket_name
from ..storage.store import storage_key

__all__ = ["PLAIN_HTTP_CA", "ROOT_CA_CONFIGMAP", "populate", "terminate", "finalize_if_empty",
           "store_finalized", "publish_apiserver", "publish_root_ca", "refresh_root_ca",
           "restore_default"]

ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
_ROOT_CA_NOTE = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
                 "internal endpoints such as the internal service IP or kubernetes.default.svc. "
                 "No other usage is guaranteed across distributions of Kubernetes clusters.")
_CONTROLLERS = "kube-controller-manager"
_APISERVER = "kube-apiserver"
_SERVICE_IP = str(SERVICE_NETWORKS["IPv4"][1])  # the first address of the range

PLAIN_HTTP_CA = """-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUIEmk3AzCnMuEWvk591Yt6i/mxJ4wCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZHluYWt1YmUtZW1iZWRkZWQtY2EwIBcNMjYxMjAyMDUxMDU4
WhgPMjEyNjExMDgwNTEwNThaMB8xHTAbBgNVBAMMFGR5bmFrdWJlLWVtYmVkZGVk
LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAZ4GgCBmHveSkfvR/MHn1FRu
+Kbui+pbHFIRuYEo+aOuXJW5LMYxKUiEJl0G6SMCWxfP7rx3qlE6Uuk5RVvUt6NT
MFEwHQYDVR0OBBYEFNQOPQcHke9w/L8WjTs5pxhBVSRTMB8GA1UdIwQYMBaAFNQO
PQcHke9w/L8WjTs5pxhBVSRTMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAOOV3fn2ShCkFX/9J6qbhL0063DLGAR6z0MITV095hvYAiEAwsWlWCMW
63MZA3ZZPqj1w1/nej7pyamrhk0T3cGhBL4=
-----END CERTIFICATE-----
"""
"""A fixed self-signed certificate for ``kube-root-ca.crt`` when the server speaks plain HTTP
(there is no CA then, but clients expect the ConfigMap to hold one)."""


# -- what controllers create -------------------------------------------------------------------


def _root_ca(namespace: str, pem: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace,
                         "annotations": {"kubernetes.io/description": _ROOT_CA_NOTE}},
            "data": {"ca.crt": pem}}


def populate(api: ApiState, namespace: str, ca_pem: str) -> None:
    """Give a new namespace what a cluster's controllers give it (what exists is kept)."""
    api.make("", "serviceaccounts", namespace,
             {"apiVersion": "v1", "kind": "ServiceAccount",
              "metadata": {"name": "default", "namespace": namespace}}, _CONTROLLERS)
    api.make("", "configmaps", namespace, _root_ca(namespace, ca_pem), _CONTROLLERS)


def _is_default(spec: KindSpec, obj: Obj) -> bool:
    name = (obj.get("metadata") or {}).get("name")
    return (spec.group, spec.kind, name) in (("", "ServiceAccount", "default"),
                                             ("", "ConfigMap", ROOT_CA_CONFIGMAP))


def _active(api: ApiState, namespace: str) -> bool:
    ns_obj = api.namespace_obj(namespace)
    return ns_obj is not None and not ns_obj["metadata"].get("deletionTimestamp")


def restore_default(api: ApiState, spec: KindSpec, final: Obj) -> None:
    """The serviceaccount controller and the root-ca-cert-publisher put back the ``default``
    ServiceAccount or the ``kube-root-ca.crt`` ConfigMap someone deleted (a new object,
    with the same content), unless its namespace is going too."""
    namespace = str(final["metadata"].get("namespace") or "")
    if not api.restores_defaults:  # a server without those controllers
        return
    if namespace and _is_default(spec, final) and _active(api, namespace):
        populate(api, namespace, api.ca_pem)


def publish_root_ca(api: ApiState, namespace: str, pem: str) -> None:
    """The root-ca-cert-publisher's sync of one namespace: ``kube-root-ca.crt`` exists and
    holds exactly ``pem`` under ``ca.crt`` and its description annotation; an edit of either
    is undone."""
    spec = _stored(api, "", "configmaps")
    if spec is None or not _active(api, namespace):
        return
    key = storage_key(namespace, ROOT_CA_CONFIGMAP)
    current = api.store.get(api.bucket(spec), key)
    if current is None:
        api.make("", "configmaps", namespace, _root_ca(namespace, pem), _CONTROLLERS)
        return
    annotations = current["metadata"].get("annotations") or {}
    if current.get("data") == {"ca.crt": pem} and annotations.get("kubernetes.io/description"):
        return
    updated = deep_copy(current)
    updated["data"] = {"ca.crt": pem}
    updated["metadata"]["annotations"] = {**annotations, "kubernetes.io/description":
                                          _ROOT_CA_NOTE}
    updated["metadata"]["resourceVersion"] = str(api.store.next_rv())
    api.store.put(api.bucket(spec), key, canonical(updated))


def _stored(api: ApiState, group: str, plural: str) -> KindSpec | None:
    spec = next((s for s in api.table.all() if (s.group, s.plural) == (group, plural)), None)
    return api.table.storage_spec(spec) if spec is not None else None


def _upsert(api: ApiState, group: str, plural: str, namespace: str, obj: Obj,
            manager: str, fields: tuple[str, ...]) -> None:
    """Create ``obj``, or bring the ``fields`` of the stored one in line with it."""
    spec = _stored(api, group, plural)
    if spec is None:
        return
    key = storage_key(namespace, str(obj["metadata"]["name"]))
    current = api.store.get(api.bucket(spec), key)
    if current is None:
        api.make(group, plural, namespace, obj, manager)
        return
    updated = deep_copy(current)
    for name in fields:
        if name == "spec.ports":
            updated.setdefault("spec", {})["ports"] = obj["spec"]["ports"]
        else:
            updated[name] = obj[name]
    if updated != current:
        updated["metadata"]["resourceVersion"] = str(api.store.next_rv())
        api.store.put(api.bucket(spec), key, canonical(updated))


def publish_apiserver(api: ApiState, port: int) -> None:
    """The ``default/kubernetes`` Service (443 -> the server's port), its Endpoints and its
    EndpointSlice, as kube-apiserver keeps them."""
    ports = [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"clusterIP": _SERVICE_IP, "clusterIPs": [_SERVICE_IP], "ports": ports,
                        "sessionAffinity": "None", "type": "ClusterIP"}}
    endpoint_port = {"name": "https", "port": port, "protocol": "TCP"}
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "kubernetes", "namespace": "default",
                              "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [endpoint_port]}]}
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "kubernetes", "namespace": "default",
                           "labels": {"kubernetes.io/service-name": "kubernetes"}},
              "addressType": "IPv4",
              "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
              "ports": [endpoint_port]}
    with api.write_lock:
        _upsert(api, "", "services", "default", service, _APISERVER, ("spec.ports",))
        _upsert(api, "", "endpoints", "default", endpoints, _APISERVER, ("subsets",))
        _upsert(api, "discovery.k8s.io", "endpointslices", "default", slice_, _APISERVER,
                ("endpoints", "ports"))


def refresh_root_ca(api: ApiState, pem: str) -> None:
    """Every ``kube-root-ca.crt`` holds ``pem`` (the publisher's job when the CA changes)."""
    spec = _stored(api, "", "configmaps")
    if spec is None:
        return
    with api.write_lock:
        items, _ = api.store.snapshot_items(api.bucket(spec))
        for obj in items:
            if obj["metadata"].get("name") == ROOT_CA_CONFIGMAP:
                publish_root_ca(api, str(obj["metadata"]["namespace"]), pem)


# -- the namespace controller ------------------------------------------------------------------


def _namespaced_specs(api: ApiState) -> list[KindSpec]:
    return [s for s in api.table.all() if s.namespaced and s is api.table.storage_spec(s)]


def terminate(api: ApiState, namespace: str) -> None:
    """Delete everything in a namespace that just turned ``Terminating`` (under the write
    lock), then finalize it if nothing is held back."""
    for spec in _namespaced_specs(api):
        items, _ = api.store.snapshot_items(bucket_name(spec), f"/{namespace}")
        for obj in items:
            api.delete_stored(spec, storage_key(namespace, str(obj["metadata"]["name"])))
    finalize_if_empty(api, namespace)


def _remaining(api: ApiState, namespace: str) -> tuple[dict[str, int], dict[str, int]]:
    """How many objects of each resource are left, and how many hold each finalizer."""
    resources: dict[str, int] = {}
    finalizers: dict[str, int] = {}
    for spec in _namespaced_specs(api):
        items, _ = api.store.snapshot_items(bucket_name(spec), f"/{namespace}")
        if items:
            resources[f"{spec.plural}.{spec.group}"] = len(items)
        for obj in items:
            for finalizer in obj["metadata"].get("finalizers") or []:
                finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
    return resources, finalizers


def _condition(kind: str, status: bool, reason: str, message: str,
               old: list[dict[str, Any]]) -> dict[str, Any]:
    before = next((c for c in old if c.get("type") == kind), None)
    same = before is not None and before.get("status") == ("True" if status else "False")
    return {"type": kind, "status": "True" if status else "False",
            "lastTransitionTime": before["lastTransitionTime"] if same and before
            else now_rfc3339(), "reason": reason, "message": message}


def _conditions(resources: dict[str, int], finalizers: dict[str, int],
                old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The namespace controller's report on a terminating namespace."""
    left = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(resources.items()))
    held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
    return [
        _condition("NamespaceDeletionDiscoveryFailure", False, "ResourcesDiscovered",
                   "All resources successfully discovered", old),
        _condition("NamespaceDeletionGroupVersionParsingFailure", False, "ParsedGroupVersions",
                   "All legacy kube types successfully parsed", old),
        _condition("NamespaceDeletionContentFailure", False, "ContentDeleted",
                   "All content successfully deleted, may be waiting on finalization", old),
        _condition("NamespaceContentRemaining", True, "SomeResourcesRemain",
                   f"Some resources are remaining: {left}", old) if resources else
        _condition("NamespaceContentRemaining", False, "ContentRemoved",
                   "All content successfully removed", old),
        _condition("NamespaceFinalizersRemaining", True, "SomeFinalizersRemain",
                   f"Some content in the namespace has finalizers remaining: {held}", old)
        if finalizers else
        _condition("NamespaceFinalizersRemaining", False, "ContentHasNoFinalizers",
                   "All content-preserving finalizers finished", old),
    ]


def finalize_if_empty(api: ApiState, namespace: str) -> None:
    """Report what a terminating namespace still holds; once nothing, drop its
    ``kubernetes`` finalizer (and the namespace, when no other finalizer holds it)."""
    ns_obj = api.namespace_obj(namespace)
    if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
        return
    resources, finalizers = _remaining(api, namespace)
    updated = deep_copy(ns_obj)
    status = updated.setdefault("status", {})
    status["conditions"] = _conditions(resources, finalizers, status.get("conditions") or [])
    if not resources:
        spec = updated.setdefault("spec", {})
        rest = [f for f in spec.get("finalizers") or [] if f != "kubernetes"]
        if rest:
            spec["finalizers"] = rest
        else:
            spec.pop("finalizers", None)
    if updated != ns_obj:
        store_finalized(api, updated)


def store_finalized(api: ApiState, updated: Obj) -> None:
    """Store a namespace whose finalizers changed; remove it if it is terminating with none
    left (``ShouldDeleteNamespaceDuringUpdate``)."""
    spec = api.table.lookup("", "v1", "namespaces")
    assert spec is not None
    meta = updated["metadata"]
    key = storage_key(None, str(meta["name"]))
    meta["resourceVersion"] = str(api.store.next_rv())
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and \
            not (updated.get("spec") or {}).get("finalizers"):
        api.remove(spec, key, updated)
        return
    api.store.put(api.bucket(spec), key, canonical(updated))
