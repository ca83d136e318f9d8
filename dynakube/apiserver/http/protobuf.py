"""Reading the protobuf bodies kubectl sends for built-in kinds (``kubectl create configmap``...).

client-go encodes built-in objects as ``application/vnd.kubernetes.protobuf`` (the ``k8s\\0``
envelope around a ``runtime.Unknown``). The embedded server answers in JSON, which clients
accept, but must read what kubectl writes: this module decodes the wire format for the fields
of the built-in kinds it serves (field numbers from Kubernetes' ``generated.proto``) into the
same dict a JSON body would give. Fields it does not know are skipped.
"""

from __future__ import annotations

import base64
import time
from typing import Any

__all__ = ["ProtobufError", "decode_kubernetes_protobuf"]

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf message this server can read."""


# field number -> (json name, type); types: str, bytes, int, bool, time, intstr, quantity,
# "map" (string values), "mapbytes", "mapquantity", "[]str", a message name, "[]" + message
_S: dict[str, dict[int, tuple[str, str]]] = {
    "TypeMeta": {1: ("apiVersion", "str"), 2: ("kind", "str")},
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"),
                3: ("contentEncoding", "str"), 4: ("contentType", "str")},
    "ObjectMeta": {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"),
                   5: ("uid", "str"), 6: ("resourceVersion", "str"), 7: ("generation", "int"),
                   8: ("creationTimestamp", "time"), 10: ("deletionGracePeriodSeconds", "int"),
                   11: ("labels", "map"), 12: ("annotations", "map"),
                   13: ("ownerReferences", "[]OwnerReference"), 14: ("finalizers", "[]str")},
    "OwnerReference": {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"),
                       5: ("apiVersion", "str"), 6: ("controller", "bool"),
                       7: ("blockOwnerDeletion", "bool")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map"),
                  3: ("binaryData", "mapbytes"), 4: ("immutable", "bool")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "mapbytes"), 3: ("type", "str"),
               4: ("stringData", "map"), 5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"),
                  3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]str")},
    "NamespaceStatus": {1: ("phase", "str")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "[]ObjectReference"),
                       3: ("imagePullSecrets", "[]LocalObjectReference"),
                       4: ("automountServiceAccountToken", "bool")},
    "ObjectReference": {1: ("kind", "str"), 2: ("namespace", "str"), 3: ("name", "str"),
                        4: ("uid", "str"), 5: ("apiVersion", "str"),
                        6: ("resourceVersion", "str"), 7: ("fieldPath", "str")},
    "LocalObjectReference": {1: ("name", "str")},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec")},
    "ServiceSpec": {1: ("ports", "[]ServicePort"), 2: ("selector", "map"),
                    3: ("clusterIP", "str"), 4: ("type", "str"), 5: ("externalIPs", "[]str"),
                    7: ("sessionAffinity", "str"), 10: ("externalName", "str"),
                    11: ("externalTrafficPolicy", "str"), 18: ("clusterIPs", "[]str")},
    "ServicePort": {1: ("name", "str"), 2: ("protocol", "str"), 3: ("port", "int"),
                    4: ("targetPort", "intstr"), 5: ("nodePort", "int"),
                    6: ("appProtocol", "str")},
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec")},
    "DeploymentSpec": {1: ("replicas", "int"), 2: ("selector", "LabelSelector"),
                       3: ("template", "PodTemplateSpec"), 4: ("strategy", "Strategy"),
                       5: ("minReadySeconds", "int"), 6: ("revisionHistoryLimit", "int"),
                       7: ("paused", "bool"), 9: ("progressDeadlineSeconds", "int")},
    "Strategy": {1: ("type", "str"), 2: ("rollingUpdate", "RollingUpdate")},
    "RollingUpdate": {1: ("maxUnavailable", "intstr"), 2: ("maxSurge", "intstr")},
    "LabelSelector": {1: ("matchLabels", "map"),
                      2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "str"), 2: ("operator", "str"),
                                 3: ("values", "[]str")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", "[]Container"), 3: ("restartPolicy", "str"),
                4: ("terminationGracePeriodSeconds", "int"), 6: ("dnsPolicy", "str"),
                7: ("nodeSelector", "map"), 8: ("serviceAccountName", "str"),
                10: ("nodeName", "str"), 11: ("hostNetwork", "bool"),
                15: ("imagePullSecrets", "[]LocalObjectReference"), 16: ("hostname", "str"),
                19: ("schedulerName", "str"), 20: ("initContainers", "[]Container"),
                24: ("priorityClassName", "str")},
    "Container": {1: ("name", "str"), 2: ("image", "str"), 3: ("command", "[]str"),
                  4: ("args", "[]str"), 5: ("workingDir", "str"),
                  6: ("ports", "[]ContainerPort"), 7: ("env", "[]EnvVar"),
                  8: ("resources", "ResourceRequirements"),
                  13: ("terminationMessagePath", "str"), 14: ("imagePullPolicy", "str"),
                  16: ("stdin", "bool"), 17: ("stdinOnce", "bool"), 18: ("tty", "bool"),
                  20: ("terminationMessagePolicy", "str")},
    "ContainerPort": {1: ("name", "str"), 2: ("hostPort", "int"), 3: ("containerPort", "int"),
                      4: ("protocol", "str"), 5: ("hostIP", "str")},
    "EnvVar": {1: ("name", "str"), 2: ("value", "str")},
    "ResourceRequirements": {1: ("limits", "mapquantity"), 2: ("requests", "mapquantity")},
    # the reviews of ``kubectl auth can-i`` / ``can-i --list`` / ``whoami``
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "str"), 2: ("verb", "str"), 3: ("group", "str"),
                           4: ("version", "str"), 5: ("resource", "str"),
                           6: ("subresource", "str"), 7: ("name", "str")},
    "NonResourceAttributes": {1: ("path", "str"), 2: ("verb", "str")},
    "SelfSubjectRulesReview": {1: ("metadata", "ObjectMeta"),
                               2: ("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "str")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: Any) -> Any:
    if kind == "str":
        return bytes(value).decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "int":
        return _signed(int(value))
    if kind == "bool":
        return bool(value)
    if kind == "time":
        parts = {n: v for n, _, v in _fields(value)}
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_signed(parts.get(1, 0))))
    if kind == "intstr":
        parts = {n: v for n, _, v in _fields(value)}
        if parts.get(1, 0) == 1:
            return bytes(parts.get(3, b"")).decode()
        return _signed(parts.get(2, 0))
    if kind == "quantity":
        return bytes({n: v for n, _, v in _fields(value)}.get(1, b"")).decode()
    return _message(kind, value)


def _message(name: str, data: bytes) -> dict[str, Any]:
    schema = _S[name]
    out: dict[str, Any] = {}
    for number, _wire, value in _fields(data):
        if number not in schema:
            continue
        key, kind = schema[number]
        if kind.startswith("map"):
            entry = {n: v for n, _, v in _fields(value)}
            inner = {"map": "str", "mapbytes": "bytes", "mapquantity": "quantity"}[kind]
            out.setdefault(key, {})[bytes(entry.get(1, b"")).decode()] = _scalar(
                inner, entry.get(2, b""))
        elif kind.startswith("[]"):
            out.setdefault(key, []).append(_scalar(kind[2:], value))
        else:
            decoded = _scalar(kind, value)
            if _is_unset(key, kind, decoded):
                continue
            out[key] = decoded
    return out


# Go pointer fields: a zero value on the wire was set on purpose (others are omitted in JSON).
_POINTERS = {"replicas", "revisionHistoryLimit", "progressDeadlineSeconds", "immutable",
             "terminationGracePeriodSeconds", "automountServiceAccountToken", "controller",
             "deletionGracePeriodSeconds", "blockOwnerDeletion"}


def _is_unset(key: str, kind: str, value: Any) -> bool:
    if kind == "str":
        return value == ""
    if kind in ("int", "bool"):
        return not value and key not in _POINTERS
    if kind == "time":
        return value == "1970-01-01T00:00:00Z"
    return False


def decode_kubernetes_protobuf(body: bytes) -> dict[str, Any]:
    """The object in a ``k8s\\0``-prefixed protobuf body, as its JSON form would be."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the Kubernetes protobuf magic")
    try:
        unknown = _message("Unknown", body[len(MAGIC):])
        type_meta = unknown.get("typeMeta") or {}
        kind = str(type_meta.get("kind", ""))
        if kind not in _S or "metadata" not in {k for k, _ in _S[kind].values()}:
            raise ProtobufError(f"protobuf bodies of kind {kind!r} are not supported; send JSON")
        obj = _message(kind, base64.b64decode(unknown.get("raw", "")))
    except (KeyError, IndexError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ProtobufError):
            raise
        raise ProtobufError(f"malformed protobuf body: {exc}") from exc
    result: dict[str, Any] = {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind}
    result.update(obj)
    return result
