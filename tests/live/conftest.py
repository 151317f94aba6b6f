"""A real server with the full pipeline: real analysis engine, real store, transcript-source calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assist.audio.recognizer import NoModelFactory
from assist.live.pipeline import AssistPipeline
from assist.nlp.analyzer import Analyzer, CallContext
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.server import AssistServer

SAMPLES = Path(__file__).resolve().parents[2] / "assist" / "training" / "samples"


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer.load()


@dataclass
class LiveServer:
    server: AssistServer
    store: Store

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
async def live_server(analyzer: Analyzer, tmp_path: Path) -> AsyncIterator[LiveServer]:
    store = await Store.open(tmp_path / "calls.sqlite3")
    pipeline = AssistPipeline(analyzer=analyzer, redactor=Redactor(), store=store, context_factory=CallContext)
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0), NoModelFactory(), pipeline=pipeline)
    await server.start()
    yield LiveServer(server, store)
    await server.stop(grace=5)
    await store.close()


def sample_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]
