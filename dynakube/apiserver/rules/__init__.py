"""Admission in the embedded server: schema checks, CEL, kind rules and garbage collection."""

__all__: list[str] = []
