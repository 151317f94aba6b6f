"""HTTP responses on the websocket port: one error shape and the security headers every response carries.

Every error is ``{"error": {"code": CODE, "message": TEXT}}`` (docs/protocol.md).
Every response, page or not, carries a Content-Security-Policy that allows only
the server's own scripts, styles and sockets (no inline script, no framing),
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


def response(status: int, body: bytes, content_type: str, *, cache: bool = False) -> Response:
    """A complete response with the security headers; ``cache`` for static files (5 minutes)."""
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "max-age=300" if cache else "no-store"),
            *SECURITY_HEADERS,
        ]
    )
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return Response(int(status), reason, headers, body)


def json_response(status: int, payload: Any) -> Response:
    body = (json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return response(status, body, JSON_TYPE)


def error_response(status: int, code: str, message: str) -> Response:
    """The one error shape of the HTTP API: ``{"error": {"code", "message"}}``."""
    return json_response(status, {"error": {"code": code, "message": message}})


def text_response(status: int, text: str) -> Response:
    return response(status, text.encode(), TEXT_TYPE)
