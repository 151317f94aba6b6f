"""Versioned schema migrations of the PostgreSQL call store: the SQLite schema in PostgreSQL's dialect.

Same versions as ``assist.store.migrations`` (1: tables, 2: the search index), so a database
of either backend says how far it has come with one number; the tables are
``assist.store.schema``'s.  Each step runs in its own transaction under a transaction-level
advisory lock, so several nodes starting at once migrate the database exactly once.  A database
newer than ``LATEST`` is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import asyncpg

from assist.store import schema
from assist.store.migrations import LATEST as SQLITE_LATEST
from assist.store.schema import TABLES_NAME, Migration

_LOCK_KEY: Final[int] = 0x61737369  # "assi": advisory lock held while migrating

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, TABLES_NAME, schema.tables(real="DOUBLE PRECISION", row_id="BIGSERIAL PRIMARY KEY")),
    Migration(
        2,
        "trigram index on utterance text",
        (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX utterances_trgm ON utterances USING gin (search_text gin_trgm_ops)",
        ),
        needs_trigram=True,
    ),
    Migration(
        3,
        "a supervisor's short note with an alert's acknowledgement",
        ("ALTER TABLE alerts ADD COLUMN ack_note TEXT NOT NULL DEFAULT ''",),
    ),
    Migration(
        4,
        "a continuing crisis is one alert: how many times it was raised, and when last",
        ("ALTER TABLE alerts ADD COLUMN count INTEGER NOT NULL DEFAULT 1",
         "ALTER TABLE alerts ADD COLUMN last_time DOUBLE PRECISION",
         "ALTER TABLE alerts ADD COLUMN last_at DOUBLE PRECISION"),
    ),
    Migration(
        5,
        "a call's audio duration (a replay at --speed max lasts a fraction of a second of wall time)",
        ("ALTER TABLE calls ADD COLUMN audio_seconds DOUBLE PRECISION",),
    ),
    Migration(
        6,
        "an ended crisis call's numbers and those the operator told (the supervisor's pin after a reload)",
        ("ALTER TABLE calls ADD COLUMN crisis_numbers TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE calls ADD COLUMN told TEXT NOT NULL DEFAULT ''"),
    ),
    Migration(
        7,
        "of them, those still owed the caller (another number of a kind where one is enough: 被困 119 or 110)",
        ("ALTER TABLE calls ADD COLUMN owed TEXT",),
    ),
)

LATEST: Final[int] = MIGRATIONS[-1].version
assert LATEST == SQLITE_LATEST, "both backends carry the same schema versions"

_VERSION_TABLE = schema.version_table("DOUBLE PRECISION")


async def current_version(conn: asyncpg.Connection) -> int | None:
    """The schema version; None for an empty database.  ``SchemaError`` for a foreign one."""
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    if not schema.is_versioned(str(r["tablename"]) for r in rows):
        return None
    value = await conn.fetchval("SELECT max(version) FROM schema_version")
    return int(value) if value is not None else 0


def check_supported(version: int | None) -> None:
    schema.check_supported(version, LATEST)


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

    async def execute(sql: str, args: Sequence[object]) -> str:
        status: str = await conn.execute(sql, *args)
        return status

    for step in MIGRATIONS:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            now = await current_version(conn) or 0  # another node may have migrated meanwhile
            check_supported(now)
            if step.version <= now:
                continue
            await schema.apply(step, trigram, "no pg_trgm extension, search scans", execute)
    return before or 0
