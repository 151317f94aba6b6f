"""Helpers of the training replay tests: the server maker's type, a call file replayed to a server, the
stored call of a replay, and events and reports normalised for comparing two runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from assist.store.db import Store
from assist.training.replay import parse_transcript, replay_transcript, transcript_roles
from assist.web.server import AssistServer

ServerMaker = Callable[..., AbstractAsyncContextManager[AssistServer]]


def call_url(server: AssistServer) -> str:
    return server.url + "/ws/call"


def store_of(server: AssistServer) -> Store:
    assert server.pipeline is not None and server.pipeline.store is not None
    return server.pipeline.store


async def replay_file(server: AssistServer, path: Path, call_id: str, *, speed: float = 0.0,
                      roles: tuple[str, ...] | None = None, agent_id: str = "T01") -> list[dict[str, Any]]:
    """A call file's lines (``roles``: those kept; None: all) replayed to ``server`` as a training call; its events."""
    lines = parse_transcript(path.read_text(encoding="utf-8"), path.name)  # noqa: ASYNC240 (a small sample)
    call_roles, kept = transcript_roles(lines, roles)
    result = await replay_transcript(call_url(server), kept, call_roles, call_id=call_id, agent_id=agent_id,
                                     speed=speed, on_event=lambda e: None)
    assert result.ended and result.error is None and result.events[-1]["type"] == "ended"
    return result.events


async def stored_call(store: Store, call_id: str, wait: float = 5.0) -> dict[str, Any]:
    """The stored call once its end is written (the store writes behind the events)."""
    async with asyncio.timeout(wait):
        while True:
            try:
                call = await store.get_call(call_id)
            except LookupError:
                call = None
            if call is not None and call["call"]["end_reason"] is not None:
                return call
            await asyncio.sleep(0.05)


def canonical(events: list[dict[str, Any]], call_id: str, kinds: tuple[str, ...] = ("prompt", "alert")) -> list[
        dict[str, Any]]:
    """The events of ``kinds`` with wall-clock fields removed and the call id replaced, for comparing runs."""
    out = []
    for e in events:
        if e.get("type") not in kinds:
            continue
        clean = {k: v for k, v in e.items() if k not in ("created_at", "started_at", "acknowledged_at")}
        out.append(json.loads(json.dumps(clean, ensure_ascii=False).replace(call_id, "CALL")))
    return out


def finals(events: list[dict[str, Any]]) -> list[tuple[str, str, float, float]]:
    return [(e["role"], e["text"], e["start"], e["end"]) for e in events
            if e.get("type") == "transcript" and e.get("final") and e.get("text")]


def without_call_id(report: dict[str, Any]) -> dict[str, Any]:
    """A report minus its call id: the one field that differs between two replays (a fresh id each)."""
    return {k: v for k, v in report.items() if k != "call_id"}
