"""``dynakube rollout status TYPE NAME``: follow a Deployment, StatefulSet or DaemonSet until
its rollout is done, printing kubectl's messages as the status changes.

Built on a watch of the one object (from the resourceVersion it was read at, so no change is
missed): each ADDED or MODIFIED event prints the status line again, as kubectl does, and a
finished rollout ends the command. ``--timeout`` ends it with kubectl's ``timed out waiting
for the condition`` (exit 1); a deleted object is an error too. The messages are computed by
:func:`rollout_status` from the object alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DynakubeError
from .session import Session, UsageError
from .targets import select
from .wait import duration_flag

__all__ = ["RolloutError", "cmd_rollout", "rollout_status"]


class RolloutError(DynakubeError):
    """The rollout cannot finish (progress deadline exceeded, an OnDelete strategy...)."""


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def rollout_status(kind: str, obj: Mapping[str, Any]) -> tuple[str, bool]:
    """kubectl's status line for ``obj`` and whether the rollout is done."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = meta.get("name")
    generation = _int(meta.get("generation"))
    observed = _int(status.get("observedGeneration"))
    if kind == "Deployment":
        return _deployment(name, spec, status, generation <= observed)
    if kind == "DaemonSet":
        if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            raise RolloutError("rollout status is only available for RollingUpdate strategy "
                               "type")
        if generation > observed:
            return "Waiting for daemon set spec update to be observed...", False
        desired = _int(status.get("desiredNumberScheduled"))
        updated = _int(status.get("updatedNumberScheduled"))
        available = _int(status.get("numberAvailable"))
        if updated < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of '
                    f"{desired} new pods have been updated..."), False
        if available < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {available} of '
                    f"{desired} updated pods are available..."), False
        return f'daemon set "{name}" successfully rolled out', True
    if kind == "StatefulSet":
        return _statefulset(spec, status, generation, observed)
    raise RolloutError(f"no status viewer has been implemented for {kind}")


def _deployment(name: Any, spec: Mapping[str, Any], status: Mapping[str, Any],
                observed: bool) -> tuple[str, bool]:
    if not observed:
        return "Waiting for deployment spec update to be observed...", False
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and \
                condition.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutError(f'deployment "{name}" exceeded its progress deadline')
    wanted = spec.get("replicas")
    updated = _int(status.get("updatedReplicas"))
    replicas = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if isinstance(wanted, int) and updated < wanted:
        return f"{waiting}{updated} out of {wanted} new replicas have been updated...", False
    if replicas > updated:
        return f"{waiting}{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def _statefulset(spec: Mapping[str, Any], status: Mapping[str, Any], generation: int,
                 observed: int) -> tuple[str, bool]:
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise RolloutError("rollout status is only available for RollingUpdate strategy type")
    if observed == 0 or generation > observed:
        return "Waiting for statefulset spec update to be observed...", False
    wanted = spec.get("replicas")
    ready = _int(status.get("readyReplicas"))
    updated = _int(status.get("updatedReplicas"))
    if isinstance(wanted, int) and ready < wanted:
        return f"Waiting for {wanted - ready} pods to be ready...", False
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    if strategy.get("rollingUpdate") is not None:
        if isinstance(wanted, int) and isinstance(partition, int) and \
                updated < wanted - partition:
            return (f"Waiting for partitioned roll out to finish: {updated} out of "
                    f"{wanted - partition} new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    revision = status.get("updateRevision")
    if revision != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at "
                f"revision {revision}..."), False
    return (f"statefulset rolling update complete {_int(status.get('currentReplicas'))} pods "
            f"at revision {status.get('currentRevision')}..."), True


def cmd_rollout(session: Session) -> int:
    args = session.args
    if not args.resource:
        raise UsageError("required resource not specified")
    if "/" not in args.resource and not args.names and not args.selector:
        args.all = True  # as kubectl: `rollout status deploy` follows each in turn
    timeout = duration_flag(args.timeout, "--timeout", "rollout status")
    failed = [False]
    targets = list(select(session, args.resource, args.names, prog="rollout status",
                          failed=failed))
    for target in targets:
        kind = target.resource.info.kind
        if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            group = target.resource.info.group
            raise RolloutError("no status viewer has been implemented for "
                               + (f"{kind}.{group}" if group else kind))
        _follow(session, target.resource, target.obj, timeout or None)
    return 1 if failed[0] else 0


def _follow(session: Session, resource: Any, obj: dict[str, Any],
            timeout: float | None) -> None:
    kind = resource.info.kind
    out = session.stdout
    message, done = rollout_status(kind, obj)
    out.write(message + "\n")
    out.flush()
    if done or not session.args.watch:
        return
    meta = obj["metadata"]
    stream = resource.watch(meta.get("namespace"), resource_version=meta.get("resourceVersion"),
                            field_selector=f"metadata.name={meta['name']}", timeout=timeout)
    with stream:
        for event in stream:
            if event.type == "ERROR":
                error = event.as_error()
                if error is not None:
                    raise error
            if event.type == "DELETED":
                raise RolloutError("object has been deleted")
            if event.type not in ("ADDED", "MODIFIED"):
                continue
            message, done = rollout_status(kind, event.object)
            out.write(message + "\n")
            out.flush()
            if done:
                return
    raise RolloutError("timed out waiting for the condition")
