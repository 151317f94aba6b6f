"""The training report of a stored call: its rows decoded into the typed events ``build_report`` reads."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from assist.protocol.decode import DecodeError, decode
from assist.protocol.events import Alert, CallStarted, Event, Prompt, Transcript
from assist.training.report import build_report

if TYPE_CHECKING:
    from assist.store.base import CallStore as Store  # either backend (assist.store.open)

log = logging.getLogger(__name__)


def stored_events(stored: Mapping[str, Any]) -> list[Event]:
    """A stored call (``Store.get_call``, JSON-ready rows) as the typed events ``build_report`` reads.

    This is the edge where stored JSON becomes typed: a stored prompt or alert that does not
    decode (written by a program with another contract) is left out and logged."""
    call = stored["call"]
    call_id = str(call["call_id"])
    events: list[Event] = [decode(CallStarted, call)]
    for u in stored["utterances"]:
        events.append(decode(Transcript, {**u, "call_id": call_id, "final": True}))
    for p in stored["prompts"]:
        # a withdrawn row keeps its last shown content, with the row's last action
        raw = {**p["event"], "action": p["action"]}
        try:
            events.append(decode(Prompt, raw))
        except DecodeError as exc:
            log.warning("call %s: stored prompt %s left out of the report: %s", call_id, p.get("prompt_id"), exc)
    for a in stored["alerts"]:
        try:
            events.append(decode(Alert, a))
        except DecodeError as exc:
            log.warning("call %s: stored alert %s left out of the report: %s", call_id, a.get("alert_id"), exc)
    return events


async def report_for_call(store: Store, call_id: str) -> dict[str, Any]:
    """The training report of a stored call, JSON-ready (``GET /api/calls/ID/report``).

    Raises ``assist.store.db.NotFound`` for an unknown call (HTTP 404)."""
    stored = await store.get_call(call_id)
    return build_report(stored_events(stored)).to_dict()
