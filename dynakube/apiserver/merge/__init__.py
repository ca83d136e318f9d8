"""Patches and field ownership: JSON, merge and strategic patches, field sets, managedFields."""

__all__: list[str] = []
