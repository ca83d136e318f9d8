"""The package version, in one place: setup.cfg reads it from here (``attr:``).

A literal rather than an ``importlib.metadata`` lookup, which scans ``sys.path`` for the
installed metadata on every ``dynakube.Client`` import (2.4 ms, CHANGELOG).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
