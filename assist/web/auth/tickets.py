"""Short-lived signed tickets for browser pages (which cannot set headers on a websocket)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

from assist.web.auth.principal import Principal, Role
from assist.web.auth.tokens import MAX_CREDENTIAL_LENGTH, Clock

TICKET_VERSION = "v1"
DEFAULT_TICKET_TTL = 60.0
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TicketSigner:
    """Short-lived signed tickets for browser pages: ``v1.<payload>.<mac>`` (url-safe base64).

    The payload carries role, subject, token id, expiry and a random nonce; the
    MAC is HMAC-SHA256 under the server's secret.  With ``single_use`` (the
    default) a ticket is accepted once: a ticket leaked from a URL is useless.
    """

    def __init__(
        self, secret: bytes, *, clock: Clock = time.time, single_use: bool = True, max_outstanding: int = 100_000
    ) -> None:
        if len(secret) < 32:
            raise ValueError("the ticket secret must be at least 32 bytes")
        self._key = hmac.new(secret, b"assist ticket " + TICKET_VERSION.encode(), hashlib.sha256).digest()
        self._clock = clock
        self.single_use = single_use
        self.max_outstanding = max_outstanding
        self._used: dict[str, float] = {}  # nonce -> expiry, while it could still verify

    @classmethod
    def generate(cls, **kwargs: Any) -> TicketSigner:
        """A signer with a fresh random secret (tickets die with the process: fine for 60 s tickets)."""
        return cls(secrets.token_bytes(32), **kwargs)

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, f"{TICKET_VERSION}.{payload}".encode("ascii"), hashlib.sha256).digest()

    def issue(self, principal: Principal, ttl: float = DEFAULT_TICKET_TTL) -> str:
        if not 0 < ttl <= 3600:
            raise ValueError("ticket ttl must be 0 to 3600 seconds")
        if principal.unrestricted:
            raise ValueError("the anonymous principal of an open server cannot have tickets")
        body = {
            "r": principal.role.value,
            "s": principal.subject,
            "t": principal.token_id,
            "e": int(self._clock() + ttl) + 1,
            "n": secrets.token_urlsafe(12),
        }
        payload = _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        return f"{TICKET_VERSION}.{payload}.{_b64(self._mac(payload))}"

    def verify(self, ticket: str) -> Principal | None:
        """The principal of a genuine, unexpired (and, if single use, unused) ticket, else None."""
        if not isinstance(ticket, str) or len(ticket) > MAX_CREDENTIAL_LENGTH or not ticket.isascii():
            return None
        parts = ticket.split(".")
        if len(parts) != 3 or parts[0] != TICKET_VERSION:
            return None
        _, payload, mac_text = parts
        if not (_B64URL.fullmatch(payload) and _B64URL.fullmatch(mac_text)):
            return None
        try:
            mac = _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            body = json.loads(_unb64(payload).decode("utf-8"))
            principal = Principal(Role(body["r"]), str(body["s"]), str(body["t"]))
            expiry = float(body["e"])
            nonce = str(body["n"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None  # genuine MAC but an unexpected payload: another version
        now = self._clock()
        if now >= expiry:
            return None
        if self.single_use:
            self._forget_expired(now)
            if nonce in self._used or len(self._used) >= self.max_outstanding:
                return None
            self._used[nonce] = expiry
        return principal

    def _forget_expired(self, now: float) -> None:
        if self._used:
            self._used = {n: e for n, e in self._used.items() if e > now}
