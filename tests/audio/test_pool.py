"""The recognizer pool: bounds, reuse, trimming (fake recognizers) and no carry-over between calls (real Vosk)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.channel import ChannelDecoder
from assist.audio.pool import PoolConfig, RecognizerPool, load_warmup_audio, pool_for
from assist.audio.recognizer import Hypothesis, ScriptedFactory, VoskModelFactory
from assist.audio.vad import GateConfig

Speak = Callable[[str, int], npt.NDArray[np.int16]]
RATE = 16000


class FakeRecognizer:
    sample_rate = RATE

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.fed = 0
        self.resets = 0

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self.fed += len(pcm) // 2
        return []

    def flush(self) -> list[Hypothesis]:
        return []

    def reset(self) -> None:
        self.resets += 1
        self.fed = 0


class FakeFactory:
    name = "fake"
    sample_rate = RATE

    def __init__(self) -> None:
        self.made: list[FakeRecognizer] = []

    def create(self) -> FakeRecognizer:
        self.made.append(FakeRecognizer(len(self.made)))
        return self.made[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(config: PoolConfig, audio: bytes | None = None) -> tuple[RecognizerPool, FakeFactory, Clock]:
    factory, clock = FakeFactory(), Clock()
    return RecognizerPool(factory, config, warm_audio=audio, clock=clock), factory, clock


def test_warm_up_builds_and_feeds_the_configured_number() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=3, max_idle=4), audio=b"\x01\x00" * 4800)
    pool.warm_up()
    assert len(factory.made) == 3
    assert all(r.resets == 1 and r.fed == 0 for r in factory.made)  # fed the warm-up audio, then reset
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.created) == (3, 0, 3)


def test_grows_on_demand_and_reuses_the_most_recent_after_a_reset() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=1, max_idle=4))
    pool.warm_up()
    a, b = pool.create(), pool.create()  # one warm, one built on demand
    assert len(factory.made) == 2 and pool.stats().in_use == 2
    assert isinstance(b, FakeRecognizer)
    b.accept(b"\x00\x00" * 100)
    pool.release(a)
    pool.release(b)
    again = pool.create()
    assert again is b and b.resets == 1 and b.fed == 0  # reset before it serves again
    assert pool.stats().reused == 1


def test_bounded_by_max_idle_and_ignores_recognizers_it_did_not_hand_out() -> None:
    pool, _, _ = make_pool(PoolConfig(warm=0, max_idle=2))
    held = [pool.create() for _ in range(4)]
    for recognizer in held:
        pool.release(recognizer)
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.dropped) == (2, 0, 2)
    pool.release(FakeRecognizer(99))  # not the pool's
    pool.release(held[0])  # released twice
    assert pool.stats().idle == 2


def test_shrinks_to_the_warm_ones_after_the_idle_timeout() -> None:
    pool, _, clock = make_pool(PoolConfig(warm=1, max_idle=8, idle_seconds=60))
    pool.warm_up()
    held = [pool.create() for _ in range(5)]
    for recognizer in held:
        pool.release(recognizer)
    assert pool.stats().idle == 5
    clock.now += 30
    assert pool.trim() == 0
    clock.now += 31
    assert pool.trim() == 4
    assert pool.stats().idle == 1


def test_a_failed_call_discards_its_recognizer() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=0, max_idle=2))
    broken = pool.create()
    pool.discard(broken)
    pool.release(broken)
    assert pool.stats().idle == 0 and pool.create() is not broken and len(factory.made) == 2


def test_only_factories_that_reset_are_pooled() -> None:
    assert pool_for(ScriptedFactory([[("a", 0.0, 0.1)]]), PoolConfig()) is None


def test_pool_config_rejects_warm_above_max() -> None:
    with pytest.raises(ValueError):
        PoolConfig(warm=3, max_idle=2)


def test_the_shipped_warm_up_speech_loads_at_the_model_rate() -> None:
    audio = load_warmup_audio(RATE)
    samples = np.frombuffer(audio, dtype="<i2")
    assert 8.0 < samples.size / RATE < 12.0
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300  # speech, not silence


# ---------------------------------------------------------------- real Vosk


def _decode(decoder: ChannelDecoder, audio: npt.NDArray[np.int16], *, finish: bool = True) -> list[Hypothesis]:
    out: list[Hypothesis] = []
    for i in range(0, audio.size, RATE // 10):
        out += decoder.feed(audio[i : i + RATE // 10])
    return out + (decoder.finish() if finish else [])


def _call(speak: Speak, sentences: list[str]) -> npt.NDArray[np.int16]:
    gap = np.zeros(RATE // 2, np.int16)
    return np.concatenate([part for s in sentences for part in (gap, speak(s, RATE))] + [gap])


def _words(hyps: list[Hypothesis]) -> set[str]:
    return {w for h in hyps for w in h.text.split()}


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.parametrize("first_call_ends", [True, False], ids=["ended", "cut-mid-utterance"])
def test_nothing_of_one_call_reaches_the_next_through_a_pooled_recognizer(
    korean_factory: VoskModelFactory, korean_speech: Speak, first_call_ends: bool
) -> None:
    first = _call(korean_speech, ["안녕하세요 오늘 날씨가 정말 좋습니다", "서울은 한국의 수도입니다"])
    second = _call(korean_speech, ["물을 마시고 싶어요", "저는 학교에 갑니다"])
    # the second call decoded by fresh recognizers (twice: espeak Korean transcripts vary run to run)
    fresh = [_decode(ChannelDecoder(korean_factory.create(), RATE, gate=GateConfig()), second) for _ in range(2)]
    fresh_words = _words(fresh[0]) | _words(fresh[1])

    pool = RecognizerPool(korean_factory, PoolConfig(warm=0, max_idle=1))
    recognizer = pool.create()
    # the first call: whole, or dropped in the middle of a sentence (no final, no flush)
    heard_first = _decode(ChannelDecoder(recognizer, RATE, gate=GateConfig()),
                          first if first_call_ends else first[: first.size * 2 // 3], finish=first_call_ends)
    pool.release(recognizer)
    reused = pool.create()
    assert reused is recognizer
    heard = _decode(ChannelDecoder(reused, RATE, gate=GateConfig()), second)

    only_first = _words(heard_first) - fresh_words
    assert only_first, "the two calls must be told apart by their words"
    assert not _words(heard) & only_first  # no word of the first call, in partials or finals
    finals = [h for h in heard if h.final]
    assert finals and finals[0].start < 1.0  # times start again at the call's start
    assert max(h.end for h in finals) <= second.size / RATE + 1e-6
    assert _words(heard) & fresh_words  # and the second call itself is heard
