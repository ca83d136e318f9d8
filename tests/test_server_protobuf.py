"""Protobuf bodies as client-go (kubectl create ...) sends them for built-in kinds."""

from __future__ import annotations

import pytest
import requests

from dynakube.apiserver.http.protobuf import ProtobufError, decode_kubernetes_protobuf
from dynakube.testing import ApiServer


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return b"k8s\x00" + field(1, type_meta) + field(2, raw)


def configmap() -> bytes:
    meta = field(1, "from-proto") + field(2, "") + field(7, 0) + \
        field(11, field(1, "app") + field(2, "web")) + field(8, b"")
    raw = field(1, meta) + field(2, field(1, "a") + field(2, "1")) + \
        field(3, field(1, "bin") + field(2, b"\x00\x01")) + field(4, 0)
    return envelope("v1", "ConfigMap", raw)


def test_decode_configmap() -> None:
    assert decode_kubernetes_protobuf(configmap()) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "from-proto", "labels": {"app": "web"}},
        "data": {"a": "1"}, "binaryData": {"bin": "AAE="}, "immutable": False,
    }


def test_decode_deployment_keeps_explicit_zero_replicas() -> None:
    container = field(1, "c") + field(2, "nginx") + field(6, field(3, 80))
    template = field(1, field(11, field(1, "app") + field(2, "x"))) + field(2, field(2, container))
    spec = field(1, 0) + field(2, field(1, field(1, "app") + field(2, "x"))) + field(3, template)
    obj = decode_kubernetes_protobuf(envelope("apps/v1", "Deployment",
                                              field(1, field(1, "d")) + field(2, spec)))
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["template"]["spec"]["containers"] == [
        {"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]


def test_undecodable_bodies() -> None:
    with pytest.raises(ProtobufError, match="magic"):
        decode_kubernetes_protobuf(b"{}")
    with pytest.raises(ProtobufError, match="not supported"):
        decode_kubernetes_protobuf(envelope("batch/v1", "Job", b""))
    with pytest.raises(ProtobufError):
        decode_kubernetes_protobuf(b"k8s\x00\x0a\xff")


def test_server_accepts_protobuf_creates(kube_server: ApiServer) -> None:
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {kube_server.token}"
    answer = s.post(kube_server.url + "/api/v1/namespaces/default/configmaps", data=configmap(),
                    headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                             "Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert answer.status_code == 201
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["data"] == {"a": "1"}
    refused = s.post(kube_server.url + "/api/v1/namespaces/default/configmaps",
                     data=envelope("v1", "Event", b""),
                     headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert refused.status_code == 415
