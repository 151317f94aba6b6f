"""Real servers on 127.0.0.1 port 0 with the scripted recognizer (fast, no model)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from assist.audio.recognizer import Script, ScriptedFactory
from assist.settings import ServerConfig
from assist.web.server import AssistServer
from tests.support.scripted_server import SCRIPT_A, SCRIPT_B, MakeServer


@pytest.fixture
async def make_server() -> AsyncIterator[MakeServer]:
    """``await make_server(scripts=..., **config)``: a started server, stopped after the test."""
    servers: list[AssistServer] = []

    async def make(scripts: Sequence[Script] = (SCRIPT_A, SCRIPT_B), **overrides: Any) -> AssistServer:
        settings: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "gate": False, "decode_threads": 2}
        settings.update(overrides)
        server = AssistServer(ServerConfig(**settings), ScriptedFactory(scripts))
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop(grace=5)
