"""``pods/{name}/portforward``: kube-apiserver's checks, then the kubelet's port-forward
over a plain WebSocket (``v4.channel.k8s.io`` / ``portforward.k8s.io``).

kube-apiserver finds the Pod (``404``) and its node (``400 pod p does not have a host
assigned``); the kubelet reads the ports (``query parameter "port" is required``, ...). After
the upgrade, the i-th port has the data channel ``2*i`` and the error channel ``2*i+1``; the
server's first message on each is the port as two little-endian bytes, then data flows both
ways on the data channel, each direction through one blocking send at a time (bounded
memory). A port that cannot be reached gets the kubelet's error text on its error channel.
When every port's connection has ended, the WebSocket closes.

:func:`open_pod_port` is the seam shared with the SPDY port-forward of ``kubectl``: one TCP
connection into the Pod, or :class:`~..rules.podstreams.PortForwardError`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from ..call import Call
from ..objects import Obj
from ..rules.podstreams import PodConnection, PortForwardError, stored_pod
from ..status import bad_request
from .channels import CHUNK_BYTES, MessageSocket
from .crud import Api

__all__ = ["PORTFORWARD_PROTOCOLS", "forward_ports", "open_pod_port", "portforward_target"]

PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")
"""The plain WebSocket subprotocols served here (the SPDY tunnel is served elsewhere)."""


def _ports(values: Sequence[str]) -> list[int]:
    """The kubelet's ``NewV4Options``: every ``ports`` value, comma lists included."""
    if not values:
        raise bad_request('query parameter "port" is required')
    ports = []
    for text in values:
        if not text:
            raise bad_request('query parameter "port" cannot be empty')
        for part in text.split(","):
            if not part.isdigit() or int(part) > 65535:
                why = "value out of range" if part.isdigit() else "invalid syntax"
                raise bad_request(f'unable to parse "{text}" as a port: strconv.ParseUint: '
                                  f'parsing "{part}": {why}')
            if int(part) < 1:
                raise bad_request(f'port "{text}" must be > 0')
            ports.append(int(part))
    return ports


def portforward_target(api: Api, call: Call,
                       multi: Mapping[str, Sequence[str]]) -> tuple[Obj, list[int]]:
    """The Pod and the ports of a port-forward request, or the ``StatusError`` that
    kube-apiserver (or the kubelet, before upgrading) answers instead.

    ``multi`` is the query with every value of repeated parameters (``ports=80&ports=81``).
    """
    pod = api.current(call)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise bad_request(f"pod {call.name} does not have a host assigned")
    return pod, _ports(list(multi.get("ports", [])) + list(multi.get("port", [])))


def open_pod_port(api: Api, namespace: str, pod: str, port: int) -> PodConnection:
    """Connect to ``port`` of Pod ``namespace/pod`` as the kubelet does for port-forward.

    Returns a duplex stream (``recv(n)``, ``b""`` at its end; ``sendall``;
    ``shutdown_write``; ``close``). Raises :class:`PortForwardError` with the kubelet's words
    when nothing listens there, or when the Pod is gone.
    """
    found = stored_pod(api, namespace, pod)
    if found is None:
        raise PortForwardError(f'pod not found ("{pod}_{namespace}")')
    return api.kubelet.streams.dial(found, port)


def _pump_out(ws: MessageSocket, channel: int, conn: PodConnection) -> None:
    """Pod → client on ``channel`` until the Pod side ends or the WebSocket goes."""
    prefix = bytes([channel])
    try:
        while data := conn.recv(CHUNK_BYTES):
            ws.send(prefix + data)
    except BrokenPipeError:
        pass


def forward_ports(ws: MessageSocket, api: Api, pod: Obj, ports: Sequence[int]) -> None:
    """The port-forward session on ``ws``: one connection per port; returns when all ended
    (the caller closes the WebSocket) or the client left."""
    meta = pod["metadata"]
    conns: dict[int, PodConnection] = {}
    pumps: list[threading.Thread] = []
    try:
        for i, port in enumerate(ports):
            prefix = port.to_bytes(2, "little")
            ws.send(bytes([2 * i]) + prefix)
            ws.send(bytes([2 * i + 1]) + prefix)
        for i, port in enumerate(ports):
            try:
                conn = open_pod_port(api, str(meta.get("namespace")), str(meta.get("name")),
                                     port)
            except PortForwardError as exc:
                ws.send(bytes([2 * i + 1]) + str(exc).encode())
                continue
            conns[2 * i] = conn
            pump = threading.Thread(target=_pump_out, args=(ws, 2 * i, conn),
                                    name=f"dynakube-portforward-{port}", daemon=True)
            pump.start()
            pumps.append(pump)
        _pump_in(ws, conns, pumps)
    except BrokenPipeError:
        pass
    finally:
        for conn in conns.values():
            conn.shutdown()
        for pump in pumps:
            pump.join()
        for conn in conns.values():
            conn.close()


def _pump_in(ws: MessageSocket, conns: Mapping[int, PodConnection],
             pumps: Sequence[threading.Thread]) -> None:
    """Client → Pod: each data message goes to its port's connection, until every pod-side
    connection has ended (then the session is over) or the client closed."""
    done = threading.Event()

    def watch() -> None:
        for pump in pumps:
            pump.join()
        done.set()
        ws.close()  # the reader below then sees the end of the WebSocket

    threading.Thread(target=watch, name="dynakube-portforward-end", daemon=True).start()
    while (message := ws.recv()) is not None:
        conn = conns.get(message[0]) if message else None
        if conn is None or len(message) == 1:
            continue  # an error channel, a closed port, or an empty message
        try:
            conn.sendall(message[1:])
        except BrokenPipeError:
            pass  # the Pod side went; its pump ends the port
