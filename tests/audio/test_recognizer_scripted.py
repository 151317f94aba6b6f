"""The scripted recognizer (test double of the server tests) behaves like a streaming recognizer."""

from __future__ import annotations

import pytest

from assist.audio.recognizer import Hypothesis, ScriptedFactory, ScriptedRecognizer

RATE = 16000
SCRIPT = [[("你好", 0.2, 0.6), ("请问", 0.7, 1.0)], [("投诉", 2.0, 2.4)]]


def feed_seconds(rec: ScriptedRecognizer, seconds: float, step: float = 0.1) -> list[Hypothesis]:
    out: list[Hypothesis] = []
    for _ in range(round(seconds / step)):
        out += rec.accept(bytes(2 * round(step * RATE)))
    return out


def test_partials_grow_then_the_final_comes_after_the_delay() -> None:
    rec = ScriptedRecognizer(SCRIPT, RATE)
    hyps = feed_seconds(rec, 1.2)
    assert [(h.final, h.text) for h in hyps] == [(False, "你好"), (False, "你好 请问")]
    hyps = feed_seconds(rec, 0.2)  # 1.4 s >= 1.0 + 0.3
    assert [(h.final, h.text, h.start, h.end) for h in hyps] == [(True, "你好 请问", 0.2, 1.0)]
    assert [w.word for w in hyps[0].words] == ["你好", "请问"]


def test_flush_finalises_the_words_begun_and_keeps_the_rest() -> None:
    rec = ScriptedRecognizer(SCRIPT, RATE)
    feed_seconds(rec, 0.8)  # inside 请问
    hyps = rec.flush()
    assert len(hyps) == 1 and hyps[0].final
    assert hyps[0].text == "你好 请问"
    assert hyps[0].end == pytest.approx(0.8)  # clipped to the audio fed
    assert rec.flush() == []  # nothing new: no empty final
    rest = feed_seconds(rec, 2.0)
    assert [(h.final, h.text) for h in rest] == [(False, "投诉"), (True, "投诉")]


def test_flush_before_any_word_returns_nothing() -> None:
    rec = ScriptedRecognizer(SCRIPT, RATE)
    feed_seconds(rec, 0.1)
    assert rec.flush() == []


def test_one_big_chunk_gives_all_finals_in_order() -> None:
    rec = ScriptedRecognizer(SCRIPT, RATE)
    hyps = rec.accept(bytes(2 * 3 * RATE))
    assert [(h.final, h.text) for h in hyps] == [(True, "你好 请问"), (True, "投诉")]


def test_it_is_deterministic() -> None:
    runs = [feed_seconds(ScriptedRecognizer(SCRIPT, RATE), 3.0, step=0.07) for _ in range(2)]
    assert runs[0] == runs[1]


def test_factory_gives_script_i_to_the_i_th_recognizer_and_cycles() -> None:
    factory = ScriptedFactory([[[("a", 0.0, 0.1)]], [[("b", 0.0, 0.1)]]], sample_rate=8000)
    texts = [r.accept(bytes(2 * 8000))[-1].text for r in (factory.create() for _ in range(3))]
    assert texts == ["a", "b", "a"]
    assert factory.sample_rate == 8000 and factory.name == "scripted"


def test_bad_scripts_are_rejected() -> None:
    with pytest.raises(ValueError):
        ScriptedRecognizer([[("a", 1.0, 0.5)]])
    with pytest.raises(ValueError):
        ScriptedRecognizer([[("a", 1.0, 1.5)], [("b", 0.5, 0.6)]])
    with pytest.raises(ValueError):
        ScriptedFactory([])
    with pytest.raises(ValueError):
        ScriptedRecognizer(SCRIPT).accept(b"\x00")
