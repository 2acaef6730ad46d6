"""The app and its test client, in the manner of Flask's tutorial: each test gets a
fresh app from the factory, with a small body limit that the 413 tests reach."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from finlex_api.factory import create_app
from finlex_api.settings import Settings

# The fixture app's body limit: small, so that a test reaches it with a short body.
MAX_BODY_BYTES = 1024


@pytest.fixture
def app() -> Flask:
    app = create_app(Settings(max_body_bytes=MAX_BODY_BYTES))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
