"""Versioned schema migrations for the call store (see docs/storage.md).

Each ``Migration`` is applied once, in its own ``BEGIN IMMEDIATE`` transaction,
and recorded in ``schema_version``.  Append new migrations at the end with the
next version number; never edit one that has shipped.  A database whose version
is newer than ``LATEST`` is refused (``SchemaError``) rather than written.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import aiosqlite


class SchemaError(Exception):
    """The database cannot be used by this version of the program."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    # Applied only when the SQLite library has the FTS5 trigram tokenizer (SQLite >= 3.34);
    # otherwise the version is recorded as skipped and search falls back to LIKE.
    needs_trigram: bool = False


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "calls, utterances, prompts, alerts",
        (
            """CREATE TABLE calls (
                call_id     TEXT PRIMARY KEY,
                agent_id    TEXT NOT NULL,
                mode        TEXT NOT NULL DEFAULT 'live',
                started_at  REAL NOT NULL,
                ended_at    REAL,
                end_reason  TEXT CHECK (end_reason IN
                                ('completed', 'client_gone', 'interrupted', 'error', 'shutdown')),
                meta        TEXT NOT NULL DEFAULT '{}',
                resumes     INTEGER NOT NULL DEFAULT 0,
                updated_at  REAL NOT NULL
            )""",
            "CREATE INDEX calls_by_start ON calls (started_at)",
            "CREATE INDEX calls_by_agent ON calls (agent_id, started_at)",
            "CREATE INDEX calls_open ON calls (call_id) WHERE ended_at IS NULL",
            """CREATE TABLE utterances (
                id           INTEGER PRIMARY KEY,
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                utterance_id TEXT NOT NULL,
                role         TEXT NOT NULL,
                text         TEXT NOT NULL,
                search_text  TEXT NOT NULL,
                original     TEXT,
                start        REAL NOT NULL,
                "end"        REAL NOT NULL,
                words        TEXT NOT NULL DEFAULT '[]',
                redactions   INTEGER NOT NULL DEFAULT 0,
                recorded_at  REAL NOT NULL,
                UNIQUE (call_id, utterance_id)
            )""",
            "CREATE INDEX utterances_by_time ON utterances (call_id, start)",
            """CREATE TABLE prompts (
                id           INTEGER PRIMARY KEY,
                call_id      TEXT NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
                prompt_id    TEXT NOT NULL,
                utterance_id TEXT,
                role         TEXT,
                kind         TEXT NOT NULL,
                action       TEXT NOT NULL,
                audio_time   REAL NOT NULL,
                event        TEXT NOT NULL,
                first_at     REAL NOT NULL,
                updated_at   REAL NOT NULL,
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
                audio_time      REAL NOT NULL,
                utterance_id    TEXT,
                created_at      REAL NOT NULL,
                acknowledged_by TEXT,
                acknowledged_at REAL
            )""",
            "CREATE INDEX alerts_by_call ON alerts (call_id, created_at)",
            "CREATE INDEX alerts_open ON alerts (created_at) WHERE acknowledged_at IS NULL",
        ),
    ),
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
)

LATEST: int = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)"""


async def current_version(conn: aiosqlite.Connection) -> int | None:
    """The schema version of the database, ``None`` if it has no ``schema_version`` table.

    Raises ``SchemaError`` for a database that has tables but is not a call store.
    """
    rows = list(await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"))
    names = {str(r[0]) for r in rows}
    if "schema_version" not in names:
        if names:
            raise SchemaError("the database has tables but no schema_version: it is not an assist call store")
        return None
    row = list(await conn.execute_fetchall("SELECT max(version) FROM schema_version"))
    return int(row[0][0]) if row and row[0][0] is not None else 0


def check_supported(version: int | None) -> None:
    if version is not None and version > LATEST:
        raise SchemaError(
            f"the database has schema version {version} but this program knows only up to {LATEST}: "
            "upgrade assist, or point it at another database"
        )


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
            name = step.name
            if step.needs_trigram and not trigram:
                name += " (skipped: SQLite has no FTS5 trigram tokenizer, search uses LIKE)"
            else:
                for sql in step.statements:
                    await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (step.version, name, time.time()),
            )
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    return before or 0
