"""Unit tests: every route and error path through Flask's test client."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from finlex_api.factory import create_app
from finlex_api.routes import HEALTH_PATH, REVISION_HEADER, VERSION, VERSION_PATH
from finlex_api.settings import Settings

# The seed's contract, typed here on purpose rather than read from
# application/VERSION (the version's home, which the app reports): a change of the version
# file must come with a deliberate change of this line.
SEED_ANSWER = "API version: 1.0.1"


def test_version_answers_the_seed_contract(client: FlaskClient) -> None:
    assert client.get(VERSION_PATH).get_data(as_text=True) == SEED_ANSWER + "\n"
    json_answer = client.get(VERSION_PATH, headers={"Accept": "application/json"}).get_json()
    assert json_answer == {"version": SEED_ANSWER.removeprefix("API version: ")}


def test_every_answer_names_the_revision_and_the_contract_stays() -> None:
    revision = "9b80cab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"
    client = create_app(Settings(revision=revision)).test_client()
    for path in (VERSION_PATH, HEALTH_PATH, "/nope"):
        assert client.get(path).headers[REVISION_HEADER] == revision, path
    assert client.get(VERSION_PATH).get_data(as_text=True) == SEED_ANSWER + "\n"
    assert client.get(VERSION_PATH, headers={"Accept": "application/json"}).get_json() == {
        "version": VERSION
    }


def test_revision_defaults_to_unknown(client: FlaskClient) -> None:
    assert client.get(HEALTH_PATH).headers[REVISION_HEADER] == "unknown"


def test_version_is_plain_text(client: FlaskClient) -> None:
    response = client.get(VERSION_PATH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == f"API version: {VERSION}\n"


def test_version_head_has_headers_and_no_body(client: FlaskClient) -> None:
    response = client.head(VERSION_PATH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.data == b""
    assert int(response.headers["Content-Length"]) == len(f"API version: {VERSION}\n")


def test_version_as_json(client: FlaskClient) -> None:
    response = client.get(VERSION_PATH, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"version": VERSION}


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("*/*", "text/plain"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/plain"),
        ("application/json;q=0.9, text/plain;q=0.5", "application/json"),
        ("text/plain;q=0.9, application/json;q=0.5", "text/plain"),
        ("image/png", "text/plain"),
    ],
)
def test_content_negotiation(client: FlaskClient, accept: str, mimetype: str) -> None:
    response = client.get(VERSION_PATH, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_health(client: FlaskClient) -> None:
    response = client.get(HEALTH_PATH)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert client.head(HEALTH_PATH).status_code == 200


def test_unknown_path_is_404_without_html(client: FlaskClient) -> None:
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "404 not found\n"


def test_unknown_path_as_json(client: FlaskClient) -> None:
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "not found", "status": 404}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", [VERSION_PATH, HEALTH_PATH])
def test_wrong_method_is_405_with_allow(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == {"GET", "HEAD", "OPTIONS"}
    assert response.mimetype == "text/plain"


def test_options_lists_methods(client: FlaskClient) -> None:
    response = client.options(VERSION_PATH)
    assert response.status_code == 200
    assert {"GET", "HEAD"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_oversized_body_is_413(client: FlaskClient) -> None:
    response = client.post(VERSION_PATH, data=b"x" * 2048)
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


def test_body_within_limit_reaches_method_check(client: FlaskClient) -> None:
    response = client.post(VERSION_PATH, data=b"x" * 10)
    assert response.status_code == 405


def test_unexpected_error_is_500_without_traceback(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    app.config["TESTING"] = False  # let the error handler run instead of re-raising

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    capsys.readouterr()
    response = app.test_client().get("/boom")
    error_line, access_line = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert error_line["level"] == "error"
    assert error_line["error"] == "RuntimeError: secret internals"
    assert "Traceback (most recent call last)" in error_line["traceback"]
    assert "raise RuntimeError" in error_line["traceback"]
    assert (access_line["path"], access_line["status"]) == ("/boom", 500)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert body == "500 internal server error\n"
    assert "secret internals" not in body
    json_response = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert json_response.get_json() == {"error": "internal server error", "status": 500}


def test_nosniff_header(client: FlaskClient) -> None:
    assert client.get(VERSION_PATH).headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/nope").headers["X-Content-Type-Options"] == "nosniff"


def test_one_json_log_line_per_request(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get(VERSION_PATH, headers={"X-Amzn-Trace-Id": "Root=1-abc"})
    client.post("/missing")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["method"] == "GET"
    assert first["path"] == VERSION_PATH
    assert first["status"] == 200
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert first["trace_id"] == "Root=1-abc"
    assert (second["method"], second["path"], second["status"]) == ("POST", "/missing", 404)
    assert "trace_id" not in second


def test_log_level_above_info_silences_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = create_app(Settings(log_level="warning")).test_client()
    capsys.readouterr()
    quiet.get(VERSION_PATH)
    assert capsys.readouterr().out == ""
    create_app(Settings(log_level="info"))  # restore for later tests
