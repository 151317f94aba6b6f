"""What the commands that talk to a server share: exit codes, the default call URL, checks of
call URLs and ids, and reporting a failure on stderr.  Standard library only (commands stay cheap
to import)."""

from __future__ import annotations

import sys
from typing import Final

EXIT_OK: Final[int] = 0
EXIT_FAILED: Final[int] = 1
EXIT_USAGE: Final[int] = 2
EXIT_INTERRUPTED: Final[int] = 130
DEFAULT_URL: Final[str] = "ws://127.0.0.1:8765/ws/call"


def fail(message: str, code: int, prefix: str = "error") -> int:
    """Print ``prefix: message`` on stderr; ``code`` to return from the command."""
    print(f"{prefix}: {message}", file=sys.stderr)
    return code


def call_url(url: str) -> str:
    """``url`` with the call path added when it has none; ValueError when it is not ws:// or wss://."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"--url must be ws://HOST:PORT[/ws/call] or wss://…, not {url!r}")
    path = parts.path if parts.path not in ("", "/") else "/ws/call"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def check_id(value: str, flag: str) -> str:
    """``value`` of ``flag`` as a call or agent id the server accepts; ValueError otherwise."""
    from assist.protocol.events import MAX_ID_LENGTH

    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise ValueError(f"{flag} must be 1 to {MAX_ID_LENGTH} printable characters")
    return value
