"""The headset client against the real AssistServer (scripted recognizer, no model): wire compatibility."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from assist.audio.recognizer import ScriptedFactory
from assist.headset.callclient import CallClient
from assist.headset.pacing import Backoff
from assist.headset.view import TerminalView
from assist.protocol.events import Start
from assist.settings import ServerConfig
from assist.web.server import AssistServer
from tests.support.capture_fakes import FakeCapture, ramp_signal

AGENT = [[("您好", 0.2, 0.5), ("请讲", 0.6, 1.0)]]
CALLER = [[("我家", 1.3, 1.6), ("停水", 1.7, 2.0), ("了", 2.1, 2.3)]]


async def test_stereo_call_through_the_real_server() -> None:
    config = ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=1)
    server = AssistServer(config, ScriptedFactory([AGENT, CALLER]))
    await server.start()
    out = io.StringIO()
    view = TerminalView(out)
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        view.on_event(event)

    start = Start(call_id="real-1", agent_id="A01", sample_rate=16000, channels=2, roles=("agent", "caller"))
    capture = FakeCapture(ramp_signal(3.0, 16000, 2), 16000, speed=4.0)
    client = CallClient(f"{server.url}/ws/call", start, capture, on_event, backoff=Backoff(0.05, 0.2))
    try:
        async with asyncio.timeout(20):
            result = await client.run()
    finally:
        await server.stop(grace=5)
    assert result.ended and result.error is None, result
    assert result.summary is not None and result.summary["reason"] == "completed"
    assert result.summary["audio_bytes"] == 3 * 16000 * 4
    assert [e["type"] for e in events][-1] == "ended"
    lines = out.getvalue().splitlines()
    assert "[00:00] 坐席: 您好请讲" in lines and "[00:01] 来电人: 我家停水了" in lines


async def test_resume_after_the_real_server_restarts() -> None:
    """The restarted server re-decodes from ``resume_from``; times continue and nothing prints twice.

    The scripted recognizer's times count from the audio it receives, like Vosk's: the
    restarted server's session adds ``resume_from`` to them.
    """
    first = AssistServer(ServerConfig(host="127.0.0.1", port=0, gate=False, decode_threads=1),
                         ScriptedFactory([AGENT, CALLER]))
    await first.start()
    port = first.port
    # after the restart (resume_from = 1.0, the agent's last final): the caller's utterance is
    # decoded again (1.3-2.3 s), then each role says something new
    again_agent = [[("好的", 2.0, 2.4)]]
    again_caller = [[("我家", 0.3, 0.6), ("停水", 0.7, 1.0), ("了", 1.1, 1.3)], [("三天", 3.0, 3.4)]]
    second = AssistServer(ServerConfig(host="127.0.0.1", port=port, gate=False, decode_threads=1),
                          ScriptedFactory([again_agent, again_caller]))
    out = io.StringIO()
    view = TerminalView(out)
    finals: list[dict[str, Any]] = []
    both_shown = asyncio.Event()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == "transcript" and event["final"]:
            finals.append(event)
            if len(finals) == 2:
                both_shown.set()
        view.on_event(event)

    start = Start(call_id="real-2", agent_id="A01", sample_rate=16000, channels=2, roles=("agent", "caller"))
    capture = FakeCapture(ramp_signal(6.0, 16000, 2), 16000, speed=4.0)
    client = CallClient(f"ws://127.0.0.1:{port}/ws/call", start, capture, on_event,
                        backoff=Backoff(0.05, 0.2, jitter=0.0))
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(20):
            await both_shown.wait()
            await first.stop(grace=5)
            await second.start()
            result = await task
    finally:
        await first.stop(grace=1)
        await second.stop(grace=5)
    assert result.ended and result.error is None, result
    assert [s.resume_from for s in client.starts] == [None, 1.0]
    texts = [(e["role"], "".join(e["text"].split()), e["start"]) for e in finals if e["text"]]
    assert texts == [("agent", "您好请讲", 0.2), ("caller", "我家停水了", 1.3), ("agent", "好的", 3.0),
                     ("caller", "三天", 4.0)]
    assert out.getvalue().count("我家停水了") == 1
