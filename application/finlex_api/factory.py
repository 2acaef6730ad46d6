"""The application factory: the table of contents of the service."""

from __future__ import annotations

from flask import Flask

from finlex_api import errors, routes
from finlex_api.front import Front
from finlex_api.logs import ACCESS_LOGGER, JsonLines
from finlex_api.settings import Settings, load


def create_app(settings: Settings | None = None) -> Flask:
    """The finlex API, configured by `settings` (default: the FINLEX_* environment)."""
    settings = settings or load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # HTTP/1.1 framing checks and the access log, before Flask sees a request.
    access_log = JsonLines(ACCESS_LOGGER, "info", settings.log_level)
    app.wsgi_app = Front(app.wsgi_app, access_log, settings.max_body_bytes)  # type: ignore[method-assign]
    app.register_blueprint(routes.blueprint(settings))
    errors.register(app, settings)
    return app
