"""Container health probe that needs no curl: exit 0 when /healthz answers 200.

Used by the Dockerfile's HEALTHCHECK and by the ECS task definition's healthCheck.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from routes import HEALTH_PATH
from settings import Settings


def probe_url() -> str:
    """/healthz on the configured port (FINLEX_PORT, else the app's default)."""
    port = os.environ.get("FINLEX_PORT", "").strip() or str(Settings().port)
    return f"http://127.0.0.1:{port}{HEALTH_PATH}"


def main() -> int:
    url = probe_url()
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - http://127.0.0.1 only
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
