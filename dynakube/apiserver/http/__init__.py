"""The embedded server on the wire: the listener, request handling, routing, the request log,
discovery and OpenAPI serving. It reaches its owner through the ``owner.ServerOwner`` protocol,
never by importing ``server.py``."""

__all__: list[str] = []
