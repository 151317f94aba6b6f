"""The same recording gives the same transcript however its bytes arrive (training replays are repeatable)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis, VoskModelFactory
from assist.audio.vad import GateConfig

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def decode(factory: VoskModelFactory, audio: npt.NDArray[np.int16], rate: int, cuts: list[int]) -> list[Hypothesis]:
    decoder = ChannelDecoder(factory.create(), rate, gate=GateConfig(enabled=True))
    hyps: list[Hypothesis] = []
    prev = 0
    for cut in [*cuts, len(audio)]:
        hyps += decoder.feed(audio[prev:cut])
        prev = cut
    return hyps + decoder.finish()


@pytest.mark.parametrize("rate", [16000, 8000])
def test_transcript_does_not_depend_on_how_audio_is_split(
    korean_factory: VoskModelFactory, korean_speech: Callable[[str, int], npt.NDArray[np.int16]], rate: int
) -> None:
    speech = korean_speech("안녕하세요 주민센터에 문의드립니다", rate)
    gap = np.zeros(rate, dtype=np.int16)
    audio = np.concatenate((gap, speech, gap, speech, gap))
    rng = np.random.default_rng(7)
    even = list(range(rate // 10, len(audio), rate // 10))  # 100 ms network frames
    ragged = sorted({int(c) for c in rng.integers(1, len(audio), 60)})  # odd sizes, as coalesced queues give
    a = decode(korean_factory, audio, rate, even)
    b = decode(korean_factory, audio, rate, ragged)
    finals_a = [(h.text, [(w.word, w.start, w.end) for w in h.words]) for h in a if h.final and h.text]
    finals_b = [(h.text, [(w.word, w.start, w.end) for w in h.words]) for h in b if h.final and h.text]
    assert finals_a, "the Korean model recognised nothing"
    assert finals_a == finals_b
