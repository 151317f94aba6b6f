"""The real assist server, full pipeline, on its own event-loop thread, for synchronous browser tests.

Built like ``tests/live/conftest.py``: the real analysis engine (``Analyzer.load()``), the real
SQLite store, personal-number masking, and ``NoModelFactory`` (calls use the transcript source,
so no Vosk model is needed).  Authentication is off: no token store, loopback only.  The server
serves the real ``assist/web/static/`` pages over HTTP on its websocket port.

``RealServer(db_path, analyzer).start()``, then ``replay(...)`` streams a call over ``/ws/call``
from timed transcript lines; an ``all`` subscriber records every event the server publishes
(``events()``), so tests can compare what the pages show with what the server sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar
from urllib.request import urlopen

from websockets.asyncio.client import ClientConnection, connect

from assist.audio.recognizer import NoModelFactory
from assist.live.pipeline import AssistPipeline
from assist.live.stable import STABLE_PARTIAL
from assist.nlp.analyzer import Analyzer, CallContext
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.server import AssistServer

T = TypeVar("T")
class RealServer:
    """An ``AssistServer`` with the full pipeline on 127.0.0.1, port chosen by the OS."""

    def __init__(self, db_path: Path, analyzer: Analyzer, *, stable_partial: float = STABLE_PARTIAL) -> None:
        self.db_path = db_path
        self.analyzer = analyzer
        self.stable_partial = stable_partial
        self.server: AssistServer | None = None
        self.store: Store | None = None
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._observer: asyncio.Task[None] | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="real-server", daemon=True)

    # ------------------------------------------------------------ control (test thread)

    def start(self) -> RealServer:
        self._thread.start()
        self.run(self._start())
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self.run(self._stop(), timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the pages and the API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        assert self.server is not None
        return self.server.url

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def replay(
        self, call_id: str, agent_id: str, lines: list[dict[str, Any]], *, speed: float = 2.0, mode: str = "live"
    ) -> Future[list[dict[str, Any]]]:
        """Stream a transcript-source call in the background; the future holds the call socket's events."""
        return asyncio.run_coroutine_threadsafe(self._replay(call_id, agent_id, lines, speed, mode), self._loop)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every event published so far (as the ``all`` subscriber got it), optionally of one type."""
        with self._lock:
            return [e for e in self._events if kind is None or e.get("type") == kind]

    def wait_for(self, found: Callable[[list[dict[str, Any]]], T | None], timeout: float = 20.0) -> T:
        """Poll the recorded events until ``found(events)`` returns something other than None."""
        deadline = time.monotonic() + timeout
        while True:
            result = found(self.events())
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not publish the expected event in time")
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        """``GET /stats`` over HTTP."""
        with urlopen(f"{self.base_url}/stats", timeout=5) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    # ------------------------------------------------------------ server loop

    async def _start(self) -> None:
        self.store = await Store.open(self.db_path)
        pipeline = AssistPipeline(
            analyzer=self.analyzer, redactor=Redactor(), store=self.store, context_factory=CallContext,
            stable_partial=self.stable_partial,
        )
        self.server = AssistServer(ServerConfig(host="127.0.0.1", port=0), NoModelFactory(), pipeline=pipeline)
        await self.server.start()
        ws = await connect(self.server.url + "/ws/subscribe")
        await ws.send(json.dumps({"type": "subscribe", "all": True}))
        first = json.loads(await ws.recv())
        if first.get("type") != "subscribed":
            raise RuntimeError(f"the observer was not subscribed: {first}")
        self._observer = asyncio.create_task(self._observe(ws))

    async def _observe(self, ws: ClientConnection) -> None:
        async for raw in ws:
            with self._lock:
                self._events.append(json.loads(raw))

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=5)
        if self._observer is not None:
            await asyncio.wait({self._observer}, timeout=5)
            self._observer.cancel()
        if self.store is not None:
            await self.store.close()

    async def _replay(
        self, call_id: str, agent_id: str, lines: list[dict[str, Any]], speed: float, mode: str
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        async with connect(self.ws_url + "/ws/call") as ws:
            await ws.send(json.dumps({
                "type": "start", "call_id": call_id, "agent_id": agent_id, "sample_rate": 16000, "channels": 2,
                "roles": ["agent", "caller"], "source": "transcript", "speed": speed, "mode": mode,
            }))
            for line in lines:
                await ws.send(json.dumps({"type": "line", **line}, ensure_ascii=False))
            await ws.send(json.dumps({"type": "end"}))
            async for raw in ws:
                event = json.loads(raw)
                events.append(event)
                if event["type"] == "ended" or (event["type"] == "error" and event.get("fatal")):
                    break
        return events
