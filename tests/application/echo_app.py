"""The real finlex app plus one test-only route that reports the body it received.

The framing tests serve this through the production launcher, so that what a
route sees of a request body (after Granian and front.Front) is read from the
route itself, not guessed from the status code: the API's own routes take no
body and answer the same whether one arrived or not.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from finlex_api.factory import create_app as create_finlex_app

ECHO_PATH = "/echo"


def create_app() -> Flask:
    app = create_finlex_app()

    @app.route(ECHO_PATH, methods=["GET", "POST"])
    def echo() -> Response:
        if request.args.get("json"):  # a body that is not JSON: Flask's own 400
            request.get_json()
        body = request.get_data()
        return jsonify(
            body=body.decode("latin-1"),
            content_length=request.environ.get("CONTENT_LENGTH"),
            transfer_encoding=request.environ.get("HTTP_TRANSFER_ENCODING"),
        )

    return app
