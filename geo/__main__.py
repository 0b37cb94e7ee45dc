"""``python -m geo``: the command line. See :mod:`geo.cli`."""

import sys

from geo.cli import main

sys.exit(main())
