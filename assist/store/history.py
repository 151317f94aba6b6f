"""Call history queries shared by ``assist calls`` and the dashboard's history endpoint.

``history_query(store, params)`` takes the query-string parameters of an HTTP
request (``agent``, ``since``, ``until``, ``search``, ``limit``, ``offset``, ``call``), checks
them strictly and returns a JSON-ready dict; bad parameters raise
``HistoryQueryError`` (answer HTTP 400 with its message).  ``history_call``
returns one call (``NotFound`` from ``assist.store.db`` means HTTP 404).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import Any, Final

from assist.store.base import CallStore as Store  # either backend (assist.store.open)

PARAMS: Final[tuple[str, ...]] = ("agent", "since", "until", "search", "limit", "offset", "call")
DEFAULT_LIMIT: Final[int] = 50
MAX_LIMIT: Final[int] = 500
MAX_SEARCH_CHARS: Final[int] = 200
_UNITS: Final[dict[str, float]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


class HistoryQueryError(ValueError):
    """A history parameter is not valid; the message says which and why."""


def parse_time(value: str, now: float | None = None) -> float:
    """A point in time as unix seconds, from ``30m``/``2h``/``1d``/``1w`` (that long ago),
    an ISO date or date-time (local time unless it has an offset), or unix seconds."""
    text = value.strip()
    current = time.time() if now is None else now
    m = _RELATIVE.fullmatch(text.lower())
    if m:
        return current - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parsed.timestamp()  # naive values are local time
    try:
        seconds = float(text)
    except ValueError:
        raise HistoryQueryError(f"{value!r} is not a time: use e.g. 2h, 1d, 2024-05-01 or 2024-05-01T08:30") from None
    if seconds != seconds or seconds < 0:
        raise HistoryQueryError(f"{value!r} is not a time")
    return seconds


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HistoryQueryError(f"{key} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise HistoryQueryError(f"{key} must be {low} to {high}")
    return value


async def history_query(store: Store, params: Mapping[str, str], now: float | None = None) -> dict[str, Any]:
    """Search the call history.  Returns
    ``{"calls": [call...], "query": {...normalised parameters}, "next_offset": int | None}``
    where each call is a ``Store.list_calls`` dict (``matches`` present when searching)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise HistoryQueryError(f"unknown parameter(s): {', '.join(unknown)}; use {', '.join(PARAMS)}")
    agent = params.get("agent") or None
    call_id = params.get("call") or None  # one call by id: [] when not stored (a page asks without a 404)
    search = (params.get("search") or "").strip() or None
    if search is not None and len(search) > MAX_SEARCH_CHARS:
        raise HistoryQueryError(f"search must be at most {MAX_SEARCH_CHARS} characters")
    since = parse_time(params["since"], now) if params.get("since") else None
    until = parse_time(params["until"], now) if params.get("until") else None
    limit = _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int(params, "offset", 0, 0, 10**9)
    # One extra row tells whether there is a next page.
    calls = await store.list_calls(
        agent=agent, since=since, search=search, limit=limit + 1, until=until, offset=offset, call_id=call_id
    )
    more = len(calls) > limit
    return {
        "calls": calls[:limit],
        "query": {"agent": agent, "since": since, "until": until, "search": search, "limit": limit, "offset": offset,
                  "call": call_id},
        "next_offset": offset + limit if more else None,
    }


async def history_call(store: Store, call_id: str) -> dict[str, Any]:
    """One call with its utterances, prompts and alerts (masked).  Raises ``NotFound``."""
    return await store.export_call(call_id)
