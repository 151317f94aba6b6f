"""Persistent call store: SQLite (WAL) through aiosqlite, written as things happen.

One ``Store`` per process.  All writes go through one writer task and one
connection: each write is queued, the writer takes everything queued, runs it in
one transaction and commits (group commit), then the awaiting callers resume.
So when ``await store.add_utterance(...)`` returns, the utterance is committed:
with ``synchronous=NORMAL`` in WAL mode a commit survives the process being
killed (SIGKILL, crash) but not a power cut; ``synchronous="FULL"`` also
survives a power cut at the cost of an fsync per commit.  Reads use a second,
read-only connection.  Every text is masked by ``assist.store.privacy.Redactor``
before it is written; ``keep_originals=True`` also keeps the unmasked utterance
text in a separate column.  See docs/storage.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import aiosqlite

from assist import paths
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
from assist.store import migrations
from assist.store.migrations import SchemaError
from assist.store.privacy import Redacted, Redactor
from assist.store.rows import Rows, search_key
from assist.store.writer import GroupCommitWriter, Op, QueueFull, WriterClosed

log = logging.getLogger(__name__)

END_REASONS: Final[tuple[EndReason, ...]] = tuple(EndReason)
SYNCHRONOUS: Final[tuple[str, ...]] = ("NORMAL", "FULL")
ENV_DB: Final[str] = paths.DB_ENV
MAX_LIMIT: Final[int] = 1000


class StoreError(Exception):
    """The store cannot do what was asked (closed, read-only, busy, unusable file)."""


class NotFound(StoreError, LookupError):
    """No call or alert with that id."""


class StoreBusy(StoreError):
    """The write queue is full (the disk is not keeping up); ``record`` refused the event."""


__all__ = [
    "END_REASONS",
    "NotFound",
    "SchemaError",
    "Store",
    "StoreBusy",
    "StoreError",
    "default_db_path",
    "resolve_db_path",
    "search_key",
]


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``var/assist.sqlite3`` in the data directory (``assist.paths``: the server and the CLI agree on it)."""
    return paths.data_dir(env) / paths.DB_FILE


