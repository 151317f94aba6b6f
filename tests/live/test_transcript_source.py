"""Transcript replay source: words released on the audio clock, with partials, at any speed."""

from __future__ import annotations

import asyncio
import itertools

from assist.live.transcript_source import TranscriptReplayer, split_chars, timed_words
from assist.protocol.events import Transcript, TranscriptLine


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_timed_words_cover_the_line_in_order() -> None:
    line = TranscriptLine(role="caller", start=1.0, end=3.0, text="我 要 投诉 物业")
    words = timed_words(line, split_chars)
    assert [w.word for w in words] == ["我", "要", "投诉", "物业"]
    assert words[0].start == 1.0
    assert abs(words[-1].end - 3.0) < 1e-9
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(words))


def test_unspaced_chinese_falls_back_to_characters() -> None:
    assert split_chars("你好吗") == ["你", "好", "吗"]


async def test_max_speed_releases_partials_then_final_in_audio_order() -> None:
    got: list[Transcript] = []

    async def sink(t: Transcript) -> None:
        got.append(t)

    rep = TranscriptReplayer("c1", sink, speed=0)
    task = asyncio.create_task(rep.run())
    rep.add(TranscriptLine(role="agent", start=0.0, end=1.0, text="您好 请讲"))
    rep.add(TranscriptLine(role="caller", start=1.5, end=3.0, text="我 家 停水 了"))
    rep.close()
    await asyncio.wait_for(task, 2)
    agent = [t for t in got if t.role == "agent"]
    caller = [t for t in got if t.role == "caller"]
    assert [t.text for t in agent] == ["您好", "您好 请讲", "您好 请讲"]
    assert [t.final for t in agent] == [False, False, True]
    assert caller[-1].final and caller[-1].text == "我 家 停水 了"
    assert {t.utterance_id for t in caller} == {"caller-0"}
    assert [w.word for w in caller[-1].words] == ["我", "家", "停水", "了"]
    # audio order: every agent event comes before the caller's (agent ends at 1.3 s, caller starts at 1.5 s)
    assert got.index(agent[-1]) < got.index(caller[0])


async def test_real_time_pacing_follows_the_clock() -> None:
    clock = FakeClock()
    got: list[Transcript] = []

    async def sink(t: Transcript) -> None:
        got.append(t)

    rep = TranscriptReplayer("c1", sink, speed=2.0, clock=clock)
    rep.add(TranscriptLine(role="caller", start=0.0, end=2.0, text="一 二"))
    rep.close()
    task = asyncio.create_task(rep.run())
    await asyncio.sleep(0.01)
    assert got == []  # nothing due at audio time 0
    clock.now += 0.5  # 1 s of audio at 2x
    rep._wake.set()
    await asyncio.sleep(0.01)
    assert [t.text for t in got] == ["一"]
    clock.now += 1.0  # audio time 3 s: second word and the final (2.0 + 0.3)
    rep._wake.set()
    await asyncio.wait_for(task, 2)
    assert [t.final for t in got] == [False, False, True]


async def test_flush_releases_everything_pending() -> None:
    got: list[Transcript] = []

    async def sink(t: Transcript) -> None:
        got.append(t)

    rep = TranscriptReplayer("c1", sink, speed=1.0)
    rep.add(TranscriptLine(role="caller", start=50.0, end=52.0, text="很 久 以后"))
    await rep.flush()
    assert got[-1].final and got[-1].text == "很 久 以后"


async def test_resumed_replay_drops_stored_finals_continues_ids_and_starts_at_resume_from() -> None:
    from assist.live.resumption import ResumePoint, RolePoint
    from assist.protocol.enums import CallMode

    clock = FakeClock()
    got: list[Transcript] = []

    async def sink(t: Transcript) -> None:
        got.append(t)

    # stored: agent-0 (0-1 s), caller-0 (1.5-3 s); the earlier connection stopped before the caller's next line
    point = ResumePoint("a1", CallMode.LIVE, {
        "agent": RolePoint(next_index=1, last_id="agent-0", last_start=0.0, floor=1.0),
        "caller": RolePoint(next_index=1, last_id="caller-0", last_start=1.5, floor=3.0),
    })
    rep = TranscriptReplayer("c1", sink, speed=1, clock=clock, resume=point, start_at=1.5)
    task = asyncio.create_task(rep.run())
    await asyncio.sleep(0)
    assert rep.add(TranscriptLine(role="caller", start=1.5, end=3.0, text="我 家 停水 了")) is None
    assert rep.add(TranscriptLine(role="agent", start=3.5, end=4.0, text="好的")) == "agent-1"
    assert rep.add(TranscriptLine(role="caller", start=4.5, end=5.0, text="谢谢")) == "caller-1"
    assert rep.replayed == 1
    await asyncio.sleep(0.01)
    assert got == []  # the clock starts at 1.5 s: nothing is due yet
    clock.now += 3.0  # 1.5 s + 3 s of clock: 4.5 s of call, the agent's line is final (4.0 + 0.3)
    rep._wake.set()
    await asyncio.sleep(0.01)
    assert [(t.utterance_id, t.final) for t in got if t.final] == [("agent-1", True)]
    rep.close()
    rep.hurry()
    await asyncio.wait_for(task, 2)
    assert [t.utterance_id for t in got if t.final] == ["agent-1", "caller-1"]
