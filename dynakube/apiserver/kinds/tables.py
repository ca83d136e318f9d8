"""Server-side table columns of the built-in workloads: pods, their controllers and batch.

The columns and cells follow kube-apiserver's printers (``pkg/printers/internalversion``): the
server always prints the wide form (``priority: 1`` columns included; ``kubectl`` hides them
unless ``-o wide``). Column descriptions are our own short words. :func:`builtin_columns` also
serves the cluster kinds of :mod:`.tables_cluster`; kinds without a printer get
:data:`.printers.DEFAULT_COLUMNS` (Name, Created At), as kube-apiserver's default table
convertor prints them (Role, ClusterRole, CustomResourceDefinition...).
"""

from __future__ import annotations

from typing import Any

from dynakube.apiserver.kinds.printers import (
    AGE_COLUMN,
    DEFAULT_COLUMNS,
    NAME_COLUMN,
    Cell,
    PrinterColumn,
    age_of,
    as_int,
    bool_text,
    column,
    field_cell,
    get,
    human_duration,
    items,
    labels_text,
    number_cell,
    parse_time,
    selector_cell,
)

__all__ = ["builtin_columns"]


def _count_items(*path: str) -> Cell:
    return lambda obj, now: len(items(obj, *path))


def _containers(key: str, *path: str) -> Cell:
    return lambda obj, now: ",".join(str(c.get(key, "")) for c in items(obj, *path))


def _ready_of_desired(obj: Any, now: float) -> str:
    return f"{as_int(get(obj, 'status', 'readyReplicas'))}/{as_int(get(obj, 'spec', 'replicas'))}"


def _workload(template: tuple[str, ...], selector: bool = True) -> tuple[PrinterColumn, ...]:
    columns = [
        column("Containers", "Names of the template's containers.",
             _containers("name", *template, "containers"), 1),
        column("Images", "Images of the template's containers.",
             _containers("image", *template, "containers"), 1),
    ]
    if selector:
        columns.append(column("Selector", "The label selector of the pods.",
                            selector_cell("spec", "selector"), 1))
    return tuple(columns)


_TEMPLATE = ("spec", "template", "spec")

# ---------------------------------------------------------------- pods


