"""Who may connect to this server: the auth mode, resolved once from the config and the token file.

``Access.resolve(config, tokens)`` decides whether credentials are required:

* ``auth = "on"``: always (a missing or empty token file refuses everyone);
* ``auth = "auto"`` (the default): when the token file holds at least one token;
* ``auth = "off"``: never.

A server without authentication accepts anyone who can reach its port, so it
may listen only on a loopback address, unless ``insecure_no_auth``
(``--insecure-no-auth``) says so explicitly; ``warning()`` is the line the
server logs at start.  Tickets for browser pages are signed with a key made
for each process: one signer consumes a ticket on a websocket upgrade (single
use), the other checks the same tickets without consuming them for plain HTTP
GETs of ``/api/*`` from pages (read only, within the ticket's short life).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from assist.settings import ConfigError, ServerConfig
from assist.web.auth import (
    AuthFailure,
    AuthPolicy,
    Principal,
    Role,
    TicketSigner,
    TokenStore,
    authenticate_request,
    ticket_request,
)

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """Is ``host`` a loopback name or address (127.0.0.0/8, ::1, localhost)?"""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Access:
    """The server's authentication: the mode, the token store and the ticket signers."""

    enabled: bool
    tokens: TokenStore | None
    signer: TicketSigner  # websocket upgrades: a ticket works once
    reader: TicketSigner  # plain GETs of /api/*: the same tickets, not consumed
    policy: AuthPolicy
    host: str
    tokens_label: str
    # cluster: token ids revoked on the floor (assist.web.shared_auth), beside the token file's own
    revoked_elsewhere: Callable[[str | None], bool] = lambda token_id: False

    @classmethod
    def resolve(cls, config: ServerConfig, tokens: TokenStore | None, ticket_secret: bytes | None = None) -> Access:
        """The auth of a server with ``config``; ``ConfigError`` for an open server on a network address.

        ``ticket_secret``: the key tickets are signed with, shared by the nodes of a cluster (else random)."""
        count = len(tokens) if tokens is not None else 0
        label = str(tokens.path) if tokens is not None and tokens.path is not None else "no token file"
        enabled = config.auth == "on" or (config.auth == "auto" and count > 0)
        if not enabled and not is_loopback(config.host) and not config.insecure_no_auth:
            why = "auth is off" if config.auth == "off" else f"there are no tokens ({label})"
            raise ConfigError(
                f"{why}, and the server would listen on {config.host}, where anyone on the network could "
                "stream and watch calls: issue tokens (assist tokens issue --role agent --subject A1001), "
                "listen on 127.0.0.1, or pass --insecure-no-auth to accept it"
            )
        secret = ticket_secret or secrets.token_bytes(32)
        policy = AuthPolicy(
            require_credentials=enabled, allowed_origins=config.allowed_origins, ticket_ttl=config.ticket_ttl
        )
        return cls(
            enabled=enabled,
            tokens=tokens,
            signer=TicketSigner(secret),
            reader=TicketSigner(secret, single_use=False),
            policy=policy,
            host=config.host,
            tokens_label=label,
        )

    def warning(self) -> str | None:
        """What to log at start about authentication (None when all is well)."""
        if not self.enabled:
            return (
                "AUTHENTICATION IS OFF: anyone who can reach this port can stream calls and watch every "
                f"transcript and alert ({'loopback only' if is_loopback(self.host) else 'NOT loopback'}). "
                "Issue tokens with `assist tokens issue` to turn it on"
            )
        if self.tokens is None or len(self.tokens) == 0:
            return f"authentication is on but {self.tokens_label} holds no tokens yet: every client is refused"
        return None

    def with_origins(self, own: tuple[str, ...]) -> Access:
        """The same access, trusting pages from ``own`` origins (the server's own) besides the configured ones."""
        origins = tuple(dict.fromkeys((*self.policy.allowed_origins, *own)))
        return dataclasses.replace(self, policy=dataclasses.replace(self.policy, allowed_origins=origins))

    # ------------------------------------------------------------ requests

    def authenticate_upgrade(self, path: str, headers: Mapping[str, str]) -> Principal | AuthFailure:
        """A websocket upgrade: Origin, then a bearer token or a ticket (consumed)."""
        return self._not_revoked(authenticate_request(path, headers, self.tokens, self.signer, self.policy))

    def _not_revoked(self, result: Principal | AuthFailure) -> Principal | AuthFailure:
        if isinstance(result, Principal) and self.revoked_elsewhere(result.token_id):
            return AuthFailure(HTTPStatus.UNAUTHORIZED, "invalid or expired token")
        return result

    def authenticate_supervisor(self, path: str, headers: Mapping[str, str]) -> Principal | AuthFailure:
        """``/api/*``, ``/metrics``, ``/stats``: a supervisor's bearer token or ticket (not consumed)."""
        result = self._not_revoked(authenticate_request(path, headers, self.tokens, self.reader, self.policy))
        if isinstance(result, Principal) and not (result.unrestricted or result.role is Role.SUPERVISOR):
            return AuthFailure(HTTPStatus.FORBIDDEN, "only supervisors may read this")
        return result

    def ticket(self, method: str, headers: Mapping[str, str]) -> tuple[HTTPStatus, dict[str, Any]]:
        """``POST /api/ticket``: a bearer token buys a short-lived ticket for a browser page."""
        bearer = headers.get("Authorization", "")
        if self.tokens is not None and bearer.startswith("Bearer "):
            principal = self.tokens.authenticate(bearer[len("Bearer "):].strip())
            if principal is not None and self.revoked_elsewhere(principal.token_id):
                refused = {"code": "unauthorized", "message": "invalid or expired token"}
                return HTTPStatus.UNAUTHORIZED, {"error": refused}
        return ticket_request(method, headers, self.tokens, self.signer, self.policy)

    # ------------------------------------------------------------ long connections

    def still_valid(self, principal: Principal) -> bool:
        """Is the token behind ``principal`` still active (not revoked, not expired)?"""
        if principal.unrestricted or self.tokens is None:
            return True
        if self.revoked_elsewhere(principal.token_id):
            return False
        self.tokens.refresh()
        now = time.time()
        return any(r.id == principal.token_id and r.active(now) for r in self.tokens.records)

    def renew(self, principal: Principal) -> str | None:
        """A fresh ticket for a page's next connection; None for the open server's anonymous client."""
        if principal.unrestricted or not self.enabled:
            return None
        return self.signer.issue(principal, self.policy.ticket_ttl)
