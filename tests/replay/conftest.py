"""Training replay fixtures: the real analysis engine, real servers on port 0, event normalisation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from assist.audio.recognizer import NoModelFactory, RecognizerFactory
from assist.nlp.analyzer import Analyzer
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.training.replay import local_config, local_server
from assist.training.rules import TrainingRules
from assist.web.server import AssistServer

SAMPLES = Path(__file__).resolve().parents[2] / "assist" / "training" / "samples"
LEGAL = SAMPLES / "legal-dispute.jsonl"
NOISE = SAMPLES / "noise-complaint.jsonl"

ServerMaker = Callable[..., AbstractAsyncContextManager[AssistServer]]


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer.load(learned=True)  # as `assist serve` loads it: rules + the shipped learned model


@pytest.fixture(scope="session")
def rules() -> TrainingRules:
    return TrainingRules.load()


@pytest.fixture
def make_server(analyzer: Analyzer, tmp_path: Path) -> ServerMaker:
    """``async with make_server(factory) as server``: a real server built like ``assist serve`` on port 0,
    storing into tmp_path/calls.sqlite3."""

    def make(factory: RecognizerFactory | None = None, db: Path | None = None) -> AbstractAsyncContextManager[
            AssistServer]:
        config = local_config(ServerConfig(), db or tmp_path / "calls.sqlite3")
        return local_server(config, factory or NoModelFactory(), analyzer)

    return make


@pytest.fixture
async def server(make_server: ServerMaker) -> AsyncIterator[AssistServer]:
    async with make_server() as srv:
        yield srv


def call_url(server: AssistServer) -> str:
    return server.url + "/ws/call"


def store_of(server: AssistServer) -> Store:
    assert server.pipeline is not None and server.pipeline.store is not None
    return server.pipeline.store


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
