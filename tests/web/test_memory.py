"""Memory freed by finished calls is handed back to the OS (glibc malloc_trim)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from assist.audio.memory import MemoryReleaser


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux only")
def test_release_returns_freed_heap_to_the_os() -> None:
    releaser = MemoryReleaser()
    assert releaser.available  # CI and the production servers run glibc Linux
    blocks = [bytearray(16 * 1024) for _ in range(20_000)]  # ~320 MB in small heap blocks (below mmap size)
    pin = blocks[-1]  # the last block keeps the heap's top in use, so free() alone cannot shrink it
    blocks.clear()
    before = rss_kib()
    releaser.release()
    assert rss_kib() < before - 100 * 1024  # at least 100 MB went back
    assert len(pin) == 16 * 1024


async def test_a_finished_call_frees_its_recognizers_without_waiting_for_the_cycle_collector() -> None:
    """Recognizers hold >100 MB of Kaldi memory per call: they must go when the call ends, not at the
    next full garbage collection (a 20-minute soak grew to 4 GB between collections before this)."""
    import gc
    import json
    import weakref

    from websockets.asyncio.client import connect

    from assist.audio.recognizer import ScriptedFactory, ScriptedRecognizer, StreamRecognizer
    from assist.settings import ServerConfig
    from assist.web.server import AssistServer
    from tests.support.scripted_server import SCRIPT_A, pcm

    alive: list[weakref.ref[ScriptedRecognizer]] = []

    class Tracking(ScriptedFactory):
        def create(self) -> StreamRecognizer:
            rec = super().create()
            assert isinstance(rec, ScriptedRecognizer)
            alive.append(weakref.ref(rec))
            return rec

    server = AssistServer(ServerConfig(host="127.0.0.1", port=0, gate=False), Tracking((SCRIPT_A,)))
    await server.start()
    gc.disable()
    try:
        async with connect(server.url + "/ws/call") as ws:
            await ws.send(json.dumps({"type": "start", "call_id": "m1", "agent_id": "a1", "sample_rate": 16000}))
            await ws.send(pcm(3.0))
            await ws.send(json.dumps({"type": "end"}))
            async for message in ws:
                if json.loads(message)["type"] == "ended":
                    break
        for _ in range(50):  # the server finishes the connection handler just after 'ended'
            if alive and all(ref() is None for ref in alive):
                break
            await asyncio.sleep(0.02)
        assert alive and all(ref() is None for ref in alive)
    finally:
        gc.enable()
        await server.stop(grace=5)
