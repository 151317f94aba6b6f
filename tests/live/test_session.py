"""CallSession without any transport: ids, sinks, listeners, back-pressure, failures, registry."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assist.audio.recognizer import Hypothesis, ScriptedFactory, ScriptedRecognizer
from assist.audio.vad import GateConfig
from assist.live.registry import CallRegistry
from assist.live.session import CallSession, SessionConfig
from assist.protocol.enums import Category
from assist.protocol.errors import ErrorCode, ProtocolError
from assist.protocol.events import (
    CallEnded,
    CallStarted,
    CallSummary,
    Event,
    Prompt,
    Start,
    Transcript,
    Word,
)
from assist.protocol.payloads import CategoryPayload
from tests.support.scripted_server import SCRIPT_A, SCRIPT_B, TEXTS_A, TEXTS_B, pcm


@pytest.fixture
async def executor() -> AsyncIterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def start(call_id: str = "c1", channels: int = 1, rate: int = 16000) -> Start:
    roles = ("mixed",) if channels == 1 else ("agent", "caller")
    return Start(call_id=call_id, agent_id="a1", sample_rate=rate, channels=channels, roles=roles)


class Recorder:
    """A listener standing in for the analysis pipeline: records transcripts and answers with a prompt."""

    def __init__(self) -> None:
        self.seen: list[Transcript] = []
        self.summary: CallSummary | None = None

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
        self.seen.append(transcript)
        if not transcript.final:
            return ()
        return [Prompt(prompt_id=f"p-{transcript.utterance_id}", call_id=session.call_id, role=transcript.role,
                       utterance_id=transcript.utterance_id, kind="category", action="show",
                       audio_time=transcript.end, span=None, data=CategoryPayload(Category.GENERAL, None))]

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
        self.summary = summary
        return ()


async def feed_all(session: CallSession, data: bytes, chunk: int = 3200) -> None:
    for i in range(0, len(data), chunk):
        await session.feed_audio(data[i : i + chunk])


async def test_pipeline_sinks_and_the_analysis_hook(executor: ThreadPoolExecutor) -> None:
    session = CallSession(start(channels=2), ScriptedFactory([SCRIPT_A, SCRIPT_B]), executor,
                          SessionConfig(max_coalesce_seconds=0.1))
    events: list[Event] = []
    session.add_sink(events.append)
    listener = Recorder()
    session.add_listener(listener)
    ready = await session.open()
    assert ready.roles == ("agent", "caller") and ready.model == "scripted"
    await feed_all(session, pcm(channels=2), chunk=6400)
    summary = await session.finish("completed")

    assert isinstance(events[0], CallStarted) and isinstance(events[-1], CallEnded)
    assert events[-1].summary == summary and summary.utterances == {"agent": 2, "caller": 2}
    transcripts = [e for e in events if isinstance(e, Transcript)]
    assert [t.text for t in transcripts if t.final and t.role == "agent"] == TEXTS_A
    assert [t.text for t in transcripts if t.final and t.role == "caller"] == TEXTS_B
    assert listener.seen == transcripts  # the hook sees every transcript, in order
    assert listener.summary == summary
    prompts = [e for e in events if isinstance(e, Prompt)]
    assert sorted(p.prompt_id for p in prompts) == ["p-agent-0", "p-agent-1", "p-caller-0", "p-caller-1"]
    for p in prompts:  # each prompt follows the final it reacts to
        final = next(t for t in transcripts if t.final and t.utterance_id == p.utterance_id)
        assert events.index(p) == events.index(final) + 1
    # one partial per word: each chunk is decoded on its own (0.2 s chunks, words >= 0.2 s apart)
    assert [t.text for t in transcripts if t.role == "agent" and not t.final][:2] == ["hello", "hello there"]
    assert session.state().duration == 3.0 and not session.state().active


async def test_finish_is_idempotent_and_survives_cancellation(executor: ThreadPoolExecutor) -> None:
    session = CallSession(start(), ScriptedFactory([SCRIPT_A]), executor)
    events: list[Event] = []
    session.add_sink(events.append)
    await session.open()
    await feed_all(session, pcm(2.3))
    first = asyncio.create_task(session.finish("client_gone"))
    await asyncio.sleep(0)
    first.cancel()  # the caller going away must not cut the flush short
    summary = await session.finish("completed")
    assert summary.reason == "client_gone"
    assert [e.text for e in events if isinstance(e, Transcript) and e.final] == TEXTS_A
    assert sum(isinstance(e, CallEnded) for e in events) == 1
    with pytest.raises(RuntimeError):
        await session.feed_audio(b"\x00\x00")


async def test_a_failing_sink_or_listener_does_not_stop_the_others(executor: ThreadPoolExecutor) -> None:
    class Broken:
        async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
            raise RuntimeError("analysis bug")

        async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
            raise RuntimeError("analysis bug")

    def bad_sink(event: Event) -> None:
        raise RuntimeError("sink bug")

    session = CallSession(start(), ScriptedFactory([SCRIPT_A]), executor)
    events: list[Event] = []
    session.add_sink(bad_sink)
    session.add_sink(events.append)
    session.add_listener(Broken())
    recorder = Recorder()
    session.add_listener(recorder)
    await session.open()
    await feed_all(session, pcm())
    await session.finish("completed")
    assert [e.text for e in events if isinstance(e, Transcript) and e.final] == TEXTS_A
    assert len(recorder.seen) == len([e for e in events if isinstance(e, Transcript)])
    assert recorder.summary is not None


async def test_hypotheses_without_audio_get_utterance_ids(executor: ThreadPoolExecutor) -> None:
    """A source that already has text (transcript replay) drives the same session and hooks."""
    session = CallSession(start(channels=2), ScriptedFactory([[]]), executor)
    events: list[Event] = []
    session.add_sink(events.append)
    await session.open()
    w = (Word("네", 1.0, 1.2),)
    await session.push_hypotheses("caller", [
        Hypothesis(False, "네", 1.0, 1.2), Hypothesis(False, "네", 1.0, 1.2),  # repeated partial: sent once
        Hypothesis(False, "  ", 1.0, 1.2),  # empty partial: dropped
        Hypothesis(True, "네", 1.0, 1.2, w), Hypothesis(True, "", 2.0, 2.0),  # empty final, nothing open: dropped
        Hypothesis(True, "예", 3.0, 3.2),  # a final without partials opens and closes its own utterance
    ])
    got = [(e.utterance_id, e.final, e.text) for e in events if isinstance(e, Transcript)]
    assert got == [("caller-0", False, "네"), ("caller-0", True, "네"), ("caller-1", True, "예")]
    with pytest.raises(ValueError, match="no role"):
        await session.push_hypotheses("mixed", [])
    await session.finish("completed")


async def test_full_queue_makes_the_reader_wait(executor: ThreadPoolExecutor) -> None:
    """Back-pressure: with every decode thread busy, feed_audio waits once the role's queue is full."""
    session = CallSession(start(), ScriptedFactory([SCRIPT_A]), executor, SessionConfig(audio_queue_chunks=2))
    await session.open()
    release = threading.Event()
    busy = [executor.submit(release.wait) for _ in range(2)]
    feeder = asyncio.create_task(feed_all(session, pcm(0.6), chunk=3200))  # six 0.1 s chunks
    await asyncio.sleep(0.2)
    assert not feeder.done()  # one batch waits for a thread, two chunks queued: the reader waits
    assert session.duration < 0.6
    release.set()
    await asyncio.wait_for(feeder, 5)
    for job in busy:
        job.result()
    await session.finish("completed")
    assert session.duration == pytest.approx(0.6)


