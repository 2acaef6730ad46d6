"""Allow ``python -m finlex_release``."""

import sys

from finlex_release.cli import main

sys.exit(main())
