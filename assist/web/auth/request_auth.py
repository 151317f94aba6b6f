"""Authenticating HTTP requests: websocket upgrades and ``POST /api/ticket``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from assist.web.auth.origin import origin_allowed
from assist.web.auth.principal import Principal, open_principal
from assist.web.auth.tickets import DEFAULT_TICKET_TTL, TicketSigner
from assist.web.auth.tokens import TokenStore


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why an HTTP request was refused: answer it with ``status`` and ``reason``."""

    status: HTTPStatus
    reason: str


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """How requests are authenticated.

    ``require_credentials`` False makes an open server (loopback development):
    requests without credentials get the unrestricted anonymous principal;
    credentials that are given must still be valid.
    """

    require_credentials: bool = True
    allowed_origins: tuple[str, ...] = ()
    ticket_ttl: float = DEFAULT_TICKET_TTL


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else str(value)


def _bearer(headers: Mapping[str, str]) -> str | AuthFailure | None:
    value = _header(headers, "Authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AuthFailure(HTTPStatus.UNAUTHORIZED, "use 'Authorization: Bearer TOKEN'")
    return token


def _ticket(path: str) -> str | AuthFailure | None:
    query = urlsplit(path).query
    if not query:
        return None
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=20).get("ticket")
    except ValueError:
        return AuthFailure(HTTPStatus.BAD_REQUEST, "malformed query string")
    if not values:
        return None
    if len(values) != 1:
        return AuthFailure(HTTPStatus.BAD_REQUEST, "give one ticket")
    return values[0]


def authenticate_request(
    path: str,
    headers: Mapping[str, str],
    store: TokenStore | None,
    signer: TicketSigner | None,
    policy: AuthPolicy,
) -> Principal | AuthFailure:
    """Authenticate one HTTP request (a websocket upgrade): call from ``process_request``.

    Order: Origin (403 if a browser page from another origin), then the
    ``Authorization: Bearer TOKEN`` header, else a ``?ticket=`` in ``path``,
    else 401 (or the anonymous principal of an open server).
    """
    origin = _header(headers, "Origin")
    if not origin_allowed(origin, policy.allowed_origins):
        return AuthFailure(HTTPStatus.FORBIDDEN, "origin not allowed")
    bearer = _bearer(headers)
    if isinstance(bearer, AuthFailure):
        return bearer
    if bearer is not None:
        principal = store.authenticate(bearer) if store is not None else None
        return principal or AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid or expired token")
    ticket = _ticket(path)
    if isinstance(ticket, AuthFailure):
        return ticket
    if ticket is not None:
        principal = signer.verify(ticket) if signer is not None else None
        return principal or AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid, used or expired ticket")
    if not policy.require_credentials:
        return open_principal()
    return AuthFailure(HTTPStatus.UNAUTHORIZED, "credentials required: a bearer token or a ticket")


def _error(code: str, message: str) -> dict[str, Any]:
    """The HTTP error body (``assist.web.http``): ``{"error": {"code", "message"}}``."""
    return {"error": {"code": code, "message": message}}


def authenticate_ticket(ticket: object, signer: TicketSigner | None) -> Principal | AuthFailure:
    """Authenticate a ticket sent in a first message instead of the URL."""
    if not isinstance(ticket, str) or signer is None:
        return AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid ticket")
    return signer.verify(ticket) or AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid, used or expired ticket")


def ticket_request(
    method: str,
    headers: Mapping[str, str],
    store: TokenStore | None,
    signer: TicketSigner | None,
    policy: AuthPolicy,
) -> tuple[HTTPStatus, dict[str, Any]]:
    """Answer ``POST /api/ticket`` (``Authorization: Bearer TOKEN``, empty body).

    Returns the status and the JSON body: ``{"ticket", "expires_in", "role",
    "subject"}`` or ``{"error": {"code", "message"}}``.  Send it with
    ``Content-Type: application/json`` and ``Cache-Control: no-store``.  Only a
    bearer token buys a ticket (a ticket cannot be renewed by itself).
    """
    if method != "POST":
        return HTTPStatus.METHOD_NOT_ALLOWED, _error("method_not_allowed", "use POST")
    if signer is None:
        return HTTPStatus.NOT_FOUND, _error("not_found", "tickets are not enabled")
    if not origin_allowed(_header(headers, "Origin"), policy.allowed_origins):
        return HTTPStatus.FORBIDDEN, _error("forbidden", "origin not allowed")
    bearer = _bearer(headers)
    principal: Principal | None = None
    if isinstance(bearer, str) and store is not None:
        principal = store.authenticate(bearer)
    if principal is None:
        return HTTPStatus.UNAUTHORIZED, _error("unauthorized", "a valid bearer token is required")
    ticket = signer.issue(principal, policy.ticket_ttl)
    return HTTPStatus.OK, {
        "ticket": ticket,
        "expires_in": int(policy.ticket_ttl),
        "role": principal.role.value,
        "subject": principal.subject,
    }
