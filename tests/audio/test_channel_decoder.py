"""ChannelDecoder: resampling, gating and the mapping of recognizer time back to call time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis, ScriptedRecognizer
from assist.audio.resample import StreamResampler
from assist.audio.vad import GateConfig
from tests.support.signals import noise, tone

MODEL_RATE = 16000


def call_audio(rate: int) -> np.ndarray:
    """Quiet line, speech-like bursts at 2.0-3.0 s and 6.0-7.0 s, 9 s in all."""
    return np.concatenate(
        [
            noise(2.0, rate),
            tone(1.0, rate, dbfs=-20),
            noise(3.0, rate, seed=1),
            tone(1.0, rate, dbfs=-20, freq=300.0),
            noise(2.0, rate, seed=2),
        ]
    )


def decode(decoder: ChannelDecoder, x: np.ndarray, chunk_s: float = 0.1) -> list[tuple[float, list[Hypothesis]]]:
    """Feed in chunks; returns (call time fed so far, hypotheses of that call)."""
    n = round(decoder.input_rate * chunk_s)
    calls = []
    for i in range(0, len(x), n):
        calls.append((min(i + n, len(x)) / decoder.input_rate, decoder.feed(x[i : i + n])))
    calls.append((len(x) / decoder.input_rate, decoder.finish()))
    return calls


def finals(calls: list[tuple[float, list[Hypothesis]]]) -> list[Hypothesis]:
    return [h for _, hyps in calls for h in hyps if h.final]


# Recognizer time: segment 1 is fed as [1.7 s pre-roll start .. 3.5 s hangover end] = 1.8 s,
# segment 2 follows at recognizer time 1.8 s (call 5.7 s).
GATED_SCRIPT = [[("甲", 0.35, 0.8), ("乙", 0.9, 1.25)], [("丙", 2.3, 2.8)]]


@pytest.mark.parametrize("input_rate", [16000, 8000])
def test_gated_times_are_call_times(input_rate: int) -> None:
    rec = ScriptedRecognizer(GATED_SCRIPT, MODEL_RATE, final_delay=60.0)  # finals only by flush
    decoder = ChannelDecoder(rec, input_rate, GateConfig())
    calls = decode(decoder, call_audio(input_rate))
    first, second = finals(calls)
    assert first.text == "甲 乙" and second.text == "丙"
    tol = 0.05
    assert [w.start for w in first.words] == pytest.approx([2.05, 2.6], abs=tol)
    assert [w.end for w in first.words] == pytest.approx([2.5, 2.95], abs=tol)
    assert (second.start, second.end) == pytest.approx((6.2, 6.7), abs=tol)
    # the first utterance is finalised when its segment ends, long before the next one
    when = next(t for t, hyps in calls if first in hyps)
    assert 3.4 <= when <= 3.8
    stats = decoder.stats
    assert stats.segments == 2
    assert stats.audio_in_s == pytest.approx(9.0, abs=1e-3)
    assert stats.audio_decoded_s == pytest.approx(2 * 1.8, abs=0.1)
    assert stats.decode_cpu_s >= 0.0


def test_without_gate_recognizer_time_is_call_time() -> None:
    script = [[("a", 0.5, 0.9), ("b", 1.0, 1.4)], [("c", 7.1, 7.5)]]
    decoder = ChannelDecoder(ScriptedRecognizer(script, MODEL_RATE), 8000, None)
    calls = decode(decoder, call_audio(8000))
    got = [(w.word, round(w.start, 3), round(w.end, 3)) for h in finals(calls) for w in h.words]
    assert got == [("a", 0.5, 0.9), ("b", 1.0, 1.4), ("c", 7.1, 7.5)]
    assert decoder.stats.audio_decoded_s == pytest.approx(9.0, abs=0.01)
    assert decoder.stats.segments == 1


def test_partials_come_before_their_final_and_times_are_monotonic() -> None:
    decoder = ChannelDecoder(ScriptedRecognizer(GATED_SCRIPT, MODEL_RATE), 16000, GateConfig())
    hyps = [h for _, hs in decode(decoder, call_audio(16000)) for h in hs]
    kinds = [(h.final, h.text) for h in hyps]
    assert kinds.index((False, "甲")) < kinds.index((True, "甲 乙"))
    for h in hyps:
        times = [t for w in h.words for t in (w.start, w.end)]
        assert times == sorted(times)
        assert h.start == h.words[0].start and h.end == h.words[-1].end


@settings(max_examples=25, deadline=None)
@given(
    chunk_ms=st.integers(min_value=5, max_value=700),
    words=st.lists(st.floats(min_value=0.05, max_value=1.5), min_size=1, max_size=12),
    gated=st.booleans(),
)
def test_word_times_stay_inside_the_audio_and_increase(chunk_ms: int, words: list[float], gated: bool) -> None:
    """Whatever the script (even words past the end of the audio) and chunking, times are sane."""
    t, script_words = 0.1, []
    for i, length in enumerate(words):
        script_words.append((f"w{i}", t, t + length))
        t += length + 0.05
    x = call_audio(8000)[: 8000 * 4]  # 4 s: later words run past the end
    decoder = ChannelDecoder(ScriptedRecognizer([script_words], MODEL_RATE), 8000, GateConfig() if gated else None)
    hyps = [h for _, hs in decode(decoder, x, chunk_s=chunk_ms / 1000) for h in hs]
    last_final_end = 0.0
    for h in hyps:
        times = [tt for w in h.words for tt in (w.start, w.end)]
        assert times == sorted(times)
        assert all(0.0 <= tt <= 4.0 + 1e-9 for tt in times)
        if h.final:
            assert h.start >= last_final_end - 1e-9
            last_final_end = h.end


def test_feed_after_finish_is_an_error_and_finish_is_idempotent() -> None:
    decoder = ChannelDecoder(ScriptedRecognizer([], MODEL_RATE), 16000)
    decoder.feed(np.zeros(1600, np.int16))
    assert decoder.finish() == []
    assert decoder.finish() == []
    with pytest.raises(RuntimeError):
        decoder.feed(np.zeros(10, np.int16))


def test_resampled_audio_reaches_the_recognizer_whole() -> None:
    """At 8 kHz the recognizer gets the 16 kHz stream: same duration, nothing lost or doubled."""

    class Recorder(ScriptedRecognizer):
        def __init__(self) -> None:
            super().__init__([], MODEL_RATE)
            self.received = bytearray()

        def accept(self, pcm: bytes) -> list[Hypothesis]:
            self.received += pcm
            return super().accept(pcm)

    x = call_audio(8000)
    rec = Recorder()
    decode(ChannelDecoder(rec, 8000), x, chunk_s=0.02)
    got = np.frombuffer(bytes(rec.received), "<i2")
    expected = StreamResampler(8000, MODEL_RATE)
    reference = np.concatenate([expected.process(x[i : i + 160]) for i in range(0, len(x), 160)] + [expected.flush()])
    assert np.array_equal(got, reference)
