"""``python -m relucourse.claims``."""

import sys

from . import main

sys.exit(main())