def _pod_status(obj: Any, now: float) -> str:
    reason = get(obj, "status", "reason") or get(obj, "status", "phase") or ""
    for status in items(obj, "status", "containerStatuses"):
        waiting = get(status, "state", "waiting", "reason")
        terminated = get(status, "state", "terminated", "reason")
        if waiting:
            reason = waiting
        elif terminated:
            reason = terminated
    if get(obj, "metadata", "deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_restarts(obj: Any, now: float) -> str:
    statuses = items(obj, "status", "containerStatuses")
    restarts = sum(as_int(s.get("restartCount")) for s in statuses)
    last = [t for s in statuses if (t := get(s, "lastState", "terminated", "finishedAt"))]
    if restarts and last:
        return f"{restarts} ({age_of(max(last), now)} ago)"
    return str(restarts)


def _readiness_gates(obj: Any, now: float) -> str:
    gates = items(obj, "spec", "readinessGates")
    if not gates:
        return "<none>"
    true = {c.get("type") for c in items(obj, "status", "conditions") if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"


def _pod_ready(obj: Any, now: float) -> str:
    ready = sum(1 for s in items(obj, "status", "containerStatuses") if s.get("ready") is True)
    return f"{ready}/{len(items(obj, 'spec', 'containers'))}"


# ---------------------------------------------------------------- batch


def _job_completions(obj: Any, now: float) -> str:
    succeeded = as_int(get(obj, "status", "succeeded"))
    completions = get(obj, "spec", "completions")
    if isinstance(completions, int):
        return f"{succeeded}/{completions}"
    parallelism = as_int(get(obj, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _has_condition(obj: Any, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in items(obj, "status", "conditions"))


def _job_status(obj: Any, now: float) -> str:
    if _has_condition(obj, "Complete"):
        return "Complete"
    if _has_condition(obj, "Failed"):
        return "Failed"
    if get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    if _has_condition(obj, "Suspended"):
        return "Suspended"
    if _has_condition(obj, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job_duration(obj: Any, now: float) -> str:
    start = get(obj, "status", "startTime")
    if not start:
        return ""
    done = get(obj, "status", "completionTime")
    if not done:
        return age_of(start, now)
    begin, end = parse_time(start), parse_time(done)
    return human_duration(end - begin) if begin is not None and end is not None else ""


def _last_schedule(obj: Any, now: float) -> str:
    when = get(obj, "status", "lastScheduleTime")
    return age_of(when, now) if when else "<none>"


_DESIRED = "Desired replicas."
_TABLES: dict[str, tuple[PrinterColumn, ...]] = {
    "Pod": (
        NAME_COLUMN, column("Ready", "Ready containers out of all.", _pod_ready),
        column("Status", "The pod's aggregate state.", _pod_status),
        column("Restarts", "Container restarts, and when the last was.", _pod_restarts),
        AGE_COLUMN,
        column("IP", "The pod's IP address.", field_cell("status", "podIP", default="<none>"), 1),
        column("Node", "The node the pod runs on.",
               field_cell("spec", "nodeName", default="<none>"), 1),
        column("Nominated Node", "The node the scheduler nominated.",
             field_cell("status", "nominatedNodeName", default="<none>"), 1),
        column("Readiness Gates", "Readiness gates that are true, out of all.",
               _readiness_gates, 1),
    ),
    "Deployment": (
        NAME_COLUMN, column("Ready", "Ready replicas out of desired.", _ready_of_desired),
        column("Up-to-date", "Replicas running the latest template.",
             number_cell("status", "updatedReplicas")),
        column("Available", "Replicas available to serve.",
               number_cell("status", "availableReplicas")),
        AGE_COLUMN, *_workload(_TEMPLATE),
    ),
    "ReplicaSet": (
        NAME_COLUMN, column("Desired", _DESIRED, number_cell("spec", "replicas"), kind="integer"),
        column("Current", "Current replicas.", number_cell("status", "replicas"), kind="integer"),
        column("Ready", "Ready replicas.", number_cell("status", "readyReplicas"), kind="integer"),
        AGE_COLUMN, *_workload(_TEMPLATE),
    ),
    "ReplicationController": (
        NAME_COLUMN, column("Desired", _DESIRED, number_cell("spec", "replicas"), kind="integer"),
        column("Current", "Current replicas.", number_cell("status", "replicas"), kind="integer"),
        column("Ready", "Ready replicas.", number_cell("status", "readyReplicas"), kind="integer"),
        AGE_COLUMN, *_workload(_TEMPLATE, selector=False),
        column("Selector", "The label selector of the pods.",
             lambda o, n: labels_text(get(o, "spec", "selector")), 1),
    ),
    "StatefulSet": (
        NAME_COLUMN, column("Ready", "Ready replicas out of desired.", _ready_of_desired),
        AGE_COLUMN, *_workload(_TEMPLATE, selector=False),
    ),
    "DaemonSet": (
        NAME_COLUMN,
        *(column(name, f"{name} pods.", number_cell("status", field), kind="integer")
          for name, field in (("Desired", "desiredNumberScheduled"),
                              ("Current", "currentNumberScheduled"), ("Ready", "numberReady"),
                              ("Up-to-date", "updatedNumberScheduled"),
                              ("Available", "numberAvailable"))),
        column("Node Selector", "Nodes the pods may run on.",
             lambda o, n: labels_text(get(o, *_TEMPLATE, "nodeSelector"))),
        AGE_COLUMN, *_workload(_TEMPLATE),
    ),
    "Job": (
        NAME_COLUMN, column("Status", "The job's state.", _job_status),
        column("Completions", "Succeeded pods out of those wanted.", _job_completions),
        column("Duration", "How long the job ran.", _job_duration),
        AGE_COLUMN, *_workload(_TEMPLATE),
    ),
    "CronJob": (
        NAME_COLUMN, column("Schedule", "The cron schedule.", field_cell("spec", "schedule")),
        column("Timezone", "The schedule's time zone.",
             field_cell("spec", "timeZone", default="<none>")),
        column("Suspend", "Whether new runs are suspended.",
             lambda o, n: bool_text(get(o, "spec", "suspend")), kind="boolean"),
        column("Active", "Running jobs.", _count_items("status", "active"), kind="integer"),
        column("Last Schedule", "When a job was last scheduled.", _last_schedule),
        AGE_COLUMN,
        column("Containers", "Names of the template's containers.",
             _containers("name", "spec", "jobTemplate", *_TEMPLATE, "containers"), 1),
        column("Images", "Images of the template's containers.",
             _containers("image", "spec", "jobTemplate", *_TEMPLATE, "containers"), 1),
        column("Selector", "The label selector of the pods.",
             selector_cell("spec", "jobTemplate", "spec", "selector"), 1),
    ),}


def builtin_columns(group: str, kind: str) -> tuple[PrinterColumn, ...]:
    """The table columns of built-in ``kind``; the default table for kinds without a printer."""
    from dynakube.apiserver.kinds.tables_cluster import CLUSTER_TABLES

    return _TABLES.get(kind) or CLUSTER_TABLES.get(kind) or DEFAULT_COLUMNS
