"""Who may connect and what they may do (see docs/security.md).

* ``TokenStore`` (tokens.py): long-lived bearer tokens kept as SHA-256 hashes
  in a TOML/JSON file; ``authenticate`` compares in constant time.
* ``TicketSigner`` (tickets.py): short-lived HMAC-signed url-safe tickets for
  browser pages, single use by default.
* ``origin_allowed`` (origin.py): the Origin check for browser pages.
* ``authenticate_request`` / ``ticket_request`` (request_auth.py): one websocket
  upgrade from websockets' ``process_request``; ``POST /api/ticket``.
* ``Role``, ``Principal``, ``can_stream`` / ``can_subscribe`` / ``can_see`` /
  ``can_acknowledge`` / ``can_train`` (principal.py): authorisation.
"""

from assist.web.auth.origin import origin_allowed
from assist.web.auth.principal import (
    ANONYMOUS,
    Principal,
    Role,
    can_acknowledge,
    can_see,
    can_stream,
    can_subscribe,
    can_train,
    open_principal,
)
from assist.web.auth.request_auth import (
    AuthFailure,
    AuthPolicy,
    authenticate_request,
    authenticate_ticket,
    ticket_request,
)
from assist.web.auth.tickets import DEFAULT_TICKET_TTL, TicketSigner
from assist.web.auth.tokens import TOKEN_PREFIX, TokenFileError, TokenRecord, TokenStore, hash_token, locked

__all__ = [
    "ANONYMOUS",
    "DEFAULT_TICKET_TTL",
    "TOKEN_PREFIX",
    "AuthFailure",
    "AuthPolicy",
    "Principal",
    "Role",
    "TicketSigner",
    "TokenFileError",
    "TokenRecord",
    "TokenStore",
    "authenticate_request",
    "authenticate_ticket",
    "can_acknowledge",
    "can_see",
    "can_stream",
    "can_subscribe",
    "can_train",
    "hash_token",
    "locked",
    "open_principal",
    "origin_allowed",
    "ticket_request",
]
