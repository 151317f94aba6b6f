"""The call store in PostgreSQL (asyncpg), shared by every node of a cluster.

Same schema (``assist.store.pg_migrations``), same masking and the same returned
values as the SQLite store (``assist.store.db.Store``); see ``assist.store.base.CallStore``.
Writes go through ``PgGroupWriter``: group commit, and a batch the database refused
because it was away (restart, failover, network) is retried until it commits, so a
brief outage loses nothing.  Reads use the same connection pool.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Final

import asyncpg

from assist.store import pg_migrations
from assist.store.errors import StoreError
from assist.store.pg_writer import PgGroupWriter
from assist.store.privacy import Redactor
from assist.store.schema import check_current
from assist.store.sql import Row
from assist.store.sql_store import SqlStore

log = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final[float] = 5.0


def _dsn(url: str) -> str:
    """asyncpg takes ``postgresql://`` and ``postgres://``; ``postgresql+asyncpg://`` is accepted too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _rollback_if_open(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: only an open transaction ended.

    asyncpg's default reset runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on
    every release, one more round trip per write batch and per read.  The store sets no session
    state (no session locks, cursors, LISTEN or SET; the migration lock is transaction-scoped),
    so there is nothing to reset.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PostgresStore(SqlStore[asyncpg.Connection]):
    """The call store in PostgreSQL.  ``await PostgresStore.open(url)``; ``await close()`` when done."""

    GREATEST: ClassVar[str] = "greatest"

    def __init__(self, url: str, pool: asyncpg.Pool, redactor: Redactor, queue_size: int, readonly: bool) -> None:
        self._pg_group = None if readonly else PgGroupWriter(pool, queue_size)
        super().__init__(redactor, self._pg_group)
        self.url = url
        self._pool = pool

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
                _dsn(url), min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT, command_timeout=30,
                reset=_rollback_if_open,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise StoreError(f"cannot connect to the database: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                if readonly:
                    version = await pg_migrations.current_version(conn)
                    check_current(version, pg_migrations.LATEST, "the database")
                else:
                    before = await pg_migrations.migrate(conn)
                    if before != pg_migrations.LATEST:
                        log.info("store migrated from schema %d to %d", before, pg_migrations.LATEST)
        except BaseException:
            await pool.close()
            raise
        return cls(url, pool, red, queue_size, readonly)

    @property
    def unavailable(self) -> bool:
        """Is the writer waiting for the database to come back?"""
        return self._pg_group is not None and self._pg_group.unavailable_since is not None

    async def _close_connections(self) -> None:
        await self._pool.close()

    # ------------------------------------------------------------------ statements

    async def _execute(self, conn: asyncpg.Connection, sql: str, params: Sequence[Any]) -> int:
        status: str = await conn.execute(sql, *params)  # e.g. "UPDATE 1", "INSERT 0 1"
        count = status.rpartition(" ")[2]
        return int(count) if count.isdigit() else 0

    async def _query(self, conn: asyncpg.Connection, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        rows: list[Row] = await conn.fetch(sql, *params)
        return rows

    def _is_unknown_call(self, exc: Exception) -> bool:
        return isinstance(exc, asyncpg.ForeignKeyViolationError)

    async def _fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Row]:
        try:
            rows: list[Row] = await self._pool.fetch(sql, *params)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"the database is unavailable: {exc}") from exc
        return rows
