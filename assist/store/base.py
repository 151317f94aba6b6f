"""What every call store offers: the interface the pipeline, the HTTP API, the CLI and replays use.

Two backends implement it: ``assist.store.db.Store`` (SQLite, the embedded default for one
machine and for training rooms) and ``assist.store.postgres.PostgresStore`` (PostgreSQL, shared
by the nodes of a cluster).  ``assist.store.open.open_store`` picks one from a database URL.
Both write the same schema through versioned migrations, mask personal numbers the same way
(``assist.store.privacy.Redactor``) and return the same JSON-ready values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from assist.protocol.enums import CallMode, EndReason, Role
from assist.protocol.events import Alert, Event, Prompt, Word
from assist.store.privacy import Redacted, Redactor


@runtime_checkable
class CallStore(Protocol):
    """Calls, final utterances, prompts and alerts; writes return once committed."""

    redactor: Redactor

    @property
    def readonly(self) -> bool: ...

    async def close(self) -> None: ...

    # ---------------------------------------------------------------- writes

    async def start_call(
        self,
        call_id: str,
        agent_id: str,
        started_at: float,
        mode: CallMode = CallMode.LIVE,
        meta: Mapping[str, str] | None = None,
    ) -> bool: ...

    async def add_utterance(
        self,
        call_id: str,
        role: Role,
        utterance_id: str,
        text: str,
        start: float,
        end: float,
        words: Sequence[Word] = (),
    ) -> Redacted: ...

    async def add_prompt(self, prompt: Prompt) -> None: ...

    async def add_alert(self, alert: Alert) -> None: ...

    async def ack_alert(self, alert_id: str, by: str, at: float, note: str = "") -> dict[str, Any]: ...

    async def end_call(self, call_id: str, ended_at: float, reason: EndReason) -> None: ...

    async def mark_open_calls_interrupted(self) -> list[str]: ...

    def record(self, event: Event) -> asyncio.Future[Any] | None: ...

    # ---------------------------------------------------------------- reads

    async def list_calls(
        self,
        agent: str | None = None,
        since: float | None = None,
        search: str | None = None,
        limit: int = 100,
        *,
        until: float | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]: ...

    async def get_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]: ...

    async def export_call(self, call_id: str, *, include_originals: bool = False) -> dict[str, Any]: ...

    async def utterances(self, call_id: str, *, include_originals: bool = False) -> list[dict[str, Any]]: ...

    async def list_alerts(
        self,
        *,
        call_id: str | None = None,
        unacknowledged: bool = False,
        since: float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]: ...

    async def schema_version(self) -> int: ...
