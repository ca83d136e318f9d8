"""The package version, read from one place: the installed metadata (from setup.cfg)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("dynakube")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