async def test_call_too_long(executor: ThreadPoolExecutor) -> None:
    session = CallSession(start(), ScriptedFactory([SCRIPT_A]), executor, SessionConfig(max_call_seconds=1.0))
    await session.open()
    await feed_all(session, pcm(1.0))
    with pytest.raises(ProtocolError) as info:
        await session.feed_audio(pcm(0.1))
    assert info.value.code is ErrorCode.CALL_TOO_LONG
    await session.finish("error")


async def test_decoder_failure_is_reported_once_and_the_call_can_be_finished(executor: ThreadPoolExecutor) -> None:
    class Exploding(ScriptedRecognizer):
        def accept(self, pcm: bytes) -> list[Hypothesis]:
            raise RuntimeError("kaldi fell over")

    class Factory(ScriptedFactory):
        def create(self) -> ScriptedRecognizer:
            return Exploding([])

    session = CallSession(start(), Factory([[]]), executor)
    await session.open()
    await session.feed_audio(pcm(0.1))
    with pytest.raises(ProtocolError) as info:
        for _ in range(50):
            await session.feed_audio(pcm(0.1))
            await asyncio.sleep(0.01)
    assert info.value.code is ErrorCode.INTERNAL
    summary = await session.finish("completed")
    assert summary.reason == "error"


async def test_voice_gate_skips_silence(executor: ThreadPoolExecutor) -> None:
    gate = GateConfig(enabled=True)
    quiet = CallSession(start("quiet"), ScriptedFactory([SCRIPT_A]), executor, SessionConfig(gate=gate))
    await quiet.open()
    await feed_all(quiet, pcm())
    await quiet.finish("completed")
    stats = quiet.role_stats()["mixed"]
    assert stats.audio_in_s == 3.0 and stats.audio_decoded_s == 0.0 and stats.finals == 0

    rng = np.random.default_rng(3)
    half = np.concatenate([np.zeros(24000, np.int16), rng.integers(-8000, 8000, 24000).astype(np.int16)])
    mixed = CallSession(start("half"), ScriptedFactory([SCRIPT_A]), executor, SessionConfig(gate=gate))
    await mixed.open()
    await feed_all(mixed, half.astype("<i2").tobytes())
    await mixed.finish("completed")
    stats = mixed.role_stats()["mixed"]
    assert 1.4 <= stats.audio_decoded_s <= 2.0  # the noisy half plus the gate's pre-roll
    assert stats.segments == 1


