"""Defaults of the workload kinds: apps/v1, batch/v1, ReplicationController and PodTemplate.

Each fills its own fields (``SetDefaults_Deployment``, ``SetDefaults_Job`` ...) and its pod
template's. The Job's generated selector and labels need the object's ``metadata.uid``,
which the server assigns before defaulting. Fields the server always serializes (the zero
``status`` of a new workload, a template's ``metadata``) are filled in too, so an object
reads back as a real server returns it.
"""

from __future__ import annotations

from typing import Any

from dynakube.apiserver.kinds.podspec_defaults import default_pod_template, set_default

__all__ = ["WORKLOAD_DEFAULTERS", "WORKLOAD_STRATEGIES", "job_labels"]

Obj = dict[str, Any]
_MAX_INT32 = 2**31 - 1


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _template(spec: Obj) -> Obj | None:
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def _status(obj: Obj, **zeros: Any) -> None:
    """The status of a workload reads back with its non-omitempty fields at their zero value."""
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}
    for key, value in zeros.items():
        obj["status"].setdefault(key, value)


def _child(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def _deployment(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    set_default(spec, "replicas", 1)
    strategy = _child(spec, "strategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        set_default(rolling, "maxUnavailable", "25%")
        set_default(rolling, "maxSurge", "25%")
    set_default(spec, "revisionHistoryLimit", 10)
    set_default(spec, "progressDeadlineSeconds", 600)
    default_pod_template(_template(spec))
    _status(obj)


def _replica_set(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    set_default(spec, "replicas", 1)
    default_pod_template(_template(spec))
    _status(obj, replicas=0)


def _stateful_set(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    set_default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _child(spec, "updateStrategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        set_default(_child(strategy, "rollingUpdate"), "partition", 0)
    retention = _child(spec, "persistentVolumeClaimRetentionPolicy")
    set_default(retention, "whenDeleted", "Retain")
    set_default(retention, "whenScaled", "Retain")
    set_default(spec, "replicas", 1)
    set_default(spec, "revisionHistoryLimit", 10)
    spec.setdefault("serviceName", "")
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            set_default(_child(claim, "spec"), "volumeMode", "Filesystem")
            set_default(_child(claim, "status"), "phase", "Pending")
    default_pod_template(_template(spec))
    _status(obj, availableReplicas=0, replicas=0)


_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _daemon_set(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    strategy = _child(spec, "updateStrategy")
    set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        set_default(rolling, "maxUnavailable", 1)
        set_default(rolling, "maxSurge", 0)
    set_default(spec, "revisionHistoryLimit", 10)
    default_pod_template(_template(spec))
    # spec.templateGeneration of the internal type, kept in v1 as an annotation.
    generation = 1
    if old is not None:
        old_meta = old.get("metadata") or {}
        try:
            generation = int((old_meta.get("annotations") or {}).get(_TEMPLATE_GENERATION, 1))
        except (TypeError, ValueError):
            generation = 1
        if (old.get("spec") or {}).get("template") != spec.get("template"):
            generation += 1
    _child(_child(obj, "metadata"), "annotations")[_TEMPLATE_GENERATION] = str(generation)
    _status(obj, currentNumberScheduled=0, desiredNumberScheduled=0, numberMisscheduled=0,
            numberReady=0)


def _replication_controller(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    template = _template(spec)
    labels = ((template or {}).get("metadata") or {}).get("labels")
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = _child(obj, "metadata")
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    set_default(spec, "replicas", 1)
    default_pod_template(template)
    _status(obj, replicas=0)


def _pod_template(obj: Obj, old: Obj | None) -> None:
    template = obj.get("template")
    if isinstance(template, dict):
        default_pod_template(template)


def _job_spec(spec: Obj) -> None:
    """``SetDefaults_Job``'s spec part (a CronJob's jobTemplate does not get it)."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    set_default(spec, "parallelism", 1)
    set_default(spec, "completionMode", "NonIndexed")
    if spec.get("backoffLimit") is None:
        per_index = spec["completionMode"] == "Indexed" and spec.get(
            "backoffLimitPerIndex") is not None
        spec["backoffLimit"] = _MAX_INT32 if per_index else 6
    set_default(spec, "suspend", False)
    failure_policy = spec.get("podFailurePolicy")
    if isinstance(failure_policy, dict):
        for rule in failure_policy.get("rules") or []:
            for condition in (rule or {}).get("onPodConditions") or []:
                if isinstance(condition, dict):
                    set_default(condition, "status", "True")
    set_default(spec, "podReplacementPolicy",
                "Failed" if failure_policy is not None else "TerminatingOrFailed")
    set_default(spec, "manualSelector", False)


def _job(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    _job_spec(spec)
    default_pod_template(_template(spec))
    job_labels(obj, share=True)
    _status(obj)


def _job_strategy(obj: Obj, old: Obj | None) -> None:
    """The Job strategy's ``PrepareForCreate``: the generated selector and its labels."""
    spec = _spec(obj)
    template = _template(spec)
    meta = _child(obj, "metadata")
    if old is None and spec.get("manualSelector") is not True and template is not None:
        _generate_selector(meta, spec, template)
    shared = ((template or {}).get("metadata") or {}).get("labels")
    if isinstance(shared, dict) and meta.get("labels") is shared:
        meta["labels"] = {**meta["labels"]}  # one map until here: it saw the generated labels


def job_labels(obj: Obj, *, share: bool = False) -> bool:
    """``SetDefaults_Job``: a Job without labels takes its template's; whether it did.

    It runs when the body is decoded, before the strategy generates the selector's labels
    (so a Job whose template had none is validated without them), and again each time the
    stored Job is decoded, which is how the real answer shows them. ``share`` makes the two
    one map, as in Go, so that the Job sees the labels the strategy adds to its template.
    """
    template = (obj.get("spec") or {}).get("template")
    labels = ((template if isinstance(template, dict) else {}).get("metadata") or {}).get(
        "labels")
    meta = _child(obj, "metadata")
    if not labels or not isinstance(labels, dict) or meta.get("labels"):
        return False
    meta["labels"] = labels if share else dict(labels)
    return True


def _generate_selector(meta: Obj, spec: Obj, template: Obj) -> None:
    """The Job strategy's ``generateSelector``: pods select on the Job's own uid."""
    uid, name = meta.get("uid"), meta.get("name")
    if not uid:
        return
    labels = _child(_child(template, "metadata"), "labels")
    for key in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(key, name)
    for key in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(key, uid)
    _child(_child(spec, "selector"), "matchLabels").setdefault(
        "batch.kubernetes.io/controller-uid", uid)


def _cron_job(obj: Obj, old: Obj | None) -> None:
    spec = _spec(obj)
    set_default(spec, "concurrencyPolicy", "Allow")
    set_default(spec, "suspend", False)
    set_default(spec, "successfulJobsHistoryLimit", 3)
    set_default(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        if job_template.get("metadata") is None:
            job_template["metadata"] = {}
        job_spec = job_template.get("spec")
        if isinstance(job_spec, dict):
            default_pod_template(_template(job_spec))
    _status(obj)


WORKLOAD_DEFAULTERS = {
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cron_job,
    ("", "ReplicationController"): _replication_controller,
    ("", "PodTemplate"): _pod_template,
}
"""``(group, kind)`` → the function that defaults that workload in place (``old`` on updates)."""

WORKLOAD_STRATEGIES = {("batch", "Job"): _job_strategy}
"""``(group, kind)`` → what the workload's strategy sets after its defaults (and after the
field manager has seen them)."""
