"""Admission in the embedded server: schema checks, CEL, kind rules and garbage collection.

They see the server as ``call.ApiState`` and never import the verbs that call them."""

__all__: list[str] = []
