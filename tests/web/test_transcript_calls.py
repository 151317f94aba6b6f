"""Calls with ``source: "transcript"``: timed lines instead of audio, through the same session and hub."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import connect

from assist.protocol.errors import CLOSE_NORMAL
from assist.protocol.events import CallEnded, Transcript
from bench.callclient import CallResult, collect
from tests.support.scripted_server import MakeServer, pcm, start_msg

LINES = [
    {"type": "line", "role": "agent", "start": 0.0, "end": 1.5, "text": "您好 请讲"},
    {"type": "line", "role": "caller", "start": 2.0, "end": 4.0, "text": "我 家 停水 了"},
]


def transcript_start(call_id: str, speed: float = 0) -> dict[str, Any]:
    return start_msg(call_id, channels=2, roles=["agent", "caller"], source="transcript", speed=speed)


async def test_lines_become_partials_and_finals(make_server: MakeServer) -> None:
    server = await make_server()
    result = CallResult()
    async with connect(server.url + "/ws/call") as ws:
        await ws.send(json.dumps(transcript_start("t1")))
        for line in LINES:
            await ws.send(json.dumps(line))
        await ws.send(pcm(0.1))  # audio does not belong in a transcript call: reported, ignored
        await ws.send(json.dumps({**LINES[0], "role": "mixed"}))  # not a role of this call
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(collect(ws, result), 10)
    assert result.ready is not None and result.ready["model"] == "transcript"
    assert result.final_texts("agent") == ["您好 请讲"]
    assert result.final_texts("caller") == ["我 家 停水 了"]
    caller = result.transcripts("caller")
    # partials released together are coalesced in the socket's queue: at least the latest one arrives
    assert [e["final"] for e in caller] == [False] * (len(caller) - 1) + [True] and len(caller) >= 2
    assert {e["utterance_id"] for e in caller} == {"caller-0"}
    assert [w["word"] for w in caller[-1]["words"]] == ["我", "家", "停水", "了"]
    assert [(e["code"], e["fatal"]) for e in result.errors] == [("bad_message", False)] * 2
    assert result.ended is not None
    assert result.ended["summary"]["utterances"] == {"agent": 1, "caller": 1}
    assert result.ended["summary"]["duration"] == 4.0
    assert result.close_code == CLOSE_NORMAL


async def test_line_in_an_audio_call_is_a_non_fatal_error(make_server: MakeServer) -> None:
    server = await make_server()
    result = CallResult()
    async with connect(server.url + "/ws/call") as ws:
        await ws.send(json.dumps(start_msg("a1")))
        await ws.send(json.dumps(LINES[0]))
        await ws.send(pcm())
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(collect(ws, result), 10)
    assert [e["code"] for e in result.errors] == ["bad_message"]
    assert len(result.final_texts()) == 2 and result.close_code == CLOSE_NORMAL


async def test_real_time_replay_cut_short_by_the_client_keeps_every_line(make_server: MakeServer) -> None:
    server = await make_server()
    sub = server.hub.subscribe()
    ws = await connect(server.url + "/ws/call")
    await ws.send(json.dumps(transcript_start("t2", speed=1)))
    assert json.loads(await ws.recv())["type"] == "ready"
    for line in LINES:
        await ws.send(json.dumps(line))
    await asyncio.sleep(0.2)
    await ws.close()  # long before the lines are due on the audio clock
    got: list[Any] = []
    while not (got and isinstance(got[-1], CallEnded)):
        got.append(await asyncio.wait_for(sub.get(), 5))
    finals = [e.text for e in got if isinstance(e, Transcript) and e.final]
    assert finals == ["您好 请讲", "我 家 停水 了"]
    assert got[-1].summary.reason == "client_gone"
