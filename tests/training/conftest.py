"""Training replay fixtures: the real analysis engine, the training rules, real servers on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from assist.app import local_server
from assist.audio.recognizer import NoModelFactory, RecognizerFactory
from assist.nlp.analyzer import Analyzer
from assist.settings import ServerConfig
from assist.training.replay import local_config
from assist.training.rules import TrainingRules
from assist.web.server import AssistServer
from tests.support.training import ServerMaker


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
