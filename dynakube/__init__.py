"""dynakube: a Kubernetes client that learns what the cluster serves at run time."""

from ._version import __version__

__all__ = ["__version__"]
