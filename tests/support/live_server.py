"""A real server with the full pipeline (the ``live_server`` fixture of tests/live/conftest.py) and a
transcript call streamed to it at full speed."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import connect

from assist.store.db import Store
from assist.web.server import AssistServer


@dataclass
class LiveServer:
    server: AssistServer
    store: Store

    @property
    def url(self) -> str:
        return self.server.url


async def replay(url: str, call_id: str, lines: list[dict[str, Any]], agent: str = "a1") -> list[dict[str, Any]]:
    """Stream a transcript call at full speed; return every event the call socket got."""
    events: list[dict[str, Any]] = []
    async with connect(url + "/ws/call") as ws:
        await ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": agent, "sample_rate": 16000,
                                  "channels": 2, "roles": ["agent", "caller"], "source": "transcript", "speed": 0}))
        for line in lines:
            await ws.send(json.dumps({"type": "line", **line}))
        await ws.send(json.dumps({"type": "end"}))
        while True:
            ev: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            events.append(ev)
            if ev["type"] == "ended":
                return events