def resolve_db_path(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The database path: ``explicit`` (``--db``), else ``$ASSIST_DB``, else ``default_db_path()``."""
    if explicit:
        return Path(explicit).expanduser()
    return paths.default_db_path(env)


# Keys of stored events that identify things rather than carry what was said: never masked, or a call id
# made of digits would stop matching its call.


def _fk_failure(exc: sqlite3.IntegrityError) -> bool:
    return "FOREIGN KEY" in str(exc)


class Store:
    """The call store.  Create with ``await Store.open(path)``; ``await close()`` when done.

    Writes (``start_call``, ``add_utterance``, ``add_prompt``, ``add_alert``,
    ``ack_alert``, ``end_call``, ``mark_open_calls_interrupted``) return once
    committed.  ``record(event)`` is the non-blocking form for event sinks.
    Reads return JSON-ready dicts.
    """

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        redactor: Redactor,
        fts: bool,
        queue_size: int,
    ) -> None:
        self.path = path
        self.redactor = redactor
        self.rows = Rows(redactor)
        self.fts = fts
        self._writer_conn = writer
        self._reader = reader
        self._closed = False
        self._group = GroupCommitWriter(writer, queue_size) if writer is not None else None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        keep_originals: bool = False,
        synchronous: str = "NORMAL",
        readonly: bool = False,
        queue_size: int = 10_000,
        redactor: Redactor | None = None,
    ) -> Store:
        """Open (creating and migrating if needed) the database at ``path``.

        ``readonly=True`` opens an existing database for reading only (the CLI);
        it never creates or migrates and raises ``StoreError`` if the file is missing.
        """
        path = Path(path)
        sync = synchronous.upper()
        if sync not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        red = redactor or Redactor(keep_originals=keep_originals)
        if redactor is not None and redactor.keep_originals != keep_originals:
            raise ValueError("keep_originals differs from the redactor's keep_originals")
        if readonly:
            if not path.is_file():
                raise StoreError(f"no database at {path}")
            reader = await cls._connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                await reader.execute("PRAGMA query_only = ON")
                version = await migrations.current_version(reader)
                migrations.check_supported(version)
                if version != migrations.LATEST:
                    raise SchemaError(
                        f"the database at {path} has schema version {version or 0}, this program "
                        f"needs {migrations.LATEST}: start the server once (it migrates) and retry"
                    )
                fts = await cls._has_fts(reader)
            except BaseException:
                await reader.close()
                raise
            return cls(path, None, reader, red, fts, queue_size)

        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await cls._connect(str(path))
        try:
            mode = list(await writer.execute_fetchall("PRAGMA journal_mode = WAL"))
            if str(mode[0][0]).lower() != "wal":
                raise StoreError(f"cannot put {path} in WAL mode (journal_mode is {mode[0][0]})")
            await writer.execute(f"PRAGMA synchronous = {sync}")
            await writer.execute("PRAGMA foreign_keys = ON")
            before = await migrations.migrate(writer)
            if before != migrations.LATEST:
                log.info("store %s migrated from schema %d to %d", path, before, migrations.LATEST)
            reader = await cls._connect(str(path))
        except BaseException:
            await writer.close()
            raise
        try:
            await reader.execute("PRAGMA query_only = ON")
            fts = await cls._has_fts(reader)
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        return cls(path, writer, reader, red, fts, queue_size)

    @staticmethod
    async def _connect(database: str, *, uri: bool = False) -> aiosqlite.Connection:
        try:
            conn = await aiosqlite.connect(database, isolation_level=None, uri=uri)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the database {database}: {exc}") from exc
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            # Fails here (not later) for a file that is not an SQLite database.
            await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"cannot open the database {database}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    @staticmethod
    async def _has_fts(conn: aiosqlite.Connection) -> bool:
        rows = await conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'utterances_fts'"
        )
        return bool(list(rows))

    @property
    def readonly(self) -> bool:
        return self._writer_conn is None

    async def close(self) -> None:
        """Commit everything queued, then close both connections.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._group is not None:
            await self._group.close()
        if self._writer_conn is not None:
            await self._writer_conn.close()
        await self._reader.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ the writer

    def _writer(self) -> GroupCommitWriter:
        if self._closed:
            raise StoreError("the store is closed")
        if self._group is None:
            raise StoreError("the store is open read-only")
        return self._group

    async def _write(self, op: Op) -> Any:
        """Queue ``op`` and return its result once committed."""
        try:
            return await self._writer().submit(op)
        except WriterClosed as exc:
            raise StoreError(str(exc)) from None

    def _write_nowait(self, op: Op) -> asyncio.Future[Any]:
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
        """Record a call start.  For a call id already stored (a resumed call) the call is
        reopened instead (``resumes`` + 1, end cleared) and ``True`` is returned."""
        return bool(await self._write(self._start_op(call_id, agent_id, started_at, mode, meta)))

    def _start_op(
        self, call_id: str, agent_id: str, started_at: float, mode: CallMode, meta: Mapping[str, str] | None
    ) -> Op:
        params = self.rows.call(call_id, agent_id, started_at, mode, meta)

        async def op(conn: aiosqlite.Connection) -> bool:
            cur = await conn.execute(
                """INSERT INTO calls (call_id, agent_id, mode, started_at, meta, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (call_id) DO UPDATE SET
                       ended_at = NULL, end_reason = NULL, resumes = resumes + 1,
                       updated_at = excluded.updated_at
                   RETURNING resumes""",
                params,
            )
            row = await cur.fetchone()
            await cur.close()
            return row is not None and int(row[0]) > 0

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
        """Store a final utterance (upsert by ``(call_id, utterance_id)``: a resumed client
        re-sending it replaces, never duplicates).  Returns the redaction, so the caller can
        publish the same masked text.  Raises ``NotFound`` for an unknown call."""
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
    ) -> tuple[Op, Redacted]:
        params, redacted = self.rows.utterance(call_id, role, utterance_id, text, start, end, words)

        async def op(conn: aiosqlite.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO utterances (call_id, utterance_id, role, text, search_text, original,
                                               start, "end", words, redactions, recorded_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (call_id, utterance_id) DO UPDATE SET
                           role = excluded.role, text = excluded.text, search_text = excluded.search_text,
                           original = excluded.original, start = excluded.start, "end" = excluded."end",
                           words = excluded.words, redactions = excluded.redactions,
                           recorded_at = excluded.recorded_at""",
                    params,
                )
            except sqlite3.IntegrityError as exc:
                if _fk_failure(exc):
                    raise NotFound(f"no call {call_id!r}: start_call first") from exc
                raise

        return op, redacted

    async def add_prompt(self, prompt: Prompt) -> None:
        """Store a prompt event: one row per ``prompt_id``, updated by later ``update``/``withdraw``
        events (a withdraw keeps the last shown content)."""
        await self._write(self._prompt_op(prompt))

    def _prompt_op(self, prompt: Prompt) -> Op:
        params = self.rows.prompt(prompt)
        call_id = prompt.call_id

        async def op(conn: aiosqlite.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO prompts (call_id, prompt_id, utterance_id, role, kind, action, audio_time,
                                            event, first_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (call_id, prompt_id) DO UPDATE SET
                           action = excluded.action, updated_at = excluded.updated_at, updates = updates + 1,
                           event = CASE WHEN excluded.action = 'withdraw' THEN event ELSE excluded.event END,
                           audio_time = CASE WHEN excluded.action = 'withdraw' THEN audio_time
                                             ELSE excluded.audio_time END""",
                    params,
                )
            except sqlite3.IntegrityError as exc:
                if _fk_failure(exc):
                    raise NotFound(f"no call {call_id!r}: start_call first") from exc
                raise

        return op

    async def add_alert(self, alert: Alert) -> None:
        """Store an alert; an alert id already stored is left as it is."""
        await self._write(self._alert_op(alert))

    def _alert_op(self, alert: Alert) -> Op:
        params = self.rows.alert(alert)
        call_id = alert.call_id

        async def op(conn: aiosqlite.Connection) -> None:
            try:
                await conn.execute(
                    """INSERT INTO alerts (alert_id, call_id, agent_id, kind, severity, message, audio_time,
                                           utterance_id, created_at, acknowledged_by, acknowledged_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (alert_id) DO NOTHING""",
                    params,
                )
            except sqlite3.IntegrityError as exc:
                if _fk_failure(exc):
                    raise NotFound(f"no call {call_id!r}: start_call first") from exc
                raise

        return op

    async def ack_alert(self, alert_id: str, by: str, at: float, note: str = "") -> dict[str, Any]:
        """Acknowledge an alert, with the supervisor's short note; the first acknowledgement wins.
        Returns the alert as stored (``acknowledged_by``/``acknowledged_at``/``ack_note`` of the
        first ack).  Raises ``NotFound``."""
        result: dict[str, Any] = await self._write(self._ack_op(alert_id, by, at, note))
        return result

    def _ack_op(self, alert_id: str, by: str, at: float, note: str = "") -> Op:
        by_masked = self.redactor.mask_text(by)
        note_masked = self.redactor.mask_text(note)

        async def op(conn: aiosqlite.Connection) -> dict[str, Any]:
            await conn.execute(
                """UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?, ack_note = ?
                   WHERE alert_id = ? AND acknowledged_at IS NULL""",
                (by_masked, float(at), note_masked, alert_id),
            )
            rows = list(await conn.execute_fetchall("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)))
            if not rows:
                raise NotFound(f"no alert {alert_id!r}")
            return dict(rows[0])

        return op

    async def end_call(self, call_id: str, ended_at: float, reason: EndReason) -> None:
        """Record how a call ended.  Raises ``NotFound``."""
        await self._write(self._end_op(call_id, ended_at, reason))

    def _end_op(self, call_id: str, ended_at: float, reason: EndReason) -> Op:
        reason = EndReason(self.rows.end_reason(reason))
        now = time.time()

        async def op(conn: aiosqlite.Connection) -> None:
            cur = await conn.execute(
                "UPDATE calls SET ended_at = ?, end_reason = ?, updated_at = ? WHERE call_id = ?",
                (float(ended_at), reason, now, call_id),
            )
            changed = cur.rowcount
            await cur.close()
            if changed == 0:
                raise NotFound(f"no call {call_id!r}")

        return op

    async def mark_open_calls_interrupted(self) -> list[str]:
        """At startup: close every call still open (the previous process died) as
        ``interrupted``, ended at its last stored utterance.  Returns their ids."""
        now = time.time()

        async def op(conn: aiosqlite.Connection) -> list[str]:
            rows = await conn.execute_fetchall(
                """UPDATE calls SET end_reason = 'interrupted', updated_at = ?,
                       ended_at = max(started_at, coalesce(
                           (SELECT max(recorded_at) FROM utterances u WHERE u.call_id = calls.call_id),
                           started_at))
                   WHERE ended_at IS NULL
                   RETURNING call_id""",
                (now,),
            )
            return sorted(str(r[0]) for r in rows)

        result: list[str] = await self._write(op)
        return result

    def record(self, event: Event) -> asyncio.Future[Any] | None:
        """Event-sink form (never blocks): queue the write for a stored event type.

        Handles ``CallStarted``, final ``Transcript``, ``Prompt``, ``Alert``,
        ``AlertAcknowledged`` and ``CallEnded`` (ended now, with its summary's reason);
        other events and partial transcripts are ignored (``None``).  Returns the
        future of the write (resolved once committed; its exception, e.g. ``NotFound``,
        is logged if nobody awaits it).  Raises ``StoreBusy`` if the queue is full.
        """
        op: Op | None = None
        if isinstance(event, Transcript):
            if event.final:
                op, _ = self._utterance_op(
                    event.call_id,
                    event.role,
                    event.utterance_id,
                    event.text,
                    event.start,
                    event.end,
                    event.words,
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

    async def _fetch(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        if self._closed:
            raise StoreError("the store is closed")
        return list(await self._reader.execute_fetchall(sql, params))

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
        """Calls, newest first.  ``since``/``until`` are unix times (call start);
        ``search``: every whitespace-separated term must occur in some utterance of
        the call (substring, case-insensitive, spaces in the text ignored).  With a
        search each call carries ``matches``: its first three matching utterances."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        where: list[str] = []
        params: list[Any] = []
        if agent:
            where.append("c.agent_id = ?")
            params.append(agent)
        if since is not None:
            where.append("c.started_at >= ?")
            params.append(float(since))
        if until is not None:
            where.append("c.started_at < ?")
            params.append(float(until))
        terms = self._search_terms(search)
        for term in terms:
            clause, term_params = self._term_clause(term)
            where.append(f"c.call_id IN (SELECT u.call_id FROM utterances u WHERE {clause})")
            params.extend(term_params)
        sql = f"""SELECT c.*,
                    (SELECT count(*) FROM utterances u WHERE u.call_id = c.call_id) AS utterance_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id) AS alert_count,
                    (SELECT count(*) FROM alerts a WHERE a.call_id = c.call_id
                        AND a.acknowledged_at IS NULL) AS open_alerts
                  FROM calls c {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY c.started_at DESC, c.call_id LIMIT ? OFFSET ?"""
        rows = await self._fetch(sql, [*params, limit, offset])
        calls = [self._call_dict(r) for r in rows]
        for call, row in zip(calls, rows, strict=True):
            call["utterances"] = int(row["utterance_count"])
            call["alerts"] = int(row["alert_count"])
            call["open_alerts"] = int(row["open_alerts"])
            if terms:
                call["matches"] = await self._matches(call["call_id"], terms)
        return calls

    def _search_terms(self, search: str | None) -> list[str]:
        if not search:
            return []
        # A full number typed into the search box is masked the way it was stored.
        return [key for key in (search_key(t) for t in self.redactor.mask_text(search).split()) if key]

    def _term_clause(self, term: str) -> tuple[str, list[Any]]:
        """SQL (on utterances ``u``) for "search_text contains term"."""
        if any(ch in term for ch in "%_\\"):
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return "u.search_text LIKE ? ESCAPE '\\'", [f"%{escaped}%"]
        if self.fts and len(term) >= 3:
            # The trigram index answers LIKE for 3+ characters; shorter terms scan, which LIKE does anyway.
            return "u.id IN (SELECT rowid FROM utterances_fts WHERE search_text LIKE ?)", [f"%{term}%"]
        return "u.search_text LIKE ?", [f"%{term}%"]

    async def _matches(self, call_id: str, terms: list[str]) -> list[dict[str, Any]]:
        clauses = [self._term_clause(t) for t in terms]
        sql = f"""SELECT u.utterance_id, u.role, u.start, u."end", u.text FROM utterances u
                  WHERE u.call_id = ? AND ({" OR ".join(c for c, _ in clauses)})
                  ORDER BY u.start, u.id LIMIT 3"""
        params: list[Any] = [call_id]
        for _, p in clauses:
            params.extend(p)
        rows = await self._fetch(sql, params)
        return [dict(r) for r in rows]

    async def get_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        """``{"call", "utterances", "prompts", "alerts"}`` of one call.  Raises ``NotFound``."""
        rows = await self._fetch("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        if not rows:
            raise NotFound(f"no call {call_id!r}")
        prompts = await self._fetch("SELECT * FROM prompts WHERE call_id = ? ORDER BY audio_time, id", (call_id,))
        return {
            "call": self._call_dict(rows[0]),
            "utterances": await self.utterances(call_id, include_originals=include_originals),
            "prompts": [self._prompt_dict(p) for p in prompts],
            "alerts": await self.list_alerts(call_id=call_id, limit=MAX_LIMIT),
        }

    async def export_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]:
        """``get_call`` plus a format tag and export time, for ``assist calls export``."""
        data = await self.get_call(call_id, include_originals=include_originals)
        return {"format": "assist-call/1", "exported_at": round(time.time(), 3), **data}

    async def utterances(self, call_id: str, *, include_originals: bool = False) -> list[dict[str, Any]]:
        """Final utterances of a call in audio-time order (empty for an unknown call)."""
        rows = await self._fetch(
            """SELECT utterance_id, role, text, original, start, "end", words, redactions, recorded_at
               FROM utterances WHERE call_id = ? ORDER BY start, id""",
            (call_id,),
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
        """Alerts, oldest first (e.g. the open ones to show a dashboard after a restart)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}")
        where: list[str] = []
        params: list[Any] = []
        if call_id is not None:
            where.append("call_id = ?")
            params.append(call_id)
        if unacknowledged:
            where.append("acknowledged_at IS NULL")
        if since is not None:
            where.append("created_at >= ?")
            params.append(float(since))
        sql = f"""SELECT * FROM alerts {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY created_at, alert_id LIMIT ?"""
        return [dict(r) for r in await self._fetch(sql, [*params, limit])]

    async def durability(self) -> dict[str, str]:
        """The writer's ``journal_mode`` and ``synchronous`` (e.g. for the startup log)."""
        if self._writer_conn is None:
            raise StoreError("the store is open read-only")
        (mode,) = await self._writer_conn.execute_fetchall("PRAGMA journal_mode")
        (sync,) = await self._writer_conn.execute_fetchall("PRAGMA synchronous")
        levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return {"journal_mode": str(mode[0]), "synchronous": levels[int(sync[0])]}

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT max(version) FROM schema_version")
        return int(rows[0][0])

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        rows = await self._fetch("PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)

    @staticmethod
    def _call_dict(row: sqlite3.Row) -> dict[str, Any]:
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

    @staticmethod
    def _prompt_dict(row: sqlite3.Row) -> dict[str, Any]:
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
