"""The seed's entry point: ``python3 app.py`` serves the API on port 5000 with
Flask's development server, as the seed's README runs it.

The service itself is the finlex_api package (finlex_api/factory.py builds it);
production runs it with the ``finlex-api`` command (finlex_api/serve.py, Granian).
"""

from __future__ import annotations

import sys

from finlex_api.factory import create_app
from finlex_api.settings import SettingsError, load


def main() -> int:
    """Serve on FINLEX_HOST:FINLEX_PORT (0.0.0.0:5000); a bad setting is one line, exit 2."""
    try:
        settings = load()
    except SettingsError as error:
        print(f"finlex: {error}", file=sys.stderr)
        return 2
    create_app(settings).run(host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
