"""The call store in PostgreSQL (asyncpg), shared by every node of a cluster.

Same schema (``assist.store.pg_migrations``), same masking and the same returned
values as the SQLite store (``assist.store.db.Store``); see ``assist.store.base.CallStore``.
Writes go through ``PgGroupWriter``: group commit, and a batch the database refused
because it was away (restart, failover, network) is retried until it commits, so a
brief outage loses nothing.  Reads use the same connection pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import asyncpg

from assist.protocol.enums import CallMode, EndReason, Role
from assist.protocol.events import (
    Alert,
    AlertAcknowledged,
    CallEnded,
    CallStarted,
    Event,
    Prompt,
    Transcript,
    Word,
)
from assist.store import pg_migrations
from assist.store.db import MAX_LIMIT, NotFound, StoreBusy, StoreError
from assist.store.migrations import SchemaError
from assist.store.pg_writer import PgGroupWriter, PgOp
from assist.store.privacy import Redacted, Redactor
from assist.store.rows import Rows, search_key
from assist.store.writer import QueueFull, WriterClosed

log = logging.getLogger(__name__)

# Identifiers in stored events are never masked (see assist.store.db).
CONNECT_TIMEOUT: Final[float] = 5.0


def _dsn(url: str) -> str:
    """asyncpg takes ``postgresql://`` and ``postgres://``; ``postgresql+asyncpg://`` is accepted too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PostgresStore:
    """The call store in PostgreSQL.  ``await PostgresStore.open(url)``; ``await close()`` when done."""

    def __init__(self, url: str, pool: asyncpg.Pool, redactor: Redactor, queue_size: int, readonly: bool) -> None:
        self.url = url
        self.redactor = redactor
        self.rows = Rows(redactor)
        self._pool = pool
        self._closed = False
        self._group = None if readonly else PgGroupWriter(pool, queue_size)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        keep_originals: bool = False,
        readonly: bool = False,
        queue_size: int = 10_000,
        redactor: Redactor | None = None,
        pool_size: int = 4,
    ) -> PostgresStore:
        """Connect, and (unless ``readonly``) create or migrate the schema."""
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        red = redactor or Redactor(keep_originals=keep_originals)
        if redactor is not None and redactor.keep_originals != keep_originals:
            raise ValueError("keep_originals differs from the redactor's keep_originals")
        try:
            pool = await asyncpg.create_pool(
                _dsn(url), min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT, command_timeout=30
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to the database: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                if readonly:
                    version = await pg_migrations.current_version(conn)
                    pg_migrations.check_supported(version)
                    if version != pg_migrations.LATEST:
                        raise SchemaError(
                            f"the database has schema version {version or 0}, this program needs "
                            f"{pg_migrations.LATEST}: start the server once (it migrates) and retry"
                        )
                else:
                    before = await pg_migrations.migrate(conn)
                    if before != pg_migrations.LATEST:
                        log.info("store migrated from schema %d to %d", before, pg_migrations.LATEST)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool, red, queue_size, readonly)

    @property
    def readonly(self) -> bool:
        return self._group is None

    @property
    def unavailable(self) -> bool:
        """Is the writer waiting for the database to come back?"""
        return self._group is not None and self._group.unavailable_since is not None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._group is not None:
            await self._group.close()
        await self._pool.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ the writer

    def _writer(self) -> PgGroupWriter:
        if self._closed:
            raise StoreError("the store is closed")
        if self._group is None:
            raise StoreError("the store is open read-only")
        return self._group

    async def _write(self, op: PgOp) -> Any:
        try:
            return await self._writer().submit(op)
        except WriterClosed as exc:
            raise StoreError(str(exc)) from None

    def _write_nowait(self, op: PgOp) -> asyncio.Future[Any]:
        try:
            return self._writer().submit_nowait(op)
        except QueueFull as exc:
            raise StoreBusy(str(exc)) from None
        except WriterClosed as exc:
            raise StoreError(str(exc)) from None

    # ------------------------------------------------------------------ write API

    async def start_call(
        self,
        call_id: str,
        agent_id: str,
        started_at: float,
        mode: CallMode = CallMode.LIVE,
        meta: Mapping[str, str] | None = None,
    ) -> bool:
        return bool(await self._write(self._start_op(call_id, agent_id, started_at, mode, meta)))

    def _start_op(
        self, call_id: str, agent_id: str, started_at: float, mode: CallMode, meta: Mapping[str, str] | None
    ) -> PgOp:
        params = self.rows.call(call_id, agent_id, started_at, mode, meta)

        async def op(conn: asyncpg.Connection) -> bool:
            resumes = await conn.fetchval(
                """INSERT INTO calls (call_id, agent_id, mode, started_at, meta, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (call_id) DO UPDATE SET
                       ended_at = NULL, end_reason = NULL, resumes = calls.resumes + 1,
                       updated_at = excluded.updated_at
                   RETURNING resumes""",
                *params,
            )
            return resumes is not None and int(resumes) > 0

        return op

    async def add_utterance(
        self,
        call_id: str,
        role: Role,
        utterance_id: str,
        text: str,
        start: float,
        end: float,
        words: Sequence[Word] = (),
    ) -> Redacted:
        op, redacted = self._utterance_op(call_id, role, utterance_id, text, start, end, words)
        await self._write(op)
        return redacted

    def _utterance_op(
        self,
        call_id: str,
        role: Role,
        utterance_id: str,
        text: str,
        start: float,
        end: float,
        words: Sequence[Word],
    ) -> tuple[PgOp, Redacted]:
        params, redacted = self.rows.utterance(call_id, role, utterance_id, text, start, end, words)

        async def op(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO utterances (call_id, utterance_id, role, text, search_text, original,
                                               start, "end", words, redactions, recorded_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                       ON CONFLICT (call_id, utterance_id) DO UPDATE SET
                           role = excluded.role, text = excluded.text, search_text = excluded.search_text,
                           original = excluded.original, start = excluded.start, "end" = excluded."end",
                           words = excluded.words, redactions = excluded.redactions,
                           recorded_at = excluded.recorded_at""",
                    *params,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise NotFound(f"no call {call_id!r}: start_call first") from exc

        return op, redacted

    async def add_prompt(self, prompt: Prompt) -> None:
        await self._write(self._prompt_op(prompt))

    def _prompt_op(self, prompt: Prompt) -> PgOp:
        params = self.rows.prompt(prompt)
        call_id = prompt.call_id

        async def op(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO prompts (call_id, prompt_id, utterance_id, role, kind, action, audio_time,
                                            event, first_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                       ON CONFLICT (call_id, prompt_id) DO UPDATE SET
                           action = excluded.action, updated_at = excluded.updated_at,
                           updates = prompts.updates + 1,
                           event = CASE WHEN excluded.action = 'withdraw' THEN prompts.event
                                        ELSE excluded.event END,
                           audio_time = CASE WHEN excluded.action = 'withdraw' THEN prompts.audio_time
                                             ELSE excluded.audio_time END""",
                    *params,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise NotFound(f"no call {call_id!r}: start_call first") from exc

        return op

    async def add_alert(self, alert: Alert) -> None:
        await self._write(self._alert_op(alert))

    def _alert_op(self, alert: Alert) -> PgOp:
        params = self.rows.alert(alert)
        call_id = alert.call_id

        async def op(conn: asyncpg.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO alerts (alert_id, call_id, agent_id, kind, severity, message, audio_time,
                                           utterance_id, created_at, acknowledged_by, acknowledged_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                       ON CONFLICT (alert_id) DO NOTHING""",
                    *params,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise NotFound(f"no call {call_id!r}: start_call first") from exc

        return op

    async def ack_alert(self, alert_id: str, by: str, at: float, note: str = "") -> dict[str, Any]:
        result: dict[str, Any] = await self._write(self._ack_op(alert_id, by, at, note))
        return result

    def _ack_op(self, alert_id: str, by: str, at: float, note: str = "") -> PgOp:
        by_masked = self.redactor.mask_text(by)
        note_masked = self.redactor.mask_text(note)

        async def op(conn: asyncpg.Connection) -> dict[str, Any]:
            await conn.execute(
                """UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2, ack_note = $3
                   WHERE alert_id = $4 AND acknowledged_at IS NULL""",
                by_masked, float(at), note_masked, alert_id,
            )
            row = await conn.fetchrow("SELECT * FROM alerts WHERE alert_id = $1", alert_id)
            if row is None:
                raise NotFound(f"no alert {alert_id!r}")
            return dict(row)

        return op

    async def end_call(self, call_id: str, ended_at: float, reason: EndReason) -> None:
        await self._write(self._end_op(call_id, ended_at, reason))

    def _end_op(self, call_id: str, ended_at: float, reason: EndReason) -> PgOp:
        reason = EndReason(self.rows.end_reason(reason))
        now = time.time()

        async def op(conn: asyncpg.Connection) -> None:
            status = await conn.execute(
                "UPDATE calls SET ended_at = $1, end_reason = $2, updated_at = $3 WHERE call_id = $4",
                float(ended_at), reason, now, call_id,
            )
            if status.endswith(" 0"):
                raise NotFound(f"no call {call_id!r}")

        return op

    async def mark_open_calls_interrupted(self) -> list[str]:
        now = time.time()

        async def op(conn: asyncpg.Connection) -> list[str]:
            rows = await conn.fetch(
                """UPDATE calls SET end_reason = 'interrupted', updated_at = $1,
                       ended_at = greatest(started_at, coalesce(
                           (SELECT max(recorded_at) FROM utterances u WHERE u.call_id = calls.call_id),
                           started_at))
                   WHERE ended_at IS NULL
                   RETURNING call_id""",
                now,
            )
            return sorted(str(r["call_id"]) for r in rows)

        result: list[str] = await self._write(op)
        return result

    def record(self, event: Event) -> asyncio.Future[Any] | None:
        """Event-sink form (never blocks); see ``assist.store.db.Store.record``."""
        op: PgOp | None = None
        if isinstance(event, Transcript):
            if event.final:
                op, _ = self._utterance_op(
                    event.call_id, event.role, event.utterance_id, event.text, event.start, event.end, event.words
                )
        elif isinstance(event, Prompt):
            op = self._prompt_op(event)
        elif isinstance(event, Alert):
            op = self._alert_op(event)
        elif isinstance(event, AlertAcknowledged):
            op = self._ack_op(event.alert_id, event.by, event.at, event.note)
        elif isinstance(event, CallStarted):
            op = self._start_op(event.call_id, event.agent_id, event.started_at, event.mode, None)
        elif isinstance(event, CallEnded):
            op = self._end_op(event.call_id, time.time(), event.summary.reason)
        if op is None:
            return None
        fut = self._write_nowait(op)
        fut.add_done_callback(_log_failure)
        return fut

    # ------------------------------------------------------------------ read API

    async def _fetch(self, sql: str, *params: Any) -> list[asyncpg.Record]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            rows: list[asyncpg.Record] = await self._pool.fetch(sql, *params)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"the database is unavailable: {exc}") from exc
        return rows

    async def list_calls(
        self,
        agent: str | None = None,
        since: float | None = None,
        search: str | None = None,
        limit: int = 100,
        *,
        until: float | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        where: list[str] = []
        params: list[Any] = []

        def arg(value: Any) -> str:
            params.append(value)
            return f"${len(params)}"

        if agent:
            where.append(f"c.agent_id = {arg(agent)}")
        if since is not None:
            where.append(f"c.started_at >= {arg(float(since))}")
        if until is not None:
            where.append(f"c.started_at < {arg(float(until))}")
        terms = self._search_terms(search)
        for term in terms:
            where.append(
                f"c.call_id IN (SELECT u.call_id FROM utterances u WHERE u.search_text LIKE {arg(_like(term))})"
            )
        sql = f"""SELECT c.*,
                    (SELECT count(*) FROM utterances u WHERE u.call_id = c.call_id) AS utterance_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id) AS alert_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id
                        AND a.acknowledged_at IS NULL) AS open_alerts
                  FROM calls c {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY c.started_at DESC, c.call_id LIMIT {arg(limit)} OFFSET {arg(offset)}"""
        rows = await self._fetch(sql, *params)
        calls = []
        for row in rows:
            call = _call_dict(row)
            call["utterances"] = int(row["utterance_count"])
            call["alerts"] = int(row["alert_count"])
            call["open_alerts"] = int(row["open_alerts"])
            if terms:
                call["matches"] = await self._matches(call["call_id"], terms)
            calls.append(call)
        return calls

    def _search_terms(self, search: str | None) -> list[str]:
        if not search:
            return []
        return [key for key in (search_key(t) for t in self.redactor.mask_text(search).split()) if key]

    async def _matches(self, call_id: str, terms: list[str]) -> list[dict[str, Any]]:
        likes = " OR ".join(f"u.search_text LIKE ${i + 2}" for i in range(len(terms)))
        sql = f"""SELECT u.utterance_id, u.role, u.start, u."end", u.text FROM utterances u
                  WHERE u.call_id = $1 AND ({likes}) ORDER BY u.start, u.id LIMIT 3"""
        rows = await self._fetch(sql, call_id, *(_like(t) for t in terms))
        return [dict(r) for r in rows]

    async def get_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        rows = await self._fetch("SELECT * FROM calls WHERE call_id = $1", call_id)
        if not rows:
            raise NotFound(f"no call {call_id!r}")
        prompts = await self._fetch("SELECT * FROM prompts WHERE call_id = $1 ORDER BY audio_time, id", call_id)
        return {
            "call": _call_dict(rows[0]),
            "utterances": await self.utterances(call_id, include_originals=include_originals),
            "prompts": [_prompt_dict(p) for p in prompts],
            "alerts": await self.list_alerts(call_id=call_id, limit=MAX_LIMIT),
        }

    async def export_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        data = await self.get_call(call_id, include_originals=include_originals)
        return {"format": "assist-call/1", "exported_at": round(time.time(), 3), **data}

    async def utterances(self, call_id: str, *, include_originals: bool = False) -> list[dict[str, Any]]:
        rows = await self._fetch(
            """SELECT utterance_id, role, text, original, start, "end", words, redactions, recorded_at
               FROM utterances WHERE call_id = $1 ORDER BY start, id""",
            call_id,
        )
        out = []
        for r in rows:
            item = {
                "utterance_id": r["utterance_id"],
                "role": r["role"],
                "text": r["text"],
                "start": r["start"],
                "end": r["end"],
                "words": json.loads(r["words"]),
                "redactions": r["redactions"],
                "recorded_at": r["recorded_at"],
            }
            if include_originals and r["original"] is not None:
                item["original"] = r["original"]
            out.append(item)
        return out

    async def list_alerts(
        self,
        *,
        call_id: str | None = None,
        unacknowledged: bool = False,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
        where: list[str] = []
        params: list[Any] = []
        if call_id is not None:
            params.append(call_id)
            where.append(f"call_id = ${len(params)}")
        if unacknowledged:
            where.append("acknowledged_at IS NULL")
        if since is not None:
            params.append(float(since))
            where.append(f"created_at >= ${len(params)}")
        params.append(limit)
        sql = f"""SELECT * FROM alerts {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY created_at, alert_id LIMIT ${len(params)}"""
        return [dict(r) for r in await self._fetch(sql, *params)]

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT max(version) AS v FROM schema_version")
        return int(rows[0]["v"])


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _call_dict(row: asyncpg.Record) -> dict[str, Any]:
    ended = row["ended_at"]
    return {
        "call_id": row["call_id"],
        "agent_id": row["agent_id"],
        "mode": row["mode"],
        "started_at": row["started_at"],
        "ended_at": ended,
        "end_reason": row["end_reason"],
        "duration": None if ended is None else round(max(0.0, ended - row["started_at"]), 3),
        "resumes": row["resumes"],
        "meta": json.loads(row["meta"]),
    }


def _prompt_dict(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "prompt_id": row["prompt_id"],
        "utterance_id": row["utterance_id"],
        "role": row["role"],
        "kind": row["kind"],
        "action": row["action"],
        "audio_time": row["audio_time"],
        "first_at": row["first_at"],
        "updated_at": row["updated_at"],
        "updates": row["updates"],
        "event": json.loads(row["event"]),
    }


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is not None:
        log.error("store: a recorded event was not written: %s", exc)
