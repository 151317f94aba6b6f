"""Versioned schema migrations for the call store (see docs/storage.md).

Each ``Migration`` is applied once, in its own ``BEGIN IMMEDIATE`` transaction,
and recorded in ``schema_version``.  Append new migrations at the end with the
next version number; never edit one that has shipped.  A database whose version
is newer than ``LATEST`` is refused (``SchemaError``) rather than written.
The tables are ``assist.store.schema``'s, shared with the PostgreSQL store.
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from assist.store import schema
from assist.store.schema import TABLES_NAME, Migration, SchemaError
from assist.store.sql import to_sqlite

__all__ = ["LATEST", "MIGRATIONS", "Migration", "SchemaError", "check_supported", "current_version", "migrate"]

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, TABLES_NAME, schema.tables(real="REAL", row_id="INTEGER PRIMARY KEY")),
    Migration(
        2,
        "trigram full-text index on utterance text",
        (
            """CREATE VIRTUAL TABLE utterances_fts USING fts5(
                search_text, content='utterances', content_rowid='id', tokenize='trigram')""",
            """CREATE TRIGGER utterances_fts_ins AFTER INSERT ON utterances BEGIN
                INSERT INTO utterances_fts (rowid, search_text) VALUES (new.id, new.search_text);
            END""",
            """CREATE TRIGGER utterances_fts_del AFTER DELETE ON utterances BEGIN
                INSERT INTO utterances_fts (utterances_fts, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
            END""",
            """CREATE TRIGGER utterances_fts_upd AFTER UPDATE OF search_text ON utterances BEGIN
                INSERT INTO utterances_fts (utterances_fts, rowid, search_text)
                VALUES ('delete', old.id, old.search_text);
                INSERT INTO utterances_fts (rowid, search_text) VALUES (new.id, new.search_text);
            END""",
            "INSERT INTO utterances_fts (utterances_fts) VALUES ('rebuild')",
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
         "ALTER TABLE alerts ADD COLUMN last_time REAL",
         "ALTER TABLE alerts ADD COLUMN last_at REAL"),
    ),
    Migration(
        5,
        "a call's audio duration (a replay at --speed max lasts a fraction of a second of wall time)",
        ("ALTER TABLE calls ADD COLUMN audio_seconds REAL",),
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

LATEST: int = MIGRATIONS[-1].version

_VERSION_TABLE = schema.version_table("REAL")
_RECORD_VERSION = to_sqlite(schema.RECORD_VERSION)


async def current_version(conn: aiosqlite.Connection) -> int | None:
    """The schema version of the database, ``None`` if it has no ``schema_version`` table.

    Raises ``SchemaError`` for a database that has tables but is not a call store.
    """
    rows = list(await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"))
    if not schema.is_versioned(str(r[0]) for r in rows):
        return None
    row = list(await conn.execute_fetchall("SELECT max(version) FROM schema_version"))
    return int(row[0][0]) if row and row[0][0] is not None else 0


def check_supported(version: int | None) -> None:
    schema.check_supported(version, LATEST)


async def has_trigram(conn: aiosqlite.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer."""
    try:
        await conn.execute("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
    except sqlite3.OperationalError:
        return False
    await conn.execute("DROP TABLE temp.trigram_probe")
    return True


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the database to ``LATEST``; returns the version it was at before (0 for a new file).

    ``conn`` must be in autocommit mode (``isolation_level=None``).
    """
    before = await current_version(conn)
    check_supported(before)
    if before == LATEST:
        return before
    trigram = await has_trigram(conn)
    await conn.execute(_VERSION_TABLE)
    for step in MIGRATIONS:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            now = await current_version(conn) or 0  # re-read: another process may have migrated
            check_supported(now)
            if step.version <= now:
                await conn.execute("ROLLBACK")
                continue
            await schema.apply(
                step, trigram, "SQLite has no FTS5 trigram tokenizer, search uses LIKE", conn.execute, _RECORD_VERSION
            )
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    return before or 0
