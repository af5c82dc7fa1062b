"""``python -m metaopt``: the same command line as the ``metaopt`` script."""

import sys

from metaopt.cli import main

sys.exit(main())
