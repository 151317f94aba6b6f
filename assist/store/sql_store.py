"""The call store's logic, written once for both SQL backends (SQLite and PostgreSQL).

``SqlStore`` holds what a store does: queue writes on its group-commit writer, build each write
from the typed event (``assist.store.rows``), run the upserts both backends share, and answer the
history queries with the same JSON-ready values (``assist.store.sql_reads``).  A backend (``assist.store.db.Store``,
``assist.store.postgres.PostgresStore``) adds only its connections: how a statement runs on a
connection, which error means an unknown call, how reads are fetched and how it closes.

The statements and the conversion of rows are ``assist.store.sql``'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Generic, Self

from assist.protocol.enums import CallMode, EndReason, Role
from assist.protocol.events import (
    Alert,
    AlertAcknowledged,
    CallEnded,
    CallStarted,
    CallState,
    Event,
    Prompt,
    Transcript,
    Word,
)
from assist.store.batch import BatchWriter, C, Op, QueueFull, WriterClosed
from assist.store.errors import NotFound, StoreBusy, StoreError
from assist.store.privacy import Redacted, Redactor
from assist.store.rows import Rows
from assist.store.sql import (
    ACK_ALERT,
    CALL_HANDOFF,
    CALL_TOLD,
    END_CALL,
    INSERT_ALERT,
    INTERRUPT_OPEN_CALLS,
    UPSERT_CALL,
    UPSERT_PROMPT,
    UPSERT_UTTERANCE,
    Row,
)
from assist.store.sql_reads import SqlReads

log = logging.getLogger(__name__)


class SqlStore(SqlReads, Generic[C]):
    """Writes and reads of the call store over connections of type ``C`` (``assist.store.base.CallStore``).

    Writes (``start_call``, ``add_utterance``, ``add_prompt``, ``add_alert``,
    ``ack_alert``, ``end_call``, ``mark_open_calls_interrupted``) return once
    committed.  ``record(event)`` is the non-blocking form for event sinks.
    Reads return JSON-ready dicts.
    """

    GREATEST: ClassVar[str]  # the SQL function of the larger of two values

    def __init__(self, redactor: Redactor, group: BatchWriter[C] | None) -> None:
        self.redactor = redactor
        self.rows = Rows(redactor)
        self._closed = False
        self._group = group

    # ------------------------------------------------------------------ what a backend adds

    @abstractmethod
    async def _execute(self, conn: C, sql: str, params: Sequence[Any]) -> int:
        """Run a write statement on the writer's connection; the number of rows it changed."""

    @abstractmethod
    async def _query(self, conn: C, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        """Run a statement that returns rows on the writer's connection."""

    @abstractmethod
    def _is_unknown_call(self, exc: Exception) -> bool:
        """Did a write fail because its call is not stored (a foreign key)?"""

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        """Run a read-only query."""

    @abstractmethod
    async def _close_connections(self) -> None: ...

    # ------------------------------------------------------------------ lifecycle

    @property
    def readonly(self) -> bool:
        return self._group is None

    async def close(self) -> None:
        """Commit everything queued, then close the connections.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._group is not None:
            await self._group.close()
        await self._close_connections()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ the writer

    def _writer(self) -> BatchWriter[C]:
        if self._closed:
            raise StoreError("the store is closed")
        if self._group is None:
            raise StoreError("the store is open read-only")
        return self._group

    async def _write(self, op: Op[C]) -> Any:
        """Queue ``op`` and return its result once committed."""
        try:
            return await self._writer().submit(op)
        except WriterClosed as exc:
            raise StoreError(str(exc)) from None

    def _write_nowait(self, op: Op[C]) -> asyncio.Future[Any]:
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
    ) -> Op[C]:
        params = self.rows.call(call_id, agent_id, started_at, mode, meta)

        async def op(conn: C) -> bool:
            rows = await self._query(conn, UPSERT_CALL, params)
            return bool(rows) and int(rows[0][0]) > 0

        return op

    def _insert_op(self, sql: str, params: Sequence[Any], call_id: str) -> Op[C]:
        """An insert into a table of the call's children: ``NotFound`` when the call is not stored."""

        async def op(conn: C) -> None:
            try:
                await self._execute(conn, sql, params)
            except Exception as exc:
                if self._is_unknown_call(exc):
                    raise NotFound(f"no call {call_id!r}: start_call first") from exc
                raise

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
        params, redacted = self.rows.utterance(call_id, role, utterance_id, text, start, end, words)
        await self._write(self._insert_op(UPSERT_UTTERANCE, params, call_id))
        return redacted

    async def add_prompt(self, prompt: Prompt) -> None:
        """Store a prompt event: one row per ``prompt_id``, updated by later ``update``/``withdraw``
        events (a withdraw keeps the last shown content)."""
        await self._write(self._insert_op(UPSERT_PROMPT, self.rows.prompt(prompt), prompt.call_id))

    async def add_alert(self, alert: Alert) -> None:
        """Store an alert; an alert id already stored is left as it is."""
        await self._write(self._insert_op(INSERT_ALERT, self.rows.alert(alert), alert.call_id))

    async def ack_alert(self, alert_id: str, by: str, at: float, note: str = "") -> dict[str, Any]:
        """Acknowledge an alert, with the supervisor's short note; the first acknowledgement wins.
        Returns the alert as stored (``acknowledged_by``/``acknowledged_at``/``ack_note`` of the
        first ack).  Raises ``NotFound``."""
        result: dict[str, Any] = await self._write(self._ack_op(alert_id, by, at, note))
        return result

    def _ack_op(self, alert_id: str, by: str, at: float, note: str = "") -> Op[C]:
        by_masked = self.redactor.mask_text(by)
        note_masked = self.redactor.mask_text(note)

        async def op(conn: C) -> dict[str, Any]:
            await self._execute(conn, ACK_ALERT, (by_masked, float(at), note_masked, alert_id))
            rows = await self._query(conn, "SELECT * FROM alerts WHERE alert_id = $1", (alert_id,))
            if not rows:
                raise NotFound(f"no alert {alert_id!r}")
            return dict(rows[0])

        return op

    async def end_call(self, call_id: str, ended_at: float, reason: EndReason, audio_seconds: float | None = None
                       ) -> None:
        """Record how a call ended (``audio_seconds``: its audio duration, when known).  Raises ``NotFound``."""
        await self._write(self._end_op(call_id, ended_at, reason, audio_seconds))

    def _end_op(self, call_id: str, ended_at: float, reason: EndReason, audio_seconds: float | None = None) -> Op[C]:
        reason = EndReason(self.rows.end_reason(reason))
        now = time.time()
        audio = None if audio_seconds is None else max(0.0, float(audio_seconds))

        async def op(conn: C) -> None:
            if await self._execute(conn, END_CALL, (float(ended_at), reason, now, call_id, audio)) == 0:
                raise NotFound(f"no call {call_id!r}")

        return op

    def _handoff_op(self, call_id: str, numbers: Sequence[str], told: Sequence[str],
                    owed: Sequence[str] | None) -> Op[C]:
        """Keep a crisis call's numbers, those told and those still owed; a number told before a resume stays told."""

        async def op(conn: C) -> None:
            rows = await self._query(conn, CALL_TOLD, (call_id,))
            if not rows:
                raise NotFound(f"no call {call_id!r}")
            before = set(str(rows[0][0]).split())
            said = [n for n in numbers if n in told or n in before]
            still = None if owed is None else " ".join(n for n in owed if n not in said)
            await self._execute(conn, CALL_HANDOFF, (" ".join(numbers), " ".join(said), still, time.time(), call_id))

        return op

    async def mark_open_calls_interrupted(self) -> list[str]:
        """At startup: close every call still open (the previous process died) as
        ``interrupted``, ended at its last stored utterance.  Returns their ids."""
        now = time.time()
        sql = INTERRUPT_OPEN_CALLS.format(greatest=self.GREATEST)

        async def op(conn: C) -> list[str]:
            return sorted(str(r[0]) for r in await self._query(conn, sql, (now,)))

        result: list[str] = await self._write(op)
        return result

    def record(self, event: Event) -> asyncio.Future[Any] | None:
        """Event-sink form (never blocks): queue the write for a stored event type.

        Handles ``CallStarted``, final ``Transcript``, ``Prompt``, ``Alert``,
        ``AlertAcknowledged``, ``CallEnded`` (ended now, with its summary's reason and audio duration) and a crisis
        call's last ``CallState`` (inactive: its crisis numbers and those told, for the supervisor's pin);
        other events and partial transcripts are ignored (``None``).  Returns the
        future of the write (resolved once committed; its exception, e.g. ``NotFound``,
        is logged if nobody awaits it).  Raises ``StoreBusy`` if the queue is full.
        """
        op: Op[C] | None = None
        if isinstance(event, Transcript):
            if event.final:
                params, _ = self.rows.utterance(
                    event.call_id, event.role, event.utterance_id, event.text, event.start, event.end, event.words
                )
                op = self._insert_op(UPSERT_UTTERANCE, params, event.call_id)
        elif isinstance(event, Prompt):
            op = self._insert_op(UPSERT_PROMPT, self.rows.prompt(event), event.call_id)
        elif isinstance(event, Alert):
            op = self._insert_op(INSERT_ALERT, self.rows.alert(event), event.call_id)
        elif isinstance(event, AlertAcknowledged):
            op = self._ack_op(event.alert_id, event.by, event.at, event.note)
        elif isinstance(event, CallStarted):
            op = self._start_op(event.call_id, event.agent_id, event.started_at, event.mode, None)
        elif isinstance(event, CallEnded):
            op = self._end_op(event.call_id, time.time(), event.summary.reason, event.summary.duration)
        elif isinstance(event, CallState) and not event.active and event.crisis_numbers:
            op = self._handoff_op(event.call_id, event.crisis_numbers, event.told, event.owed)
        if op is None:
            return None
        fut = self._write_nowait(op)
        fut.add_done_callback(_log_failure)
        return fut

    # ------------------------------------------------------------------ read API

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        if self._closed:
            raise StoreError("the store is closed")
        return await self._fetch(sql, params)


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is not None:
        log.error("store: a recorded event was not written: %s", exc)
