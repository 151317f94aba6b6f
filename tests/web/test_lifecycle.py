"""Subscribers, HTTP paths, a client that vanishes, and a graceful server stop."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from assist.protocol.errors import CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TRY_AGAIN
from assist.protocol.events import CallEnded, Transcript
from assist.web.server import AssistServer
from bench.callclient import CallResult, collect, stream_call
from tests.support.scripted_server import SCRIPT_A, TEXTS_A, MakeServer, pcm, start_msg


async def subscribe(server: AssistServer, **what: Any) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.url + "/ws/subscribe")
    await ws.send(json.dumps({"type": "subscribe", **what}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return ws, first


async def events_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Read events until one of type ``kind`` (included)."""
    out: list[dict[str, Any]] = []
    while not out or out[-1]["type"] != kind:
        out.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    return out


async def wait_for(predicate: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_subscriber_sees_the_call_from_start_to_end(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    ws, first = await subscribe(server, all=True)
    assert first == {"type": "subscribed", "calls": [], "alerts": [], "following": None}
    call = await stream_call(server.url + "/ws/call", start_msg("c1"), pcm())
    events = await events_until(ws, "call_ended")
    assert events[0]["type"] == "call_started" and events[0]["call_id"] == "c1"
    finals = [e["text"] for e in events if e["type"] == "transcript" and e["final"]]
    assert finals == TEXTS_A == call.final_texts()
    assert events[-1]["summary"]["reason"] == "completed"
    await ws.close()


async def test_subscription_by_call_or_agent_sees_only_those_calls(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    url = server.url + "/ws/call"
    live = await connect(url)  # a call already in progress when the subscribers join
    await live.send(json.dumps(start_msg("early", agent_id="a7")))
    assert json.loads(await live.recv())["type"] == "ready"
    by_call, snap_call = await subscribe(server, call_id="c2")
    by_agent, snap_agent = await subscribe(server, agent_id="a7")
    assert snap_call["calls"] == [] and snap_call["following"] is None
    assert [c["call_id"] for c in snap_agent["calls"]] == ["early"] and snap_agent["following"] == "early"
    assert snap_agent["calls"][0]["active"] is True
    await asyncio.gather(
        stream_call(url, start_msg("c1", agent_id="a1"), pcm()),
        stream_call(url, start_msg("c2", agent_id="a2"), pcm()),
    )
    await live.send(pcm())
    await live.send(json.dumps({"type": "end"}))
    seen_call = await events_until(by_call, "call_ended")
    seen_agent = await events_until(by_agent, "call_ended")
    assert {e["call_id"] for e in seen_call} == {"c2"}
    assert {e["call_id"] for e in seen_agent} == {"early"}
    for ws in (by_call, by_agent, live):
        await ws.close()


async def test_subscriber_mistakes_are_answered_and_the_stream_goes_on(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    ws, _ = await subscribe(server, all=True)
    await ws.send("not json")
    await ws.send(json.dumps({"type": "ack", "alert_id": "nope"}))
    await ws.send(b"\x00\x01")
    answers = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
    assert [(a["type"], a["code"], a["fatal"]) for a in answers] == [
        ("error", "bad_json", False), ("error", "not_found", False), ("error", "bad_message", False)
    ]
    await stream_call(server.url + "/ws/call", start_msg("c1"), pcm())
    events = await events_until(ws, "call_ended")
    assert [e["text"] for e in events if e["type"] == "transcript" and e["final"]] == TEXTS_A
    await ws.close()


async def test_subscribe_socket_needs_a_subscribe_first(make_server: MakeServer) -> None:
    server = await make_server(max_subscribers=1)
    good, _ = await subscribe(server, all=True)
    for opening in (start_msg("x"), {"type": "subscribe"}, "[]"):
        result = CallResult()
        async with connect(server.url + "/ws/subscribe") as ws:
            await ws.send(opening if isinstance(opening, str) else json.dumps(opening))
            await collect(ws, result)
        assert [e["code"] for e in result.errors] == ["bad_message"] and result.close_code == CLOSE_POLICY
    result = CallResult()
    async with connect(server.url + "/ws/subscribe") as ws:  # one too many
        await ws.send(json.dumps({"type": "subscribe", "all": True}))
        await collect(ws, result)
    assert [e["code"] for e in result.errors] == ["too_many_subscribers"] and result.close_code == CLOSE_TRY_AGAIN
    await stream_call(server.url + "/ws/call", start_msg("c1"), pcm())  # the first subscriber is still served
    assert (await events_until(good, "call_ended"))[0]["type"] == "call_started"
    await good.close()


async def test_client_vanishing_mid_call_loses_no_transcript(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    sub = server.hub.subscribe()
    audio = pcm(2.3)  # utterance 1 complete; utterance 2 cut inside its last word (2.2-2.5 s)

    async def send_and_vanish() -> CallResult:
        result = CallResult()
        ws = await connect(server.url + "/ws/call")
        await ws.send(json.dumps(start_msg("gone")))
        result.events.append(json.loads(await ws.recv()))  # ready
        for i in range(0, len(audio), 3200):
            await ws.send(audio[i : i + 3200])
        # wait until the server has read every byte, then drop the TCP connection without a close frame
        await wait_for(lambda: (s := server.registry.get("gone")) is not None and s.duration >= 2.3)
        ws.transport.abort()
        return result

    await send_and_vanish()
    got: list[Any] = []
    while not isinstance(got[-1:] and got[-1], CallEnded):
        event = await asyncio.wait_for(sub.get(), 5)
        got.append(event)
    finals = [e for e in got if isinstance(e, Transcript) and e.final]
    assert [f.text for f in finals] == TEXTS_A  # the cut utterance was flushed, not lost
    assert finals[1].end == 2.3 and finals[1].words[-1].word == "you"
    ended = got[-1]
    assert isinstance(ended, CallEnded)
    assert ended.summary.reason == "client_gone" and ended.summary.utterances == {"mixed": 2}
    await wait_for(lambda: len(server.registry) == 0)
    # the server goes on serving
    again = await stream_call(server.url + "/ws/call", start_msg("after"), pcm())
    assert again.final_texts() == TEXTS_A


async def test_stop_finishes_live_calls_with_their_finals(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    ws = await connect(server.url + "/ws/call")
    await ws.send(json.dumps(start_msg("live")))
    result = CallResult()
    reader = asyncio.create_task(collect(ws, result))
    audio = pcm(1.2)  # "hello there" said, its final not yet due (1.3 s)
    await ws.send(audio)
    await wait_for(lambda: (s := server.registry.get("live")) is not None and s.duration >= 1.2)
    await server.stop(grace=5)
    await asyncio.wait_for(reader, 5)
    assert result.final_texts() == ["hello there"]
    assert result.ended is not None and result.ended["summary"]["reason"] == "interrupted"
    assert result.close_code == CLOSE_GOING_AWAY


def http_get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


async def test_http_paths(make_server: MakeServer) -> None:
    server = await make_server(scripts=(SCRIPT_A,))
    base = f"http://127.0.0.1:{server.port}"
    await stream_call(server.url + "/ws/call", start_msg("c1"), pcm())
    assert (await asyncio.to_thread(http_get, base + "/healthz"))[::2] == (200, "ok\n")
    status, kind, body = await asyncio.to_thread(http_get, base + "/stats")
    assert status == 200 and kind.startswith("application/json")
    stats = json.loads(body)
    assert stats["calls_finished"] == 1 and stats["calls_by_reason"] == {"completed": 1}
    assert stats["channel_audio_s"] == 3.0 and stats["model"] == "scripted"
    assert (await asyncio.to_thread(http_get, base + "/nothing-here"))[0] == 404
    assert (await asyncio.to_thread(http_get, base + "/ws/call"))[0] == 426  # websocket endpoint, plain GET
