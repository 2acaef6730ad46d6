"""`python3 tools/doctor`: run the checks (see __init__.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from doctor import main

sys.exit(main())
