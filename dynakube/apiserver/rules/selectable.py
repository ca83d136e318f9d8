"""Field selectors: which labels each kind accepts and what they select.

A real server first converts each label of a ``fieldSelector`` with the requested version's
field label conversion (``AddFieldLabelConversionFunc``, or the default one that knows only
``metadata.name`` and ``metadata.namespace``), refusing unknown labels with that function's
own wording, then matches the converted label against the stored object's selectable
fields (``ToSelectableFields`` of the kind's registry). ``events.k8s.io`` Events are core
Events in storage, so their labels (``regarding.kind``, ``reportingController``) select core
fields. A selectable field the object lacks selects ``""``, as Go's ``fields.Set`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldLabels", "field_labels", "selectable_fields"]

Obj = Mapping[str, Any]
_META = ("metadata.name", "metadata.namespace")
_NOT_SUPPORTED = "field label not supported: {label}"
_DEFAULT_REFUSAL = ('{quoted} is not a known field selector: only "metadata.name", '
                    '"metadata.namespace"')
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                 "involvedObject.uid", "involvedObject.apiVersion",
                 "involvedObject.resourceVersion", "involvedObject.fieldPath")


@dataclass(frozen=True)
class FieldLabels:
    """One kind's field label conversion: accepted label -> the selectable field it means."""

    accepted: Mapping[str, str]
    refusal: str = _NOT_SUPPORTED

    def refuse(self, label: str) -> str | None:
        """The real ``400`` message for ``label``, ``None`` when it is accepted."""
        if label in self.accepted:
            return None
        return self.refusal.format(label=label, quoted=json.dumps(label))


def _same(*labels: str) -> dict[str, str]:
    return {label: label for label in labels}


_CONVERSIONS: dict[tuple[str, str], FieldLabels] = {
    ("", "Pod"): FieldLabels({
        **_same(*_META, "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                "status.podIPs", "status.nominatedNodeName"),
        "spec.host": "spec.nodeName"}),  # what old v1 clients send
    ("", "Node"): FieldLabels(_same("metadata.name", "spec.unschedulable")),
    ("", "ReplicationController"): FieldLabels(_same(*_META, "status.replicas")),
    ("", "Event"): FieldLabels(_same(*_EVENT_FIELDS, "reason", "reportingComponent", "source",
                                     "type", *_META)),
    ("", "Namespace"): FieldLabels(_same("status.phase", "metadata.name")),
    ("", "Secret"): FieldLabels(_same("type", *_META)),
    ("", "Service"): FieldLabels(_same(*_META, "spec.clusterIP", "spec.type")),
    ("events.k8s.io", "Event"): FieldLabels({
        **{"regarding." + f.partition(".")[2]: f for f in _EVENT_FIELDS},
        **_same("reason", "source", "type", *_META),
        "reportingController": "reportingComponent"}),
    ("batch", "Job"): FieldLabels(_same(*_META, "status.successful"),
                                  "field label {quoted} not supported for batchv1.Job"),
    ("certificates.k8s.io", "CertificateSigningRequest"): FieldLabels(
        _same("metadata.name", "spec.signerName")),
    ("certificates.k8s.io", "ClusterTrustBundle"): FieldLabels(
        _same("metadata.name", "spec.signerName")),
    ("certificates.k8s.io", "PodCertificateRequest"): FieldLabels(
        _same("metadata.name", "spec.signerName", "spec.podName", "spec.nodeName")),
}
_DEFAULT = FieldLabels(_same(*_META), _DEFAULT_REFUSAL)


def field_labels(group: str, kind: str) -> FieldLabels:
    """The field label conversion of ``group``/``kind`` (custom resources: the default)."""
    return _CONVERSIONS.get((group, kind), _DEFAULT)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _at(obj: Obj, path: str) -> Any:
    value: Any = obj
    for name in path.split("."):
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def _pod_ip(obj: Obj) -> str:
    ips = _at(obj, "status.podIPs")
    if isinstance(ips, list) and ips and isinstance(ips[0], Mapping):
        return _text(ips[0].get("ip"))
    return _text(_at(obj, "status.podIP"))


def _event_source(obj: Obj) -> str:
    return _text(_at(obj, "source.component")) or _text(obj.get("reportingComponent"))


_Getter = Callable[[Obj], str]


def _path(path: str) -> _Getter:
    return lambda obj: _text(_at(obj, path))


def _paths(*paths: str) -> dict[str, _Getter]:
    return {path: _path(path) for path in paths}


_FIELDS: dict[str, dict[str, _Getter]] = {
    "Pod": {**_paths("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                     "spec.serviceAccountName", "status.phase", "status.nominatedNodeName"),
            "spec.hostNetwork": lambda o: _text(bool(_at(o, "spec.hostNetwork"))),
            "status.podIP": _pod_ip},
    "Node": {"spec.unschedulable": lambda o: _text(bool(_at(o, "spec.unschedulable")))},
    "ReplicationController": {"status.replicas": lambda o: _text(_at(o, "status.replicas") or 0)},
    "Event": {**_paths(*_EVENT_FIELDS, "reason", "reportingComponent", "type"),
              "source": _event_source},
    "Namespace": _paths("status.phase"),
    "Secret": _paths("type"),
    "Service": _paths("spec.clusterIP", "spec.type"),
    "Job": {"status.successful": lambda o: _text(_at(o, "status.succeeded") or 0)},
    "CertificateSigningRequest": _paths("spec.signerName"),
    "ClusterTrustBundle": _paths("spec.signerName"),
    "PodCertificateRequest": _paths("spec.signerName", "spec.podName", "spec.nodeName"),
}


def selectable_fields(obj: Obj, namespaced: bool = True) -> dict[str, str]:
    """The selectable fields of a stored object (storage version), by their core names."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    values = {"metadata.name": _text(meta.get("name"))}
    if namespaced:
        values["metadata.namespace"] = _text(meta.get("namespace"))
    for name, get in _FIELDS.get(str(obj.get("kind")), {}).items():
        values[name] = get(obj)
    return values
