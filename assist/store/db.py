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

import logging
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import aiosqlite

from assist import paths
from assist.protocol.enums import EndReason
from assist.store import migrations
from assist.store.errors import NotFound, StoreBusy, StoreError
from assist.store.privacy import Redactor
from assist.store.rows import search_key
from assist.store.schema import SchemaError, check_current
from assist.store.sql import WILDCARDS, Params, Row, to_sqlite
from assist.store.sql_store import SqlStore
from assist.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

END_REASONS: Final[tuple[EndReason, ...]] = tuple(EndReason)
SYNCHRONOUS: Final[tuple[str, ...]] = ("NORMAL", "FULL")
ENV_DB: Final[str] = paths.DB_ENV

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


class Store(SqlStore[aiosqlite.Connection]):
    """The call store in SQLite.  Create with ``await Store.open(path)``; ``await close()`` when done.

    Writes go through one writer connection and its group-commit task; reads use a second,
    read-only connection.  What it stores and returns is ``SqlStore``'s.
    """

    GREATEST: ClassVar[str] = "max"

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        redactor: Redactor,
        fts: bool,
        queue_size: int,
    ) -> None:
        super().__init__(redactor, GroupCommitWriter(writer, queue_size) if writer is not None else None)
        self.path = path
        self.fts = fts
        self._writer_conn = writer
        self._reader = reader

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
                check_current(version, migrations.LATEST, f"the database at {path}")
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

    async def _close_connections(self) -> None:
        if self._writer_conn is not None:
            await self._writer_conn.close()
        await self._reader.close()

    # ------------------------------------------------------------------ statements

    async def _execute(self, conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
        cur = await conn.execute(to_sqlite(sql), params)
        changed = cur.rowcount
        await cur.close()
        return changed

    async def _query(self, conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        return list(await conn.execute_fetchall(to_sqlite(sql), params))

    def _is_unknown_call(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "FOREIGN KEY" in str(exc)

    async def _fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        return list(await self._reader.execute_fetchall(to_sqlite(sql), params))

    def _term_clause(self, term: str, q: Params) -> str:
        if self.fts and len(term) >= 3 and not any(ch in term for ch in WILDCARDS):
            # The trigram index answers LIKE for 3+ characters; shorter terms scan, which LIKE does anyway.
            return f"u.id IN (SELECT rowid FROM utterances_fts WHERE search_text LIKE {q.arg(f'%{term}%')})"
        return super()._term_clause(term, q)

    # ------------------------------------------------------------------ SQLite only

    async def durability(self) -> dict[str, str]:
        """The writer's ``journal_mode`` and ``synchronous`` (e.g. for the startup log)."""
        if self._writer_conn is None:
            raise StoreError("the store is open read-only")
        (mode,) = await self._writer_conn.execute_fetchall("PRAGMA journal_mode")
        (sync,) = await self._writer_conn.execute_fetchall("PRAGMA synchronous")
        levels = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return {"journal_mode": str(mode[0]), "synchronous": levels[int(sync[0])]}

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        rows = await self._read("PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)
