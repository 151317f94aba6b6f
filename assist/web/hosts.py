"""Which ``Host`` names this server answers to, and which page origins may talk to it.

A DNS-rebinding page (``rebind.attacker.example`` resolving to 127.0.0.1) reaches
the server with its own name in ``Host`` and ``Origin``.  The server therefore
answers only to the names it knows: the address it is bound to, ``localhost``,
``127.0.0.1``, ``[::1]`` and the names of the ``allowed_hosts`` setting (``*``:
any name, not recommended).  Other hosts get 421 before anything else is read.

Browser pages are trusted by an explicit list of origins, never by comparing
Origin with Host: the server's own origins (``http(s)://NAME:PORT`` for each of
its names) plus the ``allowed_origins`` setting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def host_name(value: str) -> str | None:
    """The lower-case host name of a ``Host`` header (without port or brackets); None if malformed."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        name = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if not name or parts.username is not None or parts.path or parts.query:
        return None
    return name.lower().rstrip(".")


def _normal(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The host names a server answers to (``any_host``: every name)."""

    names: frozenset[str]
    any_host: bool = False

    @classmethod
    def for_server(cls, bound: str, extra: Iterable[str]) -> HostPolicy:
        extra = tuple(extra)
        names = {_normal(n) for n in (*LOOPBACK_HOSTS, *extra) if n != "*"}
        if bound.strip("[]") not in _WILDCARDS:
            names.add(_normal(bound))
        return cls(frozenset(names), any_host="*" in extra)

    def allows(self, host_header: str | None) -> bool:
        if host_header is None:
            return False
        name = host_name(host_header)
        if name is None:
            return False
        return self.any_host or _normal(name) in self.names

    def own_origins(self, port: int, tls: bool) -> tuple[str, ...]:
        """``scheme://name:port`` of every name (the pages this server serves itself)."""
        scheme = "https" if tls else "http"
        out = []
        for name in sorted(self.names):
            shown = f"[{name}]" if ":" in name else name
            out.append(f"{scheme}://{shown}:{port}")
            default = 443 if tls else 80
            if port == default:
                out.append(f"{scheme}://{shown}")
        return tuple(out)
