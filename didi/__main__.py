"""``python -m didi``: the command line (see :mod:`didi.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
