"""The one canonical path of a request target, decided once before authentication and routing.

Access is decided and the route chosen on the same string: the request path
percent-decoded exactly once.  Targets whose meaning depends on who decodes
them, and how often, are refused (400) instead of guessed at:

* an encoded ``/`` (``%2F``), ``.`` (``%2E``), ``\\`` (``%5C``) or ``%`` (``%25``,
  double encoding), and any encoded control character;
* a backslash, a non-ASCII or control character, a malformed ``%`` escape;
* dot segments (``/./``, ``/../``), empty segments (``//``), a target not starting with ``/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})|%(2[EeFf5]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])")
_SEGMENT_BAD = frozenset({".", ".."})


@dataclass(frozen=True, slots=True)
class Target:
    """A request target split into its canonical (decoded) path and its raw query string."""

    path: str
    query: str


@dataclass(frozen=True, slots=True)
class BadTarget:
    """Why a request target was refused (answer 400)."""

    reason: str


def canonical_target(raw: str) -> Target | BadTarget:
    """The target's path decoded once, or why it is ambiguous."""
    path, _, query = raw.partition("?")
    if "#" in raw:
        return BadTarget("a fragment has no place in a request")
    if not path.startswith("/"):
        return BadTarget("the path must start with '/'")
    if not raw.isascii() or not raw.isprintable() or " " in raw:
        return BadTarget("the target holds characters that must be percent-encoded")
    if "\\" in path:
        return BadTarget("backslashes are not allowed in paths")
    if _ESCAPE.search(path):
        return BadTarget("ambiguous percent-encoding in the path (%2F, %2E, %5C, %25 or a control character)")
    try:
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        return BadTarget("the path is not percent-encoded UTF-8")
    if not decoded.isprintable() or "\\" in decoded:
        return BadTarget("the decoded path holds characters that are not allowed")
    segments = decoded.split("/")[1:]
    if any(s in _SEGMENT_BAD for s in segments) or any(s == "" for s in segments[:-1]):
        return BadTarget("dot or empty segments are not allowed in paths")
    return Target(decoded, query)
