"""CallClient against a fake call server on 127.0.0.1: streaming, prompts, restarts, errors, ending."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import numpy as np
import pytest

from assist.headset.callclient import CallClient, ClientResult, ClientStatus
from assist.headset.pacing import Backoff
from assist.headset.view import TerminalView
from assist.protocol.errors import ErrorCode
from assist.protocol.events import Start
from tests.support.capture_fakes import FakeCapture, ramp_signal
from tests.support.fake_call_server import FakeCallServer, Utterance, running

RATE = 16000
STEREO = ("agent", "caller")

SCRIPT = (
    Utterance("caller", 0.2, 0.9, "你好 我 想 问 一下"),
    Utterance("agent", 1.0, 1.8, "您好 请 讲", (("banned", {"rule": "推诿", "said": "不归我们管",
                                                             "suggestion": "我帮您联系负责部门"}),)),
    Utterance("caller", 2.0, 3.2, "我 要 咨询 法律 援助", (
        ("referral", {"number": "12348", "name": "法律服务热线", "reason": "法律咨询"}),
        ("knowledge", {"id": "kb-7", "question": "如何申请法律援助", "answer": "携带身份证到司法局法律援助中心申请"}),
    )),
    Utterance("agent", 3.3, 4.0, "好的 我 帮 您 查 一下"),
    Utterance("caller", 4.1, 5.5, "我 不 想 活 了", (
        ("critical", {"reason": "轻生倾向", "referrals": ["12356"]}),
        ("empathy", {"label": "绝望", "steps": ["我能感受到您现在很难受", "我们一定会帮您", "我马上为您转接"]}),
    )),
)
TEXTS = ["你好我想问一下", "您好请讲", "我要咨询法律援助", "好的我帮您查一下", "我不想活了"]


def make_start(channels: int = 2, call_id: str = "call-1") -> Start:
    roles = STEREO if channels == 2 else ("mixed",)
    return Start(call_id=call_id, agent_id="A01", sample_rate=RATE, channels=channels, roles=roles)


class Recorder:
    def __init__(self, color: bool = False) -> None:
        self.out = io.StringIO()
        self.view = TerminalView(self.out, color=color)
        self.events: list[dict[str, Any]] = []
        self.statuses: list[ClientStatus] = []

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.view.on_event(event)

    def on_status(self, status: ClientStatus) -> None:
        self.statuses.append(status)
        self.view.on_status(status)

    def finals(self) -> list[str]:
        return ["".join(e["text"].split()) for e in self.events if e.get("type") == "transcript" and e["final"]]


def make_client(server: FakeCallServer, capture: FakeCapture, rec: Recorder, **kw: Any) -> CallClient:
    kw.setdefault("backoff", Backoff(0.05, 0.2, jitter=0.0))
    kw.setdefault("end_timeout", 5.0)
    return CallClient(server.url, make_start(capture.channels), capture, rec.on_event,
                      on_status=rec.on_status, **kw)


async def run(client: CallClient) -> ClientResult:
    async with asyncio.timeout(20):
        return await client.run()


async def test_stereo_audio_arrives_as_interleaved_s16le_with_the_right_start() -> None:
    signal = ramp_signal(1.5, RATE, 2)
    async with running(FakeCallServer()) as server:
        rec = Recorder()
        result = await run(make_client(server, FakeCapture(signal, RATE), rec))
    assert result.ended and result.error is None and result.connections == 1
    conn = server.connections[0]
    assert conn.start == {"type": "start", "call_id": "call-1", "agent_id": "A01", "sample_rate": RATE,
                          "encoding": "pcm_s16le", "channels": 2, "roles": ["agent", "caller"],
                          "resume_from": None, "mode": "live", "source": "audio", "speed": 1.0}
    assert conn.parsed_start.roles == STEREO  # valid for the real parser too
    assert bytes(conn.audio) == signal.astype("<i2").tobytes()
    frames = np.frombuffer(bytes(conn.audio), dtype="<i2").reshape(-1, 2)
    assert frames[0].tolist() == [1, -1] and frames[100].tolist() == [101, -101]  # channel 0 = agent = mic
    assert conn.frames_sizes[:-1] == [3200 * 2] * (len(conn.frames_sizes) - 1)  # 100 ms frames
    assert conn.messages == [{"type": "end"}]
    assert result.summary is not None and result.summary["reason"] == "completed"


async def test_one_device_is_a_mono_mixed_call() -> None:
    signal = ramp_signal(0.55, RATE, 1)
    script = [Utterance("mixed", 0.1, 0.2, "您好 请 讲")]
    async with running(FakeCallServer(script)) as server:
        rec = Recorder()
        result = await run(make_client(server, FakeCapture(signal, RATE), rec))
    assert result.ended
    start = server.connections[0].parsed_start
    assert (start.channels, start.roles) == (1, ("mixed",))
    assert bytes(server.connections[0].audio) == signal.astype("<i2").tobytes()
    assert "[00:00] 通话: 您好请讲" in rec.out.getvalue()


async def test_prompts_are_printed_concisely_without_colour() -> None:
    signal = ramp_signal(6.0, RATE, 2)
    async with running(FakeCallServer(SCRIPT)) as server:
        rec = Recorder()
        result = await run(make_client(server, FakeCapture(signal, RATE), rec, max_speed=None))
    assert result.ended
    out = rec.out.getvalue()
    assert "\x1b" not in out  # no colour, no transient partial lines
    lines = [line for line in out.splitlines() if not line.startswith("·")]
    assert lines == [
        "[00:00] 来电人: 你好我想问一下",
        "[00:01] 坐席: 您好请讲",
        "  [禁用语] 「不归我们管」 → 请改说:我帮您联系负责部门",
        "[00:02] 来电人: 我要咨询法律援助",
        "  [转介] 12348 法律服务热线:法律咨询",
        "  [知识库] 如何申请法律援助 — 携带身份证到司法局法律援助中心申请",
        "[00:03] 坐席: 好的我帮您查一下",
        "[00:04] 来电人: 我不想活了",
        "  [危急] 轻生倾向 转介 12356",
        "  [共情·绝望] 1. 我能感受到您现在很难受 2. 我们一定会帮您 3. 我马上为您转接",
        "■ 通话结束 call-1: 6 s, 坐席 2 句, 来电人 3 句",
    ]


async def test_colour_and_partials_on_a_terminal() -> None:
    signal = ramp_signal(2.0, RATE, 2)
    async with running(FakeCallServer(SCRIPT[:2])) as server:
        rec = Recorder(color=True)
        await run(make_client(server, FakeCapture(signal, RATE), rec, max_speed=None))
    out = rec.out.getvalue()
    assert "\x1b[33m[00:00] 来电人: 你好我想问一下\x1b[0m\n" in out
    assert "\x1b[36m[00:01] 坐席: 您好请讲\x1b[0m\n" in out
    assert "\x1b[2;3m[00:00] 来电人: 你好 …\x1b[0m" in out  # the partial, later erased by \r\x1b[2K
    assert "\r\x1b[2K" in out


async def test_server_restart_resumes_the_call_without_duplicates() -> None:
    signal = ramp_signal(6.0, RATE, 2)
    server = FakeCallServer(SCRIPT)
    await server.start()
    port = server.port
    rec = Recorder()
    capture = FakeCapture(signal, RATE, speed=4.0)
    client = make_client(server, capture, rec)
    task = asyncio.create_task(run(client))
    try:
        # once the agent's first final (1.0-1.8 s) is shown, the server dies
        await server.wait_for(lambda: "您好请讲" in rec.finals())
        await server.crash()
        await asyncio.sleep(0.3)  # the client retries against a closed port meanwhile
        await server.start()
        assert server.port == port
        result = await task
    finally:
        await server.stop()
    assert result.ended and result.error is None
    assert len(server.connections) == 2
    first, second = server.connections
    resumed = second.parsed_start
    assert resumed.call_id == "call-1" and resumed.roles == STEREO
    # min over roles of the last final's end: caller 0.9, agent 1.8
    assert resumed.resume_from == 0.9
    frame = round(0.9 * RATE)
    assert bytes(second.audio) == signal[frame:].astype("<i2").tobytes()  # re-sent from there to the end
    assert bytes(first.audio) == signal[: len(first.audio) // 4].astype("<i2").tobytes()
    assert len(first.audio) // 4 > frame
    # the restarted server sent the agent's utterance again (ids from 0 again): printed once
    replayed = [e for e in second.sent if e.get("type") == "transcript" and e["final"]]
    assert "您好 请 讲" in [e["text"] for e in replayed]
    assert rec.finals() == TEXTS
    out = rec.out.getvalue()
    for text in (*TEXTS, "[禁用语]", "[转介] 12348", "[危急]"):
        assert out.count(text) == 1, text
    kinds = [s.kind for s in rec.statuses]
    assert "disconnected" in kinds and "retrying" in kinds and kinds.count("connected") == 2


async def test_call_in_progress_right_after_a_restart_is_retried() -> None:
    signal = ramp_signal(3.0, RATE, 2)
    server = FakeCallServer(SCRIPT[:2])
    await server.start()
    rec = Recorder()
    client = make_client(server, FakeCapture(signal, RATE, speed=4.0), rec)
    task = asyncio.create_task(run(client))
    try:
        await server.wait_for(lambda: len(rec.finals()) == 2)
        await server.crash()
        server.reject_next = 2  # the old socket of the call is still being finished
        await server.start()
        result = await task
    finally:
        await server.stop()
    assert result.ended and result.error is None
    assert [c.sent[0]["type"] for c in server.connections] == ["ready", "error", "error", "ready"]
    assert [s["call_id"] for s in server.starts] == ["call-1"] * 4
    assert server.starts[3]["resume_from"] == 0.9
    assert rec.finals() == TEXTS[:2]
    assert any("call_in_progress" in s.message for s in rec.statuses)


@pytest.mark.parametrize("code", [ErrorCode.BAD_CHANNELS, ErrorCode.FORBIDDEN])
async def test_fatal_error_stops_with_a_clear_message(code: ErrorCode) -> None:
    async with running(FakeCallServer(reject_next=5, reject_code=code)) as server:
        capture = FakeCapture(ramp_signal(30.0, RATE, 2), RATE, speed=1.0)
        result = await run(make_client(server, capture, Recorder()))
    assert not result.ended and result.connections == 1
    assert result.error is not None and f"({code.value})" in result.error
    assert capture.stopped.is_set()


async def test_token_is_sent_and_a_refused_one_is_fatal() -> None:
    signal = ramp_signal(0.3, RATE, 2)
    async with running(FakeCallServer(token="s3cret")) as server:
        ok = await run(make_client(server, FakeCapture(signal, RATE), Recorder(), token="s3cret"))
        bad = await run(make_client(server, FakeCapture(signal, RATE), Recorder(), token="wrong"))
    assert ok.ended
    assert not bad.ended and bad.error is not None and "HTTP 401" in bad.error and "--token" in bad.error


async def test_request_end_sends_end_and_waits_for_ended() -> None:
    capture = FakeCapture(ramp_signal(60.0, RATE, 2), RATE, speed=1.0)
    async with running(FakeCallServer()) as server:
        rec = Recorder()
        client = make_client(server, capture, rec)
        task = asyncio.create_task(run(client))
        await server.wait_for(lambda: server.current is not None and server.current.audio_time() >= 0.3)
        client.request_end()  # what Ctrl-C does
        result = await task
    assert result.ended and result.error is None
    conn = server.connections[0]
    assert conn.messages == [{"type": "end"}]
    assert bytes(conn.audio) == capture.signal[: capture.position].astype("<i2").tobytes()
    assert "■ 通话结束 call-1" in rec.out.getvalue()


async def test_end_is_not_waited_for_forever() -> None:
    capture = FakeCapture(ramp_signal(0.5, RATE, 2), RATE)
    async with running(FakeCallServer(ignore_end=True)) as server:
        result = await run(make_client(server, capture, Recorder(), end_timeout=0.5))
    assert result.timed_out and not result.ended and result.error is None
    assert server.connections[0].got_end


async def test_a_failing_device_ends_the_call_with_what_was_captured() -> None:
    capture = FakeCapture(ramp_signal(2.0, RATE, 2), RATE, fail_at=0.5)
    async with running(FakeCallServer()) as server:
        result = await run(make_client(server, capture, Recorder()))
    assert result.ended  # the audio before the failure was delivered and the call closed
    assert result.error is not None and "device lost" in result.error
    assert len(server.connections[0].audio) == capture.position * 4


async def test_server_unreachable_at_first_then_up() -> None:
    server = FakeCallServer(SCRIPT[:1])
    await server.start()
    await server.stop()  # the port is known but nobody listens yet
    rec = Recorder()
    client = make_client(server, FakeCapture(ramp_signal(1.5, RATE, 2), RATE, speed=4.0), rec)
    task = asyncio.create_task(run(client))
    await asyncio.sleep(0.2)
    await server.start()
    try:
        result = await task
    finally:
        await server.stop()
    assert result.ended
    assert server.starts[0]["resume_from"] is None  # the first start of the call is a fresh one
    assert bytes(server.connections[0].audio) == client.source.signal.astype("<i2").tobytes()  # type: ignore[attr-defined]
    assert rec.finals() == TEXTS[:1]


def test_mismatched_capture_and_start_are_refused() -> None:
    capture = FakeCapture(ramp_signal(0.1, RATE, 1), RATE)
    with pytest.raises(ValueError, match="1 channel"):
        CallClient("ws://127.0.0.1:1/ws/call", make_start(2), capture, lambda e: None)


def test_view_ignores_unknown_events_and_strips_control_characters() -> None:
    out = io.StringIO()
    view = TerminalView(out)
    view.on_event({"type": "brand_new_event", "x": 1})
    view.on_event({"type": "call_state", "call_id": "c"})
    view.on_event({"type": "prompt", "prompt_id": "p", "role": "caller", "kind": "referral", "action": "show",
                   "data": {"number": "110\x1b[31m", "name": "报警", "reason": None}})
    view.on_event({"type": "prompt", "prompt_id": "p", "role": "caller", "kind": "referral", "action": "update",
                   "data": {"number": "110\x1b[31m", "name": "报警", "reason": None}})
    view.on_event({"type": "prompt", "prompt_id": "p", "kind": "referral", "action": "withdraw", "data": {}})
    assert out.getvalue() == "  [转介] 110 [31m 报警\n"
    json.dumps(out.getvalue())  # plain text
