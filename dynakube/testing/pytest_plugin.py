"""pytest fixtures backed by the embedded API server (being written)."""
