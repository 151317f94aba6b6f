"""The statements both store backends run and how their rows become JSON-ready values.

Written with PostgreSQL's numbered placeholders (``$1``, ``$2`` …); SQLite reads the same numbers
as ``?1``, ``?2`` … (``to_sqlite``).  Dynamic queries number their
values with ``Params``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final, Protocol

_NUMBERED = re.compile(r"\$(\d+)")

MAX_LIMIT: Final[int] = 1000
WILDCARDS: Final[str] = "%_\\"  # characters LIKE reads specially, escaped with a backslash

UPSERT_CALL: Final[str] = """INSERT INTO calls (call_id, agent_id, mode, started_at, meta, updated_at)
   VALUES ($1, $2, $3, $4, $5, $6)
   ON CONFLICT (call_id) DO UPDATE SET
       ended_at = NULL, end_reason = NULL, audio_seconds = NULL, resumes = calls.resumes + 1,
       updated_at = excluded.updated_at
   RETURNING resumes"""
UPSERT_UTTERANCE: Final[str] = """INSERT INTO utterances (call_id, utterance_id, role, text, search_text, original,
                           start, "end", words, redactions, recorded_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
   ON CONFLICT (call_id, utterance_id) DO UPDATE SET
       role = excluded.role, text = excluded.text, search_text = excluded.search_text,
       original = excluded.original, start = excluded.start, "end" = excluded."end",
       words = excluded.words, redactions = excluded.redactions,
       recorded_at = excluded.recorded_at"""
# One row per prompt id; a withdraw keeps the last shown content.
UPSERT_PROMPT: Final[str] = """INSERT INTO prompts (call_id, prompt_id, utterance_id, role, kind, action, audio_time,
                        event, first_at, updated_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
   ON CONFLICT (call_id, prompt_id) DO UPDATE SET
       action = excluded.action, updated_at = excluded.updated_at,
       updates = prompts.updates + 1,
       event = CASE WHEN excluded.action = 'withdraw' THEN prompts.event ELSE excluded.event END,
       audio_time = CASE WHEN excluded.action = 'withdraw' THEN prompts.audio_time
                         ELSE excluded.audio_time END"""
# a continuing crisis re-raised is the same alert with a higher count: its count, last times and newest
# message are updated; its acknowledgement is the ACK_ALERT's alone (never undone by a re-raise)
INSERT_ALERT: Final[str] = """INSERT INTO alerts (alert_id, call_id, agent_id, kind, severity, message, audio_time,
                       utterance_id, created_at, acknowledged_by, acknowledged_at, count, last_time, last_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
   ON CONFLICT (alert_id) DO UPDATE SET count = excluded.count, last_time = excluded.last_time,
       last_at = excluded.last_at, message = excluded.message
   WHERE excluded.count > alerts.count"""
ACK_ALERT: Final[str] = """UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2, ack_note = $3
   WHERE alert_id = $4 AND acknowledged_at IS NULL"""
# audio_seconds: the call's audio duration (its summary's), NULL when unknown (a call closed as interrupted)
END_CALL: Final[str] = """UPDATE calls SET ended_at = $1, end_reason = $2, updated_at = $3, audio_seconds = $5
   WHERE call_id = $4"""
# {greatest}: the dialect's function of the larger of two values
# an ended crisis call's numbers and those told (space-separated), from its last call state
CALL_HANDOFF: Final[str] = ("UPDATE calls SET crisis_numbers = $1, told = $2, owed = $3, updated_at = $4 "
                             "WHERE call_id = $5")
CALL_TOLD: Final[str] = "SELECT told FROM calls WHERE call_id = $1"
INTERRUPT_OPEN_CALLS: Final[str] = """UPDATE calls SET end_reason = 'interrupted', updated_at = $1,
       ended_at = {greatest}(started_at, coalesce(
           (SELECT max(recorded_at) FROM utterances u WHERE u.call_id = calls.call_id),
           started_at))
   WHERE ended_at IS NULL
   RETURNING call_id"""


def to_sqlite(sql: str) -> str:
    """A statement's ``$1``, ``$2`` … as SQLite's numbered ``?1``, ``?2`` …"""
    return _NUMBERED.sub(r"?\1", sql)


class Row(Protocol):
    """A fetched row (``sqlite3.Row``, ``asyncpg.Record``): columns by name or position."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Params:
    """The values of one statement, each added where it is used; ``arg`` gives its placeholder."""

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def arg(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def like_pattern(term: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching texts that contain ``term``."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}")


def call_dict(row: Row) -> dict[str, Any]:
    """A call row as the API gives it.  ``duration``: the call's audio duration when it was recorded at its end
    (a training replay at --speed max takes well under a second of wall time for a minute of call), else
    the wall time from start to end; None while the call is open."""
    ended = row["ended_at"]
    audio = row["audio_seconds"]
    wall = None if ended is None else ended - row["started_at"]
    return {
        "call_id": row["call_id"],
        "agent_id": row["agent_id"],
        "mode": row["mode"],
        "started_at": row["started_at"],
        "ended_at": ended,
        "end_reason": row["end_reason"],
        "duration": None if wall is None else round(max(0.0, wall if audio is None else audio), 3),
        "resumes": row["resumes"],
        "meta": json.loads(row["meta"]),
        # a crisis call's numbers and those the operator told, from its last call state (empty: no crisis)
        "crisis_numbers": row["crisis_numbers"].split(),
        "told": row["told"].split(),
        # of them, those still owed the caller (null: stored before the server said, numbers not told are owed)
        "owed": None if row["owed"] is None else row["owed"].split(),
    }


def prompt_dict(row: Row) -> dict[str, Any]:
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


def utterance_dict(row: Row, include_originals: bool) -> dict[str, Any]:
    item = {
        "utterance_id": row["utterance_id"],
        "role": row["role"],
        "text": row["text"],
        "start": row["start"],
        "end": row["end"],
        "words": json.loads(row["words"]),
        "redactions": row["redactions"],
        "recorded_at": row["recorded_at"],
    }
    if include_originals and row["original"] is not None:
        item["original"] = row["original"]
    return item
