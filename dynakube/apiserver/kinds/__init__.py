"""Per-kind facts of the embedded server: specs, schema data, defaults, printers, decoding."""

__all__: list[str] = []
