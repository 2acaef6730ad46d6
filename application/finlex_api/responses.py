"""The two kinds of body the API answers with: plain text, or JSON when the client
prefers it (text wins ties, so a browser or curl reads text)."""

from __future__ import annotations

from flask import Response, request

_OFFERED = ("text/plain", "application/json")


def wants_json() -> bool:
    """True when the client prefers JSON to plain text (text wins ties)."""
    return request.accept_mimetypes.best_match(_OFFERED, default="text/plain") == (
        "application/json"
    )


def plain(body: str, status: int = 200) -> Response:
    """A one-line text/plain body."""
    return Response(body + "\n", status=status, mimetype="text/plain")
