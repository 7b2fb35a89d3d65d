"""`python -m numfmt.bench`."""

import sys

from .report import main

sys.exit(main())
