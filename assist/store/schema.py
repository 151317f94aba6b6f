"""The call store's schema, defined once for both backends (SQLite and PostgreSQL).

Version 1 (calls, utterances, prompts, alerts) is the same tables in both; only the types of
real numbers and of the generated row id are the dialect's (``tables``).  Version 2, the search
index, is each backend's own (``assist.store.migrations``, ``assist.store.pg_migrations``).  Both
number their versions alike, so a database of either backend says how far it has come with one
number, and both refuse a database newer than they know.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from assist.store.errors import SchemaError

__all__ = ["Migration", "SchemaError", "apply", "check_current", "check_supported", "is_versioned", "tables"]

# Runs one statement with its values on the migrating connection.
Execute = Callable[[str, Sequence[object]], Awaitable[object]]

RECORD_VERSION = "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # Applied only where the backend has its trigram index (SQLite's FTS5 trigram tokenizer,
    # PostgreSQL's pg_trgm); otherwise the version is recorded as skipped and search scans with LIKE.
    needs_trigram: bool = False


TABLES_NAME = "calls, utterances, prompts, alerts"


def tables(real: str, row_id: str) -> tuple[str, ...]:
    """Version 1 in one dialect: ``real`` types real numbers, ``row_id`` is the generated key column."""
    return (
        f"""CREATE TABLE calls (
                call_id     TEXT PRIMARY KEY,
                agent_id    TEXT NOT NULL,
                mode        TEXT NOT NULL DEFAULT 'live',
                started_at  {real} NOT NULL,
                ended_at    {real},
                end_reason  TEXT CHECK (end_reason IN
                                ('completed', 'client_gone', 'interrupted', 'error', 'shutdown')),
                meta        TEXT NOT NULL DEFAULT '{{}}',
                resumes     INTEGER NOT NULL DEFAULT 0,
                updated_at  {real} NOT NULL
            )""",
        "CREATE INDEX calls_by_start ON calls (started_at)",
        "CREATE INDEX calls_by_agent ON calls (agent_id, started_at)",
        "CREATE INDEX calls_open ON calls (call_id) WHERE ended_at IS NULL",
        f"""CREATE TABLE utterances (
                id           {row_id},
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                utterance_id TEXT NOT NULL,
                role         TEXT NOT NULL,
                text         TEXT NOT NULL,
                search_text  TEXT NOT NULL,
                original     TEXT,
                start        {real} NOT NULL,
                "end"        {real} NOT NULL,
                words        TEXT NOT NULL DEFAULT '[]',
                redactions   INTEGER NOT NULL DEFAULT 0,
                recorded_at  {real} NOT NULL,
                UNIQUE (call_id, utterance_id)
            )""",
        "CREATE INDEX utterances_by_time ON utterances (call_id, start)",
        f"""CREATE TABLE prompts (
                id           {row_id},
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                prompt_id    TEXT NOT NULL,
                utterance_id TEXT,
                role         TEXT,
                kind         TEXT NOT NULL,
                action       TEXT NOT NULL,
                audio_time   {real} NOT NULL,
                event        TEXT NOT NULL,
                first_at     {real} NOT NULL,
                updated_at   {real} NOT NULL,
                updates      INTEGER NOT NULL DEFAULT 0,
                UNIQUE (call_id, prompt_id)
            )""",
        f"""CREATE TABLE alerts (
                alert_id        TEXT PRIMARY KEY,
                call_id         TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                agent_id        TEXT NOT NULL,
                kind            TEXT NOT NULL,
                severity        TEXT NOT NULL,
                message         TEXT NOT NULL,
                audio_time      {real} NOT NULL,
                utterance_id    TEXT,
                created_at      {real} NOT NULL,
                acknowledged_by TEXT,
                acknowledged_at {real}
            )""",
        "CREATE INDEX alerts_by_call ON alerts (call_id, created_at)",
        "CREATE INDEX alerts_open ON alerts (created_at) WHERE acknowledged_at IS NULL",
    )


def version_table(real: str) -> str:
    """The table recording each applied version."""
    return f"""CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at {real} NOT NULL
)"""


def is_versioned(table_names: Iterable[str]) -> bool:
    """Does a database with these tables record its schema version?  ``False`` for an empty one;
    ``SchemaError`` for one that has tables but is not a call store."""
    names = set(table_names)
    if "schema_version" not in names:
        if names:
            raise SchemaError("the database has tables but no schema_version: it is not an assist call store")
        return False
    return True


def check_supported(version: int | None, latest: int) -> None:
    if version is not None and version > latest:
        raise SchemaError(
            f"the database has schema version {version} but this program knows only up to {latest}: "
            "upgrade assist, or point it at another database"
        )


def check_current(version: int | None, latest: int, database: str) -> None:
    """For reading only: the database must be at ``latest`` (nothing migrates it here)."""
    check_supported(version, latest)
    if version != latest:
        raise SchemaError(
            f"{database} has schema version {version or 0}, this program "
            f"needs {latest}: start the server once (it migrates) and retry"
        )


async def apply(step: Migration, trigram: bool, skipped: str, execute: Execute, record: str = RECORD_VERSION) -> None:
    """Run ``step`` (a trigram step only where there is a trigram index; else recorded as skipped,
    ``skipped`` saying why) and record it in ``schema_version`` with ``record``."""
    name = step.name
    if step.needs_trigram and not trigram:
        name += f" (skipped: {skipped})"
    else:
        for sql in step.statements:
            await execute(sql, ())
    await execute(record, (step.version, name, time.time()))
