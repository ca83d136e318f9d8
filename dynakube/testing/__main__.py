"""``python -m dynakube.testing serve``: the embedded server standalone (see :mod:`..apiserver`)."""

import sys

from ..apiserver.serve import main

sys.exit(main())
