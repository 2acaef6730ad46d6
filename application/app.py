"""The finlex API: a Flask application that reports its version.

Start it the seed's way with ``python3 app.py`` (Flask's development server on
port 5000), or in production with ``python3 serve.py`` (see serve.py).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

import settings as config
from routes import HEALTH_PATH, REVISION_HEADER, VERSION_PATH

# The single source of the version: application/VERSION.
VERSION = Path(__file__).with_name("VERSION").read_text(encoding="utf-8").strip()
ACCESS_LOGGER = "finlex.access"
ERROR_LOGGER = "finlex.error"
_OFFERED = ("text/plain", "application/json")


def _wants_json() -> bool:
    """True when the client prefers JSON to plain text (text wins ties)."""
    return request.accept_mimetypes.best_match(_OFFERED, default="text/plain") == (
        "application/json"
    )


def _plain(body: str, status: int = 200) -> Response:
    return Response(body + "\n", status=status, mimetype="text/plain")


class _StdoutHandler(logging.Handler):
    """Writes each record as one line to whatever sys.stdout is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never break a request
            self.handleError(record)


def _json_logger(name: str, level: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(level.upper())
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(_StdoutHandler())
    return logger


def _log_json(logger: logging.Logger, level: int, fields: dict[str, object]) -> None:
    """One JSON object per line, as CloudWatch Logs reads it (a traceback included)."""
    if logger.isEnabledFor(level):
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": logging.getLevelName(level).lower(),
            "logger": logger.name,
            **fields,
        }
        logger.log(level, json.dumps(record, separators=(",", ":")))


def create_app(settings: config.Settings | None = None) -> Flask:
    """Build the application. `settings` defaults to the process environment."""
    settings = settings or config.load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    access_log = _json_logger(ACCESS_LOGGER, settings.log_level)
    error_log = _json_logger(ERROR_LOGGER, settings.log_level)

    @app.get(VERSION_PATH)
    def version() -> Response:
        if _wants_json():
            return jsonify(version=VERSION)
        return _plain(f"API version: {VERSION}")

    @app.get(HEALTH_PATH)
    def health() -> Response:
        # Cheap on purpose: no I/O, nothing external.
        return _plain("ok")

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            raise RequestEntityTooLarge

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers[REVISION_HEADER] = settings.revision
        started = g.get("started", time.perf_counter())
        fields: dict[str, object] = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        trace = request.headers.get("X-Amzn-Trace-Id")
        if trace:
            fields["trace_id"] = trace
        _log_json(access_log, logging.INFO, fields)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Short bodies with no HTML and no traceback; Allow and other headers kept.
        status = error.code or 500
        message = error.name.lower()
        if _wants_json():
            response = jsonify(error=message, status=status)
            response.status_code = status
        else:
            response = _plain(f"{status} {message}", status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        _log_json(
            error_log,
            logging.ERROR,
            {
                "method": request.method,
                "path": request.path,
                "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error)),
            },
        )
        if _wants_json():
            response = jsonify(error="internal server error", status=500)
            response.status_code = 500
            return response
        return _plain("500 internal server error", 500)

    return app


def main() -> int:
    """The seed's way: ``python3 app.py`` serves on port 5000 with Flask's dev server."""
    try:
        settings = config.load()
    except config.SettingsError as error:
        print(f"finlex: {error}", file=sys.stderr)
        return 2
    create_app(settings).run(host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
