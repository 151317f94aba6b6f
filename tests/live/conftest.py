"""A real server with the full pipeline: real analysis engine, real store, transcript-source calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assist.audio.recognizer import NoModelFactory
from assist.live.pipeline import AssistPipeline
from assist.nlp.analyzer import Analyzer, CallContext
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.server import AssistServer
from tests.support.live_server import LiveServer


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer.load()


@pytest.fixture(scope="session")
def learned() -> Analyzer:
    """The analysis engine with the shipped learned model (encoder, heads, crisis nets): what the server runs."""
    return Analyzer.load(learned=True)


@pytest.fixture
async def live_server(analyzer: Analyzer, tmp_path: Path) -> AsyncIterator[LiveServer]:
    store = await Store.open(tmp_path / "calls.sqlite3")
    pipeline = AssistPipeline(analyzer=analyzer, redactor=Redactor(), store=store, context_factory=CallContext)
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0), NoModelFactory(), pipeline=pipeline)
    await server.start()
    yield LiveServer(server, store)
    await server.stop(grace=5)
    await store.close()
