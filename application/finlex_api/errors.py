"""What an error answers: a short plain or JSON body with no HTML and no traceback;
an unexpected exception is also logged, traceback included, as one JSON line."""

from __future__ import annotations

import traceback

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from finlex_api.logs import ERROR_LOGGER, JsonLines
from finlex_api.responses import plain, wants_json
from finlex_api.settings import Settings


def register(app: Flask, settings: Settings) -> None:
    """Install the handlers of HTTP errors (404, 405, 413, ...) and of any other exception."""
    error_log = JsonLines(ERROR_LOGGER, "error", settings.log_level)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Allow and the other headers the error carries are kept.
        status = error.code or 500
        message = error.name.lower()
        if wants_json():
            response = jsonify(error=message, status=status)
            response.status_code = status
        else:
            response = plain(f"{status} {message}", status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        error_log.record(
            {
                "method": request.method,
                "path": request.path,
                "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error)),
            }
        )
        if wants_json():
            response = jsonify(error="internal server error", status=500)
            response.status_code = 500
            return response
        return plain("500 internal server error", 500)
