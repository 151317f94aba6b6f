"""The history queries of the call store, written once for both SQL backends.

Reads return JSON-ready dicts: calls newest first with their counts and search matches, one call
with its utterances, prompts and alerts, the alerts.  ``SqlStore`` (``assist.store.sql_store``)
takes this as its base and supplies ``_read``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from assist.store.errors import NotFound
from assist.store.privacy import Redactor
from assist.store.rows import search_key
from assist.store.sql import (
    MAX_LIMIT,
    Params,
    Row,
    call_dict,
    check_limit,
    like_pattern,
    prompt_dict,
    utterance_dict,
)


class SqlReads(ABC):
    """The read API of a call store; ``_read`` runs one query on the backend."""

    redactor: Redactor

    @abstractmethod
    async def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        """The rows of one query (raises ``StoreError`` once the store is closed)."""

    async def list_calls(
        self,
        agent: str | None = None,
        since: float | None = None,
        search: str | None = None,
        limit: int = 100,
        *,
        until: float | None = None,
        offset: int = 0,
        call_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Calls, newest first.  ``since``/``until`` are unix times (call start);
        ``search``: every whitespace-separated term must occur in some utterance of
        the call (substring, case-insensitive, spaces in the text ignored).  With a
        search each call carries ``matches``: its first three matching utterances.
        ``call_id``: only that call (an empty list when it is not stored).  Each call
        carries ``first_text``: the caller's first utterance (the call's first when the
        caller said nothing; "" without utterances)."""
        check_limit(limit)
        if offset < 0:
            raise ValueError("offset must not be negative")
        where: list[str] = []
        q = Params()
        if agent:
            where.append(f"c.agent_id = {q.arg(agent)}")
        if call_id is not None:
            where.append(f"c.call_id = {q.arg(call_id)}")
        if since is not None:
            where.append(f"c.started_at >= {q.arg(float(since))}")
        if until is not None:
            where.append(f"c.started_at < {q.arg(float(until))}")
        terms = self._search_terms(search)
        for term in terms:
            where.append(f"c.call_id IN (SELECT u.call_id FROM utterances u WHERE {self._term_clause(term, q)})")
        sql = f"""SELECT c.*,
                    (SELECT count(*) FROM utterances u WHERE u.call_id = c.call_id) AS utterance_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id) AS alert_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id
                        AND a.acknowledged_at IS NULL AND c.mode <> 'training') AS open_alerts,
                    (SELECT u.text FROM utterances u WHERE u.call_id = c.call_id
                        ORDER BY CASE WHEN u.role = 'caller' THEN 0 ELSE 1 END, u.start, u.id
                        LIMIT 1) AS first_text
                  FROM calls c {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY c.started_at DESC, c.call_id LIMIT {q.arg(limit)} OFFSET {q.arg(offset)}"""
        calls = []
        for row in await self._read(sql, q.values):
            call = call_dict(row)
            call["utterances"] = int(row["utterance_count"])
            call["alerts"] = int(row["alert_count"])
            call["open_alerts"] = int(row["open_alerts"])
            call["first_text"] = row["first_text"] or ""
            if terms:
                call["matches"] = await self._matches(call["call_id"], terms)
            calls.append(call)
        return calls

    def _search_terms(self, search: str | None) -> list[str]:
        if not search:
            return []
        # A full number typed into the search box is masked the way it was stored.
        return [key for key in (search_key(t) for t in self.redactor.mask_text(search).split()) if key]

    def _term_clause(self, term: str, q: Params) -> str:
        """SQL (on utterances ``u``) for "search_text contains term"."""
        return f"u.search_text LIKE {q.arg(like_pattern(term))} ESCAPE '\\'"

    async def _matches(self, call_id: str, terms: list[str]) -> list[dict[str, Any]]:
        q = Params(call_id)
        clauses = " OR ".join(self._term_clause(t, q) for t in terms)
        sql = f"""SELECT u.utterance_id, u.role, u.start, u."end", u.text FROM utterances u
                  WHERE u.call_id = $1 AND ({clauses})
                  ORDER BY u.start, u.id LIMIT 3"""
        return [dict(r) for r in await self._read(sql, q.values)]

    async def get_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        """``{"call", "utterances", "prompts", "alerts"}`` of one call.  Raises ``NotFound``."""
        rows = await self._read("SELECT * FROM calls WHERE call_id = $1", (call_id,))
        if not rows:
            raise NotFound(f"no call {call_id!r}")
        prompts = await self._read("SELECT * FROM prompts WHERE call_id = $1 ORDER BY audio_time, id", (call_id,))
        return {
            "call": call_dict(rows[0]),
            "utterances": await self.utterances(call_id, include_originals=include_originals),
            "prompts": [prompt_dict(p) for p in prompts],
            "alerts": await self.list_alerts(call_id=call_id, limit=MAX_LIMIT),
        }

    async def export_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        """``get_call`` plus a format tag and export time, for ``assist calls export``."""
        data = await self.get_call(call_id, include_originals=include_originals)
        return {"format": "assist-call/1", "exported_at": round(time.time(), 3), **data}

    async def utterances(self, call_id: str, *, include_originals: bool = False) -> list[dict[str, Any]]:
        """Final utterances of a call in audio-time order (empty for an unknown call)."""
        rows = await self._read(
            """SELECT utterance_id, role, text, original, start, "end", words, redactions, recorded_at
               FROM utterances WHERE call_id = $1 ORDER BY start, id""",
            (call_id,),
        )
        return [utterance_dict(r, include_originals) for r in rows]

    async def list_alerts(
        self,
        *,
        call_id: str | None = None,
        unacknowledged: bool = False,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Alerts, oldest first (e.g. the open ones to show a dashboard after a restart)."""
        check_limit(limit)
        where: list[str] = []
        q = Params()
        if call_id is not None:
            where.append(f"call_id = {q.arg(call_id)}")
        if unacknowledged:
            where.append("acknowledged_at IS NULL")
        if since is not None:
            where.append(f"created_at >= {q.arg(float(since))}")
        sql = f"""SELECT * FROM alerts {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY created_at, alert_id LIMIT {q.arg(limit)}"""
        return [dict(r) for r in await self._read(sql, q.values)]

    async def schema_version(self) -> int:
        rows = await self._read("SELECT max(version) AS v FROM schema_version")
        return int(rows[0]["v"])
