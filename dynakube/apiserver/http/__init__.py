"""The embedded server on the wire: HTTP handling, routing, discovery and OpenAPI serving."""

__all__: list[str] = []