def test_registry_claims_call_ids() -> None:
    pool = ThreadPoolExecutor(1)
    factory = ScriptedFactory([SCRIPT_A])
    registry = CallRegistry(max_calls=2)
    first = CallSession(start("x"), factory, pool)
    registry.register(first)
    with pytest.raises(ProtocolError) as info:
        registry.register(CallSession(start("x"), factory, pool))
    assert info.value.code is ErrorCode.CALL_IN_PROGRESS
    registry.register(CallSession(start("y"), factory, pool))
    with pytest.raises(ProtocolError) as info:
        registry.register(CallSession(start("z"), factory, pool))
    assert info.value.code is ErrorCode.TOO_MANY_CALLS
    registry.unregister(CallSession(start("x"), factory, pool))  # not the registered object: no effect
    assert "x" in registry and registry.get("x") is first
    assert registry.for_agent("a1") is not None and registry.for_agent("nobody") is None
    registry.unregister(first)
    assert "x" not in registry and len(registry) == 1
    pool.shutdown()


async def test_an_utterance_left_open_is_closed_by_an_empty_final_at_the_end(executor: ThreadPoolExecutor) -> None:
    session = CallSession(start(), ScriptedFactory([[]]), executor)
    events: list[Event] = []
    session.add_sink(events.append)
    await session.open()
    await session.feed_audio(pcm(1.0))
    await session.push_hypotheses("mixed", [Hypothesis(False, "어", 0.2, 0.4)])  # then revised away
    summary = await session.finish("completed")
    got = [(e.utterance_id, e.final, e.text) for e in events if isinstance(e, Transcript)]
    assert got == [("mixed-0", False, "어"), ("mixed-0", True, "")]
    assert summary.utterances == {"mixed": 0}
