"""``dynakube scale --replicas=N [--current-replicas=M] TYPE NAME...``: through the scale
subresource, so it works for Deployments, StatefulSets, ReplicaSets and any custom resource
that declares one, as ``kubectl scale`` does.

Without ``--current-replicas`` each object gets one merge patch of its scale; with it, the
scale is read, compared, and written back with its resourceVersion, so a change made in
between is a conflict rather than a lost update.
"""

from __future__ import annotations

from ..errors import ApiError, InvalidArgumentError
from .session import Session, UsageError
from .targets import Target, report, select

__all__ = ["cmd_scale"]


def _scale(target: Target, replicas: int, current: int) -> None:
    scale = target.resource.scale
    if current < 0:
        scale.patch(target.name, {"spec": {"replicas": replicas}}, target.namespace)
        return
    now = scale.get(target.name, target.namespace)
    have = (now.get("spec") or {}).get("replicas", 0)
    if have != current:
        raise UsageError(f"Expected replicas to be {current}, was {have}")
    now["spec"] = dict(now.get("spec") or {}, replicas=replicas)
    scale.replace(now, target.namespace)


def cmd_scale(session: Session) -> int:
    args = session.args
    if args.replicas < 0:
        raise UsageError("The --replicas=COUNT flag is required, and COUNT must be greater "
                         "than or equal to 0")
    failed = [False]
    for target in select(session, args.resource, args.names, prog="scale", failed=failed,
                         missing="no objects passed to scale "):
        try:
            _scale(target, args.replicas, args.current_replicas)
        except InvalidArgumentError as e:  # the kind has no scale subresource
            raise UsageError(f"{target.resource.info.qualified} cannot be scaled: {e}") from e
        except ApiError as e:
            report(session, e, failed)
            continue
        session.stdout.write(f"{target.label()} scaled\n")
    return 1 if failed[0] else 0
