"""Training replays decode their roles in step: results come in one order, however the audio was cut."""

from __future__ import annotations

import numpy as np
import pytest

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import ScriptedRecognizer
from assist.live.lockstep import decode_in_step, finish_in_step, step_samples

RATE = 16000
AGENT = [[("hello", 0.2, 0.6)], [("goodbye", 2.0, 2.4)]]
CALLER = [[("yes", 0.3, 0.5), ("please", 0.5, 0.9)]]


def _order(cuts: list[int]) -> list[tuple[int, str, bool]]:
    decoders = [ChannelDecoder(ScriptedRecognizer(script, RATE), RATE) for script in (AGENT, CALLER)]
    audio = np.zeros(3 * RATE, np.int16)
    out = []
    first = 0
    for end in [*cuts, audio.size]:
        chunks = [audio[first:end], audio[first:end]]
        out += decode_in_step(decoders, chunks, first, step_samples(RATE))
        first = end
    out += finish_in_step(decoders)
    return [(role, h.text, h.final) for role, hyps in out for h in hyps]


def test_the_order_of_results_depends_on_the_audio_only() -> None:
    whole = _order([])
    assert whole == _order([1234, 5000, 5001, 30_000]) == _order(list(range(700, 3 * RATE, 700)))
    finals = [(role, text) for role, text, final in whole if final]
    assert finals == [(0, "hello"), (1, "yes please"), (0, "goodbye")]  # in call time, role by role


def test_every_role_covers_the_same_samples() -> None:
    decoders = [ChannelDecoder(ScriptedRecognizer(AGENT, RATE), RATE) for _ in range(2)]
    with pytest.raises(ValueError):
        decode_in_step(decoders, [np.zeros(10, np.int16), np.zeros(9, np.int16)], 0, step_samples(RATE))
