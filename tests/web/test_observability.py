"""/metrics with real values, the live audio pace limit, decode priority and TLS, on real servers."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from assist.audio.recognizer import ScriptedFactory
from assist.live.session import CallSession
from assist.protocol.events import CallSummary, Event, Prompt, Transcript
from assist.protocol.payloads import KnowledgePayload
from assist.settings import ServerConfig
from assist.web.server import AssistServer
from bench.callclient import CallResult, collect, stream_call
from tests.support.scripted_server import SCRIPT_A, TEXTS_A, MakeServer, pcm, start_msg


def _get(url: str, context: ssl.SSLContext | None = None) -> str:
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        return str(response.read().decode())


async def metrics(port: int) -> dict[str, float]:
    text = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


class PromptEveryFinal:
    """A listener that answers each final with a prompt (stands in for the analysis engine)."""

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
        if not transcript.final or not transcript.text:
            return []
        return [Prompt(f"{transcript.utterance_id}:x", session.call_id, transcript.role, transcript.utterance_id,
                       "knowledge", "show", transcript.end, None,
                       KnowledgePayload("kb-1", "问题", "答案", 0.9, "来源", "2024-01-01"))]

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
        return []


async def test_metrics_carry_calls_decoding_latencies_errors_and_drops(make_server: MakeServer) -> None:
    server = await make_server(
        scripts=(
            [[("hello", 0.2, 0.5), ("there", 0.6, 1.0)], [("how", 1.6, 1.8), ("are", 1.9, 2.1), ("you", 2.2, 2.5)]],
        ),
    )
    slow = server.hub.subscribe(queue_size=2)  # never read: its queue of 2 overflows
    result = CallResult()
    async with connect(server.url + "/ws/call") as ws:
        await ws.send(json.dumps(start_msg("m1")))
        reader = asyncio.create_task(collect(ws, result))
        await ws.send("{not json")  # a non-fatal bad_json error
        audio = pcm()
        for i in range(0, len(audio), 3200):
            await ws.send(audio[i : i + 3200])
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(reader, 10)
    assert result.final_texts() == TEXTS_A
    m = await metrics(server.port)
    assert m['assist_calls_total{mode="live",reason="completed"}'] == 1
    assert m['assist_calls_active{mode="live"}'] == 0 and m["assist_channels_active"] == 0
    assert m['assist_errors_total{code="bad_json"}'] == 1 and m['assist_errors_total{code="internal"}'] == 0
    assert m['assist_audio_seconds_total{role="mixed"}'] == pytest.approx(3.0)
    assert m["assist_decode_rtf_count"] >= 1 and m["assist_decode_seconds_total"] > 0
    # a transcript latency for every transcript that completed a word (partials with a new last word)
    assert m["assist_transcript_latency_seconds_count"] >= 2
    assert m['assist_transcript_latency_seconds_bucket{le="+Inf"}'] == m["assist_transcript_latency_seconds_count"]
    assert m['assist_queue_drops_total{queue="subscriber"}'] == slow.queue.dropped > 0
    assert m["assist_subscribers_active"] == len(server.hub) >= 1


async def test_prompt_latency_is_measured() -> None:
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=2)
    server = AssistServer(config, ScriptedFactory((SCRIPT_A,)),
                          session_hooks=[lambda session: session.add_listener(PromptEveryFinal())])
    await server.start()
    try:
        result = await stream_call(server.url + "/ws/call", start_msg("p1"), pcm())
        assert len(result.of_type("prompt")) == 2
        m = await metrics(server.port)
        assert m["assist_prompt_latency_seconds_count"] == 2
    finally:
        await server.stop(grace=5)


async def test_live_audio_is_throttled_training_replays_are_not(make_server: MakeServer) -> None:
    server = await make_server(decode_threads=2)
    seconds = 8.0  # sent at once: 2 s of burst, then 2x real time → at least 3 s
    began = time.monotonic()
    live = await stream_call(server.url + "/ws/call", start_msg("fast-live"), pcm(seconds))
    live_took = time.monotonic() - began
    assert live.ended is not None and not live.errors
    assert live_took >= (seconds - 2.0) / 2.0 - 0.2
    throttled = (await metrics(server.port))["assist_throttled_seconds_total"]
    assert throttled > 2
    began = time.monotonic()
    replay = await stream_call(server.url + "/ws/call", start_msg("fast-replay", mode="training"), pcm(seconds))
    replay_took = time.monotonic() - began
    assert replay.ended is not None and not replay.errors
    assert replay_took < live_took / 2
    assert (await metrics(server.port))["assist_throttled_seconds_total"] == throttled
    # both went through the decode gate, each as what it is
    assert server.gate.granted_live > 0 and server.gate.granted_training > 0


async def test_tls_serves_wss_and_https(make_server: MakeServer, cert_pair: tuple[Path, Path]) -> None:
    cert, key = cert_pair
    server = await make_server(cert_path=cert, key_path=key)
    assert server.url.startswith("wss://")
    client = ssl.create_default_context(cafile=str(cert))
    result = CallResult()
    async with connect(server.url + "/ws/call", ssl=client) as ws:
        await ws.send(json.dumps(start_msg("tls")))
        reader = asyncio.create_task(collect(ws, result))
        await ws.send(pcm())
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(reader, 10)
    assert result.final_texts() == TEXTS_A
    assert await asyncio.to_thread(_get, f"https://127.0.0.1:{server.port}/healthz", client) == "ok\n"
    with pytest.raises(OSError):  # plain HTTP on the TLS port is not served
        await asyncio.to_thread(_get, f"http://127.0.0.1:{server.port}/healthz")
    assert re.match(r"wss://127\.0\.0\.1:\d+$", server.url)
