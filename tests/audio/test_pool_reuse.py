"""A recognizer reused from the pool decodes a call exactly as a fresh one: Vosk's clock and pipeline state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.channel import ChannelDecoder
from assist.audio.pool import PoolConfig, RecognizerPool, load_warmup_audio
from assist.audio.recognizer import Hypothesis, VoskModelFactory, VoskRecognizer
from assist.audio.vad import GateConfig
from assist.audio.vosk_clock import VoskClock, VoskState

Speak = Callable[[str, int], npt.NDArray[np.int16]]
RATE = 16000
BLOCK = RATE // 10


def test_the_clock_follows_vosk_pipelines_and_replaces_its_float32_origin() -> None:
    clock = VoskClock(RATE)
    clock.accepted(1000)
    clock.final_result()  # a running utterance finished: the pipeline is freed
    assert clock.pipeline_start is None and not clock.reset_needs_finish
    clock.accepted(500)  # a new pipeline starts where the first audio after it was fed
    assert clock.pipeline_start == 1000
    clock.result()  # Vosk's own endpoint: the pipeline stays ...
    clock.accepted(200)
    assert clock.pipeline_start == 1000 and clock.reset_needs_finish  # ... and the next audio continues it
    clock.final_result()
    clock.reset()
    assert (clock.base, clock.fed, clock.state) == (1700, 0, VoskState.ENDPOINT)
    clock.accepted(16_003)
    clock.final_result()
    clock.accepted(10)
    pipeline = 1700 + 16_003
    assert clock.pipeline_start == pipeline
    # a word at frame 37.25 of that pipeline, as Vosk computes it: float32 origin + frames * 0.03
    frame = float(np.float32(37.25))
    vosk_time = float(np.float32(pipeline) / np.float32(RATE)) + frame * 0.03
    fresh_time = float(np.float32(16_003) / np.float32(RATE)) + frame * 0.03
    assert clock.call_seconds(vosk_time) == pytest.approx(fresh_time, abs=1e-12)
    assert abs((vosk_time - 1700 / RATE) - fresh_time) > 1e-9  # what subtracting base / rate would leave


def _decode(decoder: ChannelDecoder, audio: npt.NDArray[np.int16]) -> list[Hypothesis]:
    out: list[Hypothesis] = []
    for i in range(0, audio.size, BLOCK):
        out += decoder.feed(audio[i : i + BLOCK])
    return [h for h in out + decoder.finish() if h.final]


def _end_on_vosk_endpoint(recognizer: VoskRecognizer, audio: npt.NDArray[np.int16]) -> list[Hypothesis]:
    """Feed ``audio`` until Vosk's own endpoint gives a final, and stop there (no flush): the call ended."""
    for i in range(0, audio.size, BLOCK):
        finals = [h for h in recognizer.accept(audio[i : i + BLOCK].tobytes()) if h.final]
        if finals:
            return finals
    return []


def _assert_same(reused: list[Hypothesis], fresh: list[Hypothesis]) -> None:
    assert [h.text for h in reused] == [h.text for h in fresh]
    for got, want in zip(reused, fresh, strict=True):
        assert [(w.word, w.conf) for w in got.words] == [(w.word, w.conf) for w in want.words]
        times = [t for w in got.words for t in (w.start, w.end)]
        assert times == pytest.approx([t for w in want.words for t in (w.start, w.end)], abs=2e-6)
        assert (got.start, got.end) == pytest.approx((want.start, want.end), abs=2e-6)


@pytest.mark.engine
def test_a_reused_recognizer_decodes_a_stereo_call_as_a_fresh_one(
    korean_factory: VoskModelFactory, korean_speech: Speak
) -> None:
    agent = korean_speech("안녕하세요 오늘 날씨가 정말 좋습니다", RATE)
    caller = korean_speech("서울은 한국의 수도입니다", RATE)
    gap = np.zeros(RATE // 2, np.int16)
    left = np.concatenate([gap, agent, gap, np.zeros(caller.size, np.int16), gap, agent, gap])
    right = np.concatenate([gap, np.zeros(agent.size, np.int16), gap, caller, gap, np.zeros(agent.size, np.int16), gap])
    fresh = [_decode(ChannelDecoder(korean_factory.create(), RATE, gate=GateConfig()), ch) for ch in (left, right)]
    assert fresh[0] and fresh[1]

    pool = RecognizerPool(korean_factory, PoolConfig(warm=2, max_idle=2), warm_audio=load_warmup_audio(RATE))
    pool.warm_up()  # both have heard ten seconds of Mandarin
    first, second = pool.create(), pool.create()
    assert isinstance(first, VoskRecognizer) and isinstance(second, VoskRecognizer)
    # the previous call: one channel ended right after Vosk's own endpoint (Vosk keeps its feature
    # pipeline then), the other heard the caller's side of the call
    assert _end_on_vosk_endpoint(first, np.concatenate([agent, np.zeros(3 * RATE, np.int16)]))
    _decode(ChannelDecoder(second, RATE, gate=GateConfig()), right)
    pool.release(first)
    pool.release(second)

    for _ in range(2):  # the next calls get them the other way round (most recently released first)
        on_left, on_right = pool.create(), pool.create()
        assert {id(on_left), id(on_right)} == {id(first), id(second)}
        reused = [_decode(ChannelDecoder(r, RATE, gate=GateConfig()), ch)
                  for r, ch in ((on_left, left), (on_right, right))]
        _assert_same(reused[0], fresh[0])
        _assert_same(reused[1], fresh[1])
        pool.release(on_left)
        pool.release(on_right)
    assert pool.stats().reused == 4 and pool.stats().created == 2
