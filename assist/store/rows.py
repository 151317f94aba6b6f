"""What a store writes, built once from typed events for both backends (SQLite and PostgreSQL).

Each function checks its typed input, masks personal numbers with the store's ``Redactor`` and
returns the row's column values in the order of the INSERT that both backends share; the backends
own only their SQL dialect and their connection.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from assist.protocol.enums import CallMode, EndReason, Role
from assist.protocol.events import Alert, Prompt, Word
from assist.store.privacy import Redacted, Redactor

_E = TypeVar("_E", bound=StrEnum)
_SPACE = re.compile(r"\s+")
# identifiers are kept as they are in stored events: only content is masked
ID_FIELDS = frozenset({"type", "call_id", "agent_id", "prompt_id", "alert_id", "utterance_id", "role", "kind"})

CallRow = tuple[str, str, str, float, str, float]
UtteranceRow = tuple[str, str, str, str, str, str | None, float, float, str, int, float]
PromptRow = tuple[str, str, str | None, str | None, str, str, float, str, float, float]
AlertRow = tuple[str, str, str, str, str, str, float, str | None, float, str | None, float | None, int, float | None,
                 float | None]


def search_key(text: str) -> str:
    """What search compares: whitespace removed (Vosk writes 停 水 for 停水), case folded."""
    return _SPACE.sub("", text).casefold()


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def member(enum: type[_E], value: str, what: str) -> _E:
    """``value`` as a member of ``enum``; ValueError naming ``what`` and the allowed values."""
    if value not in tuple(enum):
        raise ValueError(f"{what} must be one of {', '.join(enum)}, not {value!r}")
    return enum(value)


@dataclass(frozen=True, slots=True)
class Rows:
    """Row builders bound to one redactor."""

    redactor: Redactor

    def call(
        self, call_id: str, agent_id: str, started_at: float, mode: CallMode, meta: Mapping[str, str] | None
    ) -> CallRow:
        mode = member(CallMode, mode, "mode")
        return (call_id, agent_id, str(mode), float(started_at), to_json(self.redactor.redact_obj(dict(meta or {}))),
                time.time())

    def utterance(
        self, call_id: str, role: Role, utterance_id: str, text: str, start: float, end: float, words: Sequence[Word]
    ) -> tuple[UtteranceRow, Redacted]:
        role = member(Role, role, "role")
        redacted = self.redactor.redact(text)
        masked_words = self.redactor.redact_words([w.word for w in words])
        word_dicts = [
            {"word": masked, "start": float(w.start), "end": float(w.end), "conf": float(w.conf)}
            for w, masked in zip(words, masked_words, strict=True)
        ]
        row = (call_id, utterance_id, str(role), redacted.text, search_key(redacted.text), redacted.original,
               float(start), float(end), to_json(word_dicts), len(redacted.findings), time.time())
        return row, redacted

    def prompt(self, prompt: Prompt) -> PromptRow:
        if not isinstance(prompt, Prompt):
            raise ValueError(f"not a prompt event: {type(prompt).__name__}")
        event = {k: (v if k in ID_FIELDS else self.redactor.redact_obj(v)) for k, v in prompt.to_dict().items()}
        now = time.time()
        return (prompt.call_id, prompt.prompt_id, prompt.utterance_id, str(prompt.role), str(prompt.kind),
                str(prompt.action), float(prompt.audio_time), to_json(event), now, now)

    def alert(self, alert: Alert) -> AlertRow:
        if not isinstance(alert, Alert):
            raise ValueError(f"not an alert event: {type(alert).__name__}")
        mask = self.redactor.mask_text
        acked_by = None if alert.acknowledged_by is None else mask(alert.acknowledged_by)
        return (alert.alert_id, alert.call_id, alert.agent_id, str(alert.kind), str(alert.severity),
                mask(alert.message), float(alert.audio_time), alert.utterance_id, float(alert.created_at), acked_by,
                alert.acknowledged_at, int(alert.count), alert.last_time, alert.last_at)

    @staticmethod
    def end_reason(reason: EndReason) -> str:
        return str(member(EndReason, reason, "reason"))
