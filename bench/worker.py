"""One measurement in a fresh interpreter: ``python worker.py MODULE FUNC JSON-ARGS``.

Imports the bench module, calls the function with the decoded keyword arguments and prints
its result as one ``BENCH-RESULT {...}`` line; a crash leaves a traceback on stderr and a
non-zero exit status for ``harness.run_worker`` to report.
"""

from __future__ import annotations

import importlib
import json
import sys
import warnings

__all__ = ["main"]


def main(argv: list[str]) -> int:
    module, func, args = argv[1], argv[2], json.loads(argv[3])
    warnings.simplefilter("ignore")  # the peers' deprecation noise is not the measurement
    result = getattr(importlib.import_module(module), func)(**args)
    sys.stdout.write("BENCH-RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
