"""Heartbeats (a silent peer is closed and its call ends as interrupted) and resuming a call
(same call id + ``resume_from``: no utterance duplicated, none lost), on real servers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from assist.audio.recognizer import ScriptedFactory
from assist.live.hub import Subscriber
from assist.live.pipeline import AssistPipeline
from assist.protocol.events import CallEnded, Event, Transcript
from assist.settings import ServerConfig
from assist.store.db import Store
from assist.store.privacy import Redactor
from assist.web.call import PROBE_TIMEOUT
from assist.web.server import AssistServer
from bench.callclient import CallResult, collect
from tests.support.resume_script import EXPECTED, WORDS, heard_from
from tests.support.scripted_server import MakeServer, pcm, start_msg
from tests.support.silent_client import SilentClient

CALL_END = 4.5


async def events_until_ended(sub: Subscriber, call_id: str) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(10):
        while True:
            event = await sub.get()
            assert event is not None
            got.append(event)
            if isinstance(event, CallEnded) and event.call_id == call_id:
                return got


def finals(events: list[Event]) -> list[Transcript]:
    return [e for e in events if isinstance(e, Transcript) and e.final]


async def wait_for_audio(server: AssistServer, call_id: str, seconds: float) -> None:
    """Until the server has read ``seconds`` of the call's audio (polled: the server has no event for it)."""
    deadline = time.monotonic() + 10
    while (s := server.registry.get(call_id)) is None or s.duration < seconds:
        assert time.monotonic() < deadline, "the server did not read the audio in time"
        await asyncio.sleep(0.01)


async def send_audio(ws: ClientConnection, audio: bytes) -> None:
    for i in range(0, len(audio), 3200):
        await ws.send(audio[i : i + 3200])


# ---------------------------------------------------------------- heartbeats


async def test_silent_peer_is_closed_and_its_call_ends_interrupted(make_server: MakeServer) -> None:
    server = await make_server(scripts=(WORDS,), heartbeat_interval=0.3, heartbeat_timeout=0.3)
    assert server.config.silent_peer_seconds == pytest.approx(0.9)
    sub = server.hub.subscribe()
    peer = await SilentClient.open("127.0.0.1", server.port)
    await peer.send_json(start_msg("quiet"))
    await peer.send_bytes(pcm(1.4))
    await wait_for_audio(server, "quiet", 1.4)
    went_silent = time.monotonic()  # from now on the peer neither reads nor answers pings
    got = await events_until_ended(sub, "quiet")
    closed_after = time.monotonic() - went_silent
    ended = got[-1]
    assert isinstance(ended, CallEnded) and ended.summary.reason == "interrupted"
    assert closed_after < 3 * server.config.silent_peer_seconds  # the heartbeat closed it, not a timeout
    assert [f.text for f in finals(got)] == ["hello there"]  # what it said before going silent is kept
    peer.close()


# ---------------------------------------------------------------- resuming


@pytest.mark.parametrize("with_store", [True, False], ids=["store", "memory"])
@pytest.mark.parametrize("resume_from", [0.0, 1.0])
async def test_dropped_call_resumes_without_duplicates_or_losses(
    with_store: bool, resume_from: float, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "calls.sqlite3") if with_store else None
    pipeline = AssistPipeline(analyzer=None, redactor=Redactor(), store=store) if store is not None else None
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=2)
    server = AssistServer(config, ScriptedFactory((WORDS, heard_from(resume_from))), pipeline=pipeline)
    await server.start()
    try:
        sub = server.hub.subscribe()
        # 1. stream 2.3 s: "hello there" is final, "how are you" is cut inside its last word
        ws = await connect(server.url + "/ws/call")
        await ws.send(json.dumps(start_msg("drop")))
        assert json.loads(await ws.recv())["resumed"] is False
        await send_audio(ws, pcm(2.3))
        await wait_for_audio(server, "drop", 2.3)
        ws.transport.abort()  # the network goes: no close frame, no 'end'
        # 2. reconnect at once (the old session may still be finishing) and re-send from resume_from
        result = CallResult()
        async with connect(server.url + "/ws/call") as again:
            await again.send(json.dumps(start_msg("drop", resume_from=resume_from)))
            reader = asyncio.create_task(collect(again, result))
            await send_audio(again, pcm(CALL_END - resume_from))
            await again.send(json.dumps({"type": "end"}))
            await asyncio.wait_for(reader, 10)
        got = await events_until_ended(sub, "drop")
        got += await events_until_ended(sub, "drop")
        assert result.ready is not None and result.ready["resumed"] is True
        assert result.ended is not None and result.ended["summary"]["reason"] == "completed"
        # the cut final was replaced under its own id; "hello there" was not delivered twice
        delivered = finals(got)
        latest = {f.utterance_id: (f.utterance_id, f.text, f.start, f.end) for f in delivered}
        assert sorted(latest.values()) == EXPECTED
        assert [f.text for f in delivered].count("hello there") == 1
        resumed_ids = [e["utterance_id"] for e in result.transcripts()]
        assert "mixed-0" not in resumed_ids  # not even as a partial
        if store is not None:
            deadline = time.monotonic() + 5
            while (call := (await store.get_call("drop"))["call"])["end_reason"] is None:
                assert time.monotonic() < deadline, "the end of the call was not stored"
                await asyncio.sleep(0.02)  # the store commits its queued writes in the background
            assert call["end_reason"] == "completed" and call["resumes"] == 1
            stored = [(u["utterance_id"], u["text"], u["start"], u["end"]) for u in await store.utterances("drop")]
            assert stored == EXPECTED
    finally:
        await server.stop(grace=5)
        if store is not None:
            await store.close()


