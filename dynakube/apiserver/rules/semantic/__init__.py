"""Semantic validation of built-in objects: what kube-apiserver 1.36 refuses with ``422
Invalid`` although the OpenAPI schema accepts it (name formats, label syntax, selectors that
match their templates, port ranges, enum-like strings, required keys, immutable fields).

:func:`validate` is pure: it takes the object as it would be stored (after defaulting), the
stored object on an update, and the kind, and returns the ``details.causes`` the real server
would send, in its order and wording; ``status.invalid`` turns them into the ``422``.
Fields that defaulting fills in count as their default when absent, so undefaulted objects
are judged as the real server judges them once defaulted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ...status import invalid
from . import (
    admission,
    autoscaling,
    certificates,
    events,
    jobs,
    limits,
    networking,
    quota,
    rbac,
    scheduling,
    secrets,
    services,
    storage,
    workloads,
)
from .fields import Cause
from .immutable import custom_resource_update, pod_update
from .metadata import configmap, finalizer, mapping, name_rule, object_meta
from .podspec import pod_spec, pod_template

__all__ = ["validate", "status_kind", "check", "check_allocation", "check_replace",
           "custom_resource_update",
           "GroupKind", "ServedKind", "Cause"]


class GroupKind(Protocol):
    """What :func:`validate` needs of a kind (``KindSpec`` has it)."""

    @property
    def group(self) -> str: ...

    @property
    def kind(self) -> str: ...


class ServedKind(GroupKind, Protocol):
    """A kind as the server serves it (``KindSpec``): also its resource and origin."""

    @property
    def plural(self) -> str: ...

    @property
    def is_custom(self) -> bool: ...


Obj = Mapping[str, Any]
Rule = Callable[[Obj, "Obj | None"], list[Cause]]


def _pod(obj: Obj, old: Obj | None) -> list[Cause]:
    out = pod_spec(obj.get("spec"), "spec")
    return out + (pod_update(obj, old) if old is not None else [])


def _namespace(obj: Obj, old: Obj | None) -> list[Cause]:
    found = mapping(obj.get("spec")).get("finalizers")
    out: list[Cause] = []
    for f in found if isinstance(found, list) else []:
        if isinstance(f, str):
            out += finalizer(f, "spec.finalizers")
    return out


_RULES: dict[tuple[str, str], Rule] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): lambda obj, old: pod_template(obj.get("template"), "template"),
    ("", "ConfigMap"): configmap,
    ("", "Secret"): secrets.secret,
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): storage.pvc,
    ("apps", "Deployment"): workloads.deployment,
    ("apps", "ReplicaSet"): workloads.replica_set,
    ("apps", "DaemonSet"): workloads.daemon_set,
    ("apps", "StatefulSet"): workloads.stateful_set,
    ("batch", "Job"): jobs.job,
    ("batch", "CronJob"): jobs.cron_job,
    (rbac.GROUP, "Role"): lambda obj, old: rbac.role(obj, True),
    (rbac.GROUP, "ClusterRole"): lambda obj, old: rbac.role(obj, False),
    (rbac.GROUP, "RoleBinding"): lambda obj, old: rbac.binding(obj, old, True),
    (rbac.GROUP, "ClusterRoleBinding"): lambda obj, old: rbac.binding(obj, old, False),
    ("networking.k8s.io", "NetworkPolicy"): networking.network_policy,
    ("networking.k8s.io", "Ingress"): networking.ingress,
    ("discovery.k8s.io", "EndpointSlice"): networking.endpoint_slice,
    ("storage.k8s.io", "StorageClass"): storage.storage_class,
    ("scheduling.k8s.io", "PriorityClass"): scheduling.priority_class,
    ("policy", "PodDisruptionBudget"): scheduling.disruption_budget,
    ("coordination.k8s.io", "Lease"): scheduling.lease,
    ("", "ResourceQuota"): quota.resource_quota,
    ("", "LimitRange"): limits.limit_range,
    ("certificates.k8s.io", "CertificateSigningRequest"): certificates.certificate_signing_request,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.horizontal_pod_autoscaler,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"):
        admission.webhook_configuration,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"):
        admission.webhook_configuration,
}


# Review requests are answered, never stored: nothing checks their metadata.
_UNSTORED = frozenset({
    ("authentication.k8s.io", "TokenReview"), ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
})


def _is_custom(group: str, kind: Any) -> bool:
    flag = getattr(kind, "is_custom", None)
    if isinstance(flag, bool):
        return flag
    return "." in group and not group.endswith(".k8s.io")


def validate(obj: Obj, old: Obj | None, kind: GroupKind | tuple[str, str], *,
             dry_run: bool = False) -> list[Cause]:
    """The causes of a ``422 Invalid`` for ``obj`` (``[]`` when the real server accepts it).

    ``kind`` is a ``KindSpec`` (anything with ``group`` and ``kind``) or ``(group, kind)``.
    ``old`` is the stored object on an update (replace or any patch), ``None`` on create.
    ``dry_run`` leaves out what only the allocators refuse (a node port out of range).
    """
    group, name = kind if isinstance(kind, tuple) else (kind.group, kind.kind)
    if not isinstance(obj, Mapping) or (group, name) in _UNSTORED:
        return []
    custom = _is_custom(group, kind)
    if (group, name) == ("", "Event"):
        return events.core_event(obj)
    out = object_meta(obj.get("metadata"), name_rule(group, name), update=old is not None,
                      custom=custom)
    if custom:
        return out
    if (group, name) == ("events.k8s.io", "Event"):
        return events.event(obj) + out + events.event_strict(obj)
    if (group, name) == ("", "Service"):
        return out + services.service(obj, old, dry_run=dry_run)
    rule = _RULES.get((group, name))
    return out + (rule(obj, old) if rule else [])


def _name(obj: Obj) -> str:
    return str(mapping(obj.get("metadata")).get("name") or "")


def status_kind(group: str, kind: str) -> tuple[str, str]:
    """The kind and group a ``422`` names: ``events.k8s.io`` Events are core Events inside."""
    return (kind, "") if (group, kind) == ("events.k8s.io", "Event") else (kind, group)


def check(obj: Obj, old: Obj | None, spec: ServedKind, *, dry_run: bool = False) -> None:
    """Raise the real server's ``422 Invalid`` when :func:`validate` finds causes (the
    admission step of every create, replace and patch, after defaulting)."""
    causes = validate(obj, old, spec, dry_run=dry_run)
    if causes:
        kind, group = status_kind(spec.group, spec.kind)
        raise invalid(kind, _name(obj), causes, group)


def check_allocation(obj: Obj, old: Obj | None, spec: ServedKind, others: Sequence[Obj],
                     networks: Mapping[str, Any], *, dry_run: bool = False) -> None:
    """Raise the allocators' ``422 Invalid`` for a Service (:func:`.services.allocation`):
    they run when the object is defaulted, before :func:`check`."""
    if (spec.group, spec.kind) != ("", "Service"):
        return
    causes = services.allocation(obj, old, others, networks, dry_run=dry_run)
    if causes:
        raise invalid("Service", _name(obj), causes, "")


def check_replace(new: Obj, spec: ServedKind) -> None:
    """A PUT of a custom resource must carry ``metadata.resourceVersion``."""
    if spec.is_custom:
        causes = custom_resource_update(new)
        if causes:
            raise invalid(spec.plural, _name(new), causes, spec.group)
