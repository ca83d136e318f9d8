"""``python -m dynakube.apiserver serve``: the embedded server standalone."""

import sys

from .serve import main

sys.exit(main())