async def test_resume_replaces_a_socket_that_went_silent(make_server: MakeServer) -> None:
    server = await make_server(scripts=(WORDS, heard_from(0.0)))  # default heartbeat: 15 s + 15 s
    sub = server.hub.subscribe()
    peer = await SilentClient.open("127.0.0.1", server.port)
    await peer.send_json(start_msg("held"))
    await peer.send_bytes(pcm(1.4))
    await wait_for_audio(server, "held", 1.4)
    began = time.monotonic()
    result = CallResult()
    async with connect(server.url + "/ws/call") as ws:
        await ws.send(json.dumps(start_msg("held", resume_from=0.0)))
        reader = asyncio.create_task(collect(ws, result))
        first_end = await events_until_ended(sub, "held")  # the old socket did not answer a ping: replaced
        replaced_after = time.monotonic() - began
        await send_audio(ws, pcm(CALL_END))
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(reader, 10)
    ended = first_end[-1]
    assert isinstance(ended, CallEnded) and ended.summary.reason == "interrupted"
    # the probe waited for its ping's answer, and replaced the socket long before the heartbeat would have
    assert PROBE_TIMEOUT <= replaced_after < server.config.silent_peer_seconds / 4
    assert result.ready is not None and result.ready["resumed"] is True
    assert [(e["utterance_id"], e["text"]) for e in result.transcripts(final=True)] == [
        ("mixed-1", "how are you"), ("mixed-2", "bye now")
    ]
    peer.close()


async def test_resume_of_a_call_alive_elsewhere_is_refused(make_server: MakeServer) -> None:
    server = await make_server(scripts=(WORDS,))
    async with connect(server.url + "/ws/call") as owner:  # answers pings by itself
        await owner.send(json.dumps(start_msg("busy")))
        assert json.loads(await owner.recv())["type"] == "ready"
        for start in (start_msg("busy"), start_msg("busy", resume_from=0.0), start_msg("busy", agent_id="x")):
            result = CallResult()
            async with connect(server.url + "/ws/call") as other:
                await other.send(json.dumps(start))
                await asyncio.wait_for(collect(other, result), 10)
            assert [e["code"] for e in result.errors] == ["call_in_progress"], start
        await owner.send(pcm(0.5))
        await owner.send(json.dumps({"type": "end"}))
        rest: list[dict[str, Any]] = []
        async for message in owner:
            rest.append(json.loads(message))
        assert rest[-1]["type"] == "ended" and rest[-1]["summary"]["reason"] == "completed"


async def test_resume_by_another_agent_is_refused(make_server: MakeServer) -> None:
    server = await make_server(scripts=(WORDS,))
    sub = server.hub.subscribe()
    ws = await connect(server.url + "/ws/call")
    await ws.send(json.dumps(start_msg("mine", agent_id="a1")))
    await ws.recv()
    await send_audio(ws, pcm(1.5))
    await wait_for_audio(server, "mine", 1.5)
    ws.transport.abort()
    await events_until_ended(sub, "mine")
    result = CallResult()
    async with connect(server.url + "/ws/call") as other:
        await other.send(json.dumps(start_msg("mine", agent_id="a2", resume_from=1.0)))
        await asyncio.wait_for(collect(other, result), 10)
    assert [e["code"] for e in result.errors] == ["forbidden"] and result.ready is None
