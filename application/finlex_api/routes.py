"""The HTTP API: its URL paths, the version it reports, its two routes, and the
headers every response carries.

The paths and the header name are plain constants at the top, the homes that the
infra, the container probe and `finlex-release verify` are tied to (tests/infra).
"""

from __future__ import annotations

import os
from importlib import metadata

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from finlex_api.responses import plain, wants_json
from finlex_api.settings import STOPPING_FILE_ENV, Settings

VERSION_PATH = "/version"
# The load balancer's and the container's health checks call this route.
HEALTH_PATH = "/healthz"
# Response header that names the git revision the running build was made from
# (settings.Settings.revision); `finlex-release verify --expected-revision` reads it.
REVISION_HEADER = "X-Finlex-Revision"

# The distribution this package is installed as (application/pyproject.toml).
DISTRIBUTION = "finlex-api"


def _installed_version() -> str:
    """The version the package was installed with, which pyproject.toml reads from
    application/VERSION: the one home of the version, baked in at install time."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise SystemExit(
            f"finlex: the {DISTRIBUTION} package is not installed: "
            "pip install -e ./application (make venv does)"
        ) from None


VERSION = _installed_version()


def blueprint(settings: Settings) -> Blueprint:
    """The routes, and the checks and headers that apply to every request."""
    routes = Blueprint("finlex", __name__)

    @routes.get(VERSION_PATH)
    def version() -> Response:
        if wants_json():
            return jsonify(version=VERSION)
        return plain(f"API version: {VERSION}")

    stopping = os.environ.get(STOPPING_FILE_ENV)

    @routes.get(HEALTH_PATH)
    def health() -> Response:
        # Cheap on purpose: nothing external; with a pre-stop delay, one stat of
        # the marker serve.py creates on SIGTERM, so that the load balancer stops
        # routing here before the server stops accepting (see serve.py).
        if stopping and os.path.exists(stopping):
            return plain("stopping", 503)
        return plain("ok")

    @routes.before_app_request
    def check_length() -> None:
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            raise RequestEntityTooLarge

    @routes.after_app_request
    def finish(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers[REVISION_HEADER] = settings.revision
        return response

    return routes
