"""``dynakube port-forward POD|TYPE/NAME [LOCAL:]REMOTE...``, as ``kubectl port-forward``.

Prints ``Forwarding from 127.0.0.1:LOCAL -> REMOTE`` for each port (kubectl's words), then
forwards until interrupted. ``svc/NAME`` (or a workload) picks a Pod from the selector and,
for a Service, turns each service port into its ``targetPort`` (a named target port is
looked up among the Pod's container ports), as kubectl's
``translateServicePortToTargetPort`` does; a Pod's named port works the same way. A remote
error closes that connection only and is reported on stderr.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError
from .session import Session, UsageError

if TYPE_CHECKING:
    from ..transport.forwarding import ForwardError

__all__ = ["add_port_forward_command", "cmd_port_forward", "translate_ports"]


def add_port_forward_command(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The ``port-forward`` subcommand's flags."""
    p = command("port-forward", "forward one or more local ports to a pod")
    p.add_argument("target", metavar="POD|TYPE/NAME")
    p.add_argument("ports", nargs="*", metavar="[LOCAL:]REMOTE")
    p.add_argument("--address", default="127.0.0.1", metavar="ADDRESS",
                   help="the local address to listen on (default 127.0.0.1)")


def _container_port(pod: Mapping[str, Any], name: str) -> int:
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name and port.get("containerPort"):
                return int(port["containerPort"])
    raise InvalidArgumentError(f"Pod '{(pod.get('metadata') or {}).get('name')}' does not "
                               f"have a named port '{name}'")


def translate_ports(specs: list[str], pod: Mapping[str, Any],
                    service: Mapping[str, Any] | None = None) -> list[str]:
    """``[LOCAL:]REMOTE`` specs with service ports and port names made container ports."""
    out = []
    for spec in specs:
        local, sep, remote = spec.rpartition(":")
        if not remote:
            raise InvalidArgumentError(f"invalid port format '{spec}'")
        target: int | str = remote
        if service is not None:
            ports = (service.get("spec") or {}).get("ports") or []
            match = next((p for p in ports if str(p.get("port")) == remote
                          or (not remote.isdigit() and p.get("name") == remote)), None)
            if match is None:
                raise InvalidArgumentError(f"Service {service['metadata']['name']} does not "
                                           f"have a service port {remote}")
            target = match.get("targetPort") or match.get("port")
            remote = str(match.get("port"))
        if isinstance(target, str) and not target.isdigit():
            target = _container_port(pod, target)
        if not sep and service is not None and str(target) != remote:
            local = remote  # kubectl listens on the service port when LOCAL is left out
        out.append(f"{local}:{target}" if sep or local else str(target))
    return out


def cmd_port_forward(session: Session) -> int:
    args = session.args
    if not args.ports:
        raise UsageError("at least 1 PORT is required for port-forward")
    kind, _, name = args.target.rpartition("/")
    handle = session.client.resource(kind or "pods")
    choice = handle.log_pod(name, args.namespace)
    pods = session.client.resource("pods")
    pod = pods.get(choice.name, choice.namespace)
    service = handle.get(name, args.namespace) if handle.info.kind == "Service" else None
    specs = translate_ports(args.ports, pod, service)

    listening: dict[int, int] = {}

    def report(error: ForwardError) -> None:  # kubectl's words
        session.stderr.write(f"error: an error occurred forwarding "
                             f"{listening.get(error.port, '?')} -> {error.port}: {error}\n")
        session.stderr.flush()

    with pods.port_forward(choice.name, specs, choice.namespace, address=args.address,
                           on_error=report) as fwd:
        listening.update(fwd.ports)
        for spec in specs:
            remote = int(spec.rpartition(":")[2])
            session.stdout.write(f"Forwarding from {fwd.address}:{fwd.ports[remote]} -> "
                                 f"{remote}\n")
        session.stdout.flush()
        threading.Event().wait()  # until Ctrl-C (main() turns it into exit code 130)
    return 0
