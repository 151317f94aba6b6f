"""Open the call store named by a database URL: ``sqlite:///path`` (default) or ``postgresql://…``.

``sqlite:///var/assist.sqlite3`` is a relative path, ``sqlite:////srv/assist.sqlite3`` an
absolute one; a bare path is taken as SQLite too.  ``postgresql://user@host:5432/db`` (also
``postgres://``) opens the shared PostgreSQL store, which needs the ``cluster`` extra (asyncpg).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from assist.store.base import CallStore
from assist.store.db import StoreError


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


def backend_of(url: str) -> Backend:
    """Which backend a database URL names; ``ValueError`` for another scheme."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("", "sqlite", "file"):
        return Backend.SQLITE
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return Backend.POSTGRESQL
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or postgresql://…")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///…`` URL (or of a bare path)."""
    if "://" not in url:
        return Path(url).expanduser()
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"a sqlite URL names a local file (sqlite:///PATH), not host {parts.netloc!r}")
    path = unquote(parts.path)
    return Path(path[1:] if path.startswith("/") else path).expanduser() if path else Path()


def redacted_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def open_store(
    url: str, *, keep_originals: bool = False, synchronous: str = "NORMAL", readonly: bool = False
) -> CallStore:
    """The store behind ``url``, opened (and, unless ``readonly``, migrated)."""
    backend = backend_of(url)
    if backend is Backend.SQLITE:
        from assist.store.db import Store

        return await Store.open(
            sqlite_path(url), keep_originals=keep_originals, synchronous=synchronous, readonly=readonly
        )
    try:
        from assist.store.postgres import PostgresStore
    except ImportError as exc:  # asyncpg missing
        raise StoreError("a postgresql:// database needs asyncpg: pip install 'hotline-assist[cluster]'") from exc
    return await PostgresStore.open(url, keep_originals=keep_originals, readonly=readonly)
