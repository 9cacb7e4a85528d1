"""`python -m ctcbench`: the same entry point as the `ctcbench` command."""

import sys

from .cli import main

sys.exit(main())
