"""``python -m dynakube``: the same command as the ``dynakube`` console script."""

import sys

from .cli.app import main

if __name__ == "__main__":
    sys.exit(main())
