"""The embedded server's etcd and watch cache, and the table of resources it serves."""

__all__: list[str] = []
