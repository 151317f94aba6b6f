"""The Origin check for browser pages opening a websocket."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        default = _DEFAULT_PORTS.get(scheme)
        if default is None:
            return None
        port = default
    return host.lower(), port


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.username:
        return None
    hp = _host_port(parts.netloc, scheme)
    return None if hp is None else (scheme, *hp)


def origin_allowed(origin: str | None, allowed: Sequence[str]) -> bool:
    """May a page from ``origin`` open a websocket or buy a ticket here?

    * No Origin header: not a browser; allowed here (credentials are still required).
    * An Origin equal to one listed in ``allowed`` (scheme, host and port), or
      ``"*"`` in ``allowed`` (any origin: not recommended).  The server puts its
      own origins in the list (``assist.web.hosts``); Origin is never compared
      with the Host header, which a DNS-rebinding page controls.
    * ``null`` (sandboxed frames, file pages) only if ``"null"`` is listed.
    """
    if origin is None:
        return True
    if "*" in allowed:
        return True
    if origin.strip() == "null":
        return "null" in allowed
    key = _origin_key(origin)
    if key is None:
        return False
    return any(_origin_key(a) == key for a in allowed if a not in ("*", "null"))
