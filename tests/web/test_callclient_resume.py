"""The capture client (assist/callclient.py) against the real server through a TCP proxy that is cut
mid-call: the client reconnects with ``resume_from`` and the stored call has every utterance once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assist.audio.recognizer import ScriptedRecognizer
from assist.headset.callclient import CallClient
from assist.headset.pacing import Backoff
from assist.live.pipeline import AssistPipeline
from assist.protocol.events import Start
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.server import AssistServer
from tests.support.capture_fakes import FakeCapture
from tests.support.resume_script import EXPECTED, heard_from

RATE = 16000
CALL_ID = "cc-1"


class ResumeAwareFactory:
    """Scripted recognizers that hear the call from where its session resumes (a test double for
    a real recognizer, which would hear the re-sent audio itself)."""

    name = "scripted"
    sample_rate = RATE

    def __init__(self) -> None:
        self.server: AssistServer | None = None

    def create(self) -> ScriptedRecognizer:
        assert self.server is not None
        session = self.server.registry.get(CALL_ID)
        resume_from = session.start.resume_from if session is not None else None
        return ScriptedRecognizer(heard_from(resume_from or 0.0), RATE)


class CuttableProxy:
    """Forwards TCP connections to ``port``; ``cut()`` drops every open one at once (a network failure)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


@pytest.mark.slow
async def test_capture_client_resumes_through_a_network_cut(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "calls.sqlite3")
    factory = ResumeAwareFactory()
    pipeline = AssistPipeline(analyzer=None, redactor=Redactor(), store=store)
    server = AssistServer(ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=2), factory,
                          pipeline=pipeline)
    factory.server = server
    await server.start()
    proxy = CuttableProxy(server.port)
    proxy_port = await proxy.start()
    events: list[dict[str, Any]] = []
    signal = np.zeros((round(4.5 * RATE), 1), dtype=np.int16)
    client = CallClient(
        f"ws://127.0.0.1:{proxy_port}/ws/call",
        Start(call_id=CALL_ID, agent_id="A01", sample_rate=RATE),
        FakeCapture(signal, RATE, block_seconds=0.05, speed=1.0),
        events.append,
        backoff=Backoff(0.05, 0.2, jitter=0.0),
    )
    try:
        running = asyncio.create_task(client.run())
        deadline = time.monotonic() + 10
        while (s := server.registry.get(CALL_ID)) is None or s.duration < 2.3:
            assert time.monotonic() < deadline, "the call did not get going"
            await asyncio.sleep(0.01)
        proxy.cut()
        result = await asyncio.wait_for(running, 20)
        assert result.ended and result.error is None
        assert proxy.connections == 2 and len(client.starts) == 2
        assert client.starts[1].resume_from is not None
        shown = [e["text"] for e in events if e.get("type") == "transcript" and e.get("final")]
        assert shown == [text for _, text, _, _ in EXPECTED]
        deadline = time.monotonic() + 5
        while (call := (await store.get_call(CALL_ID))["call"])["end_reason"] is None:
            assert time.monotonic() < deadline, "the end of the call was not stored"
            await asyncio.sleep(0.02)  # the store commits its queued writes in the background
        assert call["end_reason"] == "completed" and call["resumes"] == 1
        stored = [(u["utterance_id"], u["text"], u["start"], u["end"]) for u in await store.utterances(CALL_ID)]
        assert stored == EXPECTED  # none lost, none twice
    finally:
        await proxy.stop()
        await server.stop(grace=5)
        await store.close()
