"""What every call store offers: the interface the pipeline, the HTTP API, the CLI and replays use.

Two backends implement it: ``assist.store.db.Store`` (SQLite, the embedded default for one
machine and for training rooms) and ``assist.store.postgres.PostgresStore`` (PostgreSQL, shared
by the nodes of a cluster).  ``assist.store.open.open_store`` picks one from a database URL.
Both are ``assist.store.sql_store.SqlStore``: one implementation of the writes and reads over the
same schema (``assist.store.schema``), masking personal numbers the same way
(``assist.store.privacy.Redactor``) and returning the same JSON-ready values; a backend adds only
its connections.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from assist.store.sql_store import SqlStore

# Calls, final utterances, prompts and alerts; writes return once committed.
CallStore: TypeAlias = SqlStore[Any]

__all__ = ["CallStore"]
