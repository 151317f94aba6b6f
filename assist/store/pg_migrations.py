"""Versioned schema migrations of the PostgreSQL call store: the SQLite schema in PostgreSQL's dialect.

Same versions as ``assist.store.migrations`` (1: tables, 2: the search index), so a database
of either backend says how far it has come with one number.  Each step runs in its own
transaction under a transaction-level advisory lock, so several nodes starting at once
migrate the database exactly once.  A database newer than ``LATEST`` is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

import asyncpg

from assist.store.migrations import LATEST as SQLITE_LATEST
from assist.store.migrations import SchemaError

_LOCK_KEY: Final[int] = 0x61737369  # "assi": advisory lock held while migrating


@dataclass(frozen=True, slots=True)
class PgMigration:
    version: int
    name: str
    statements: tuple[str, ...]
    needs_trigram: bool = False  # applied only where the pg_trgm extension can be created


MIGRATIONS: tuple[PgMigration, ...] = (
    PgMigration(
        1,
        "calls, utterances, prompts, alerts",
        (
            """CREATE TABLE calls (
                call_id     TEXT PRIMARY KEY,
                agent_id    TEXT NOT NULL,
                mode        TEXT NOT NULL DEFAULT 'live',
                started_at  DOUBLE PRECISION NOT NULL,
                ended_at    DOUBLE PRECISION,
                end_reason  TEXT CHECK (end_reason IN
                                ('completed', 'client_gone', 'interrupted', 'error', 'shutdown')),
                meta        TEXT NOT NULL DEFAULT '{}',
                resumes     INTEGER NOT NULL DEFAULT 0,
                updated_at  DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX calls_by_start ON calls (started_at)",
            "CREATE INDEX calls_by_agent ON calls (agent_id, started_at)",
            "CREATE INDEX calls_open ON calls (call_id) WHERE ended_at IS NULL",
            """CREATE TABLE utterances (
                id           BIGSERIAL PRIMARY KEY,
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                utterance_id TEXT NOT NULL,
                role         TEXT NOT NULL,
                text         TEXT NOT NULL,
                search_text  TEXT NOT NULL,
                original     TEXT,
                start        DOUBLE PRECISION NOT NULL,
                "end"        DOUBLE PRECISION NOT NULL,
                words        TEXT NOT NULL DEFAULT '[]',
                redactions   INTEGER NOT NULL DEFAULT 0,
                recorded_at  DOUBLE PRECISION NOT NULL,
                UNIQUE (call_id, utterance_id)
            )""",
            "CREATE INDEX utterances_by_time ON utterances (call_id, start)",
            """CREATE TABLE prompts (
                id           BIGSERIAL PRIMARY KEY,
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                prompt_id    TEXT NOT NULL,
                utterance_id TEXT,
                role         TEXT,
                kind         TEXT NOT NULL,
                action       TEXT NOT NULL,
                audio_time   DOUBLE PRECISION NOT NULL,
                event        TEXT NOT NULL,
                first_at     DOUBLE PRECISION NOT NULL,
                updated_at   DOUBLE PRECISION NOT NULL,
                updates      INTEGER NOT NULL DEFAULT 0,
                UNIQUE (call_id, prompt_id)
            )""",
            """CREATE TABLE alerts (
                alert_id        TEXT PRIMARY KEY,
                call_id         TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                agent_id        TEXT NOT NULL,
                kind            TEXT NOT NULL,
                severity        TEXT NOT NULL,
                message         TEXT NOT NULL,
                audio_time      DOUBLE PRECISION NOT NULL,
                utterance_id    TEXT,
                created_at      DOUBLE PRECISION NOT NULL,
                acknowledged_by TEXT,
                acknowledged_at DOUBLE PRECISION
            )""",
            "CREATE INDEX alerts_by_call ON alerts (call_id, created_at)",
            "CREATE INDEX alerts_open ON alerts (created_at) WHERE acknowledged_at IS NULL",
        ),
    ),
    PgMigration(
        2,
        "trigram index on utterance text",
        (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX utterances_trgm ON utterances USING gin (search_text gin_trgm_ops)",
        ),
        needs_trigram=True,
    ),
    PgMigration(
        3,
        "a supervisor's short note with an alert's acknowledgement",
        ("ALTER TABLE alerts ADD COLUMN ack_note TEXT NOT NULL DEFAULT ''",),
    ),
)

LATEST: Final[int] = MIGRATIONS[-1].version
assert LATEST == SQLITE_LATEST, "both backends carry the same schema versions"

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)"""


async def current_version(conn: asyncpg.Connection) -> int | None:
    """The schema version; None for an empty database.  ``SchemaError`` for a foreign one."""
    names = {
        str(r["tablename"])
        for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    }
    if "schema_version" not in names:
        if names:
            raise SchemaError("the database has tables but no schema_version: it is not an assist call store")
        return None
    value = await conn.fetchval("SELECT max(version) FROM schema_version")
    return int(value) if value is not None else 0


def check_supported(version: int | None) -> None:
    if version is not None and version > LATEST:
        raise SchemaError(
            f"the database has schema version {version} but this program knows only up to {LATEST}: "
            "upgrade assist, or point it at another database"
        )


async def _trigram_available(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"))


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the database to ``LATEST``; returns the version it was at before (0 for a new one)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        before = await current_version(conn)
        check_supported(before)
        await conn.execute(_VERSION_TABLE)
    if before == LATEST:
        return before
    trigram = await _trigram_available(conn)
    for step in MIGRATIONS:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            now = await current_version(conn) or 0  # another node may have migrated meanwhile
            check_supported(now)
            if step.version <= now:
                continue
            name = step.name
            if step.needs_trigram and not trigram:
                name += " (skipped: no pg_trgm extension, search scans)"
            else:
                for sql in step.statements:
                    await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                step.version,
                name,
                time.time(),
            )
    return before or 0
