"""The pure card helpers of live assist (assist/live/card_build.py)."""

from __future__ import annotations

from assist.live.card_build import found_span, lapse_card, steady_on_partial
from assist.nlp.banned import BannedHit
from assist.protocol.enums import Emotion
from assist.protocol.events import Span as Span
from assist.protocol.payloads import EmotionPayload, KnowledgePayload

TEXT = "这个估计问题不大您放心应该很快就能办好"


def hit(rule: str, words: str, suggestion: str) -> BannedHit:
    start = TEXT.index(words)
    return BannedHit(rule, "模糊承诺", Span(words, start, start + len(words)), suggestion)


def test_one_utterance_with_two_banned_phrases_is_one_lapse_card() -> None:
    card = lapse_card([hit("guess", "估计问题不大", "按时限答复"), hit("soon", "应该很快", "按时限答复")], TEXT)
    assert card is not None
    payload, span = card
    assert payload.said == "估计问题不大…应该很快" and payload.rule == "guess+soon"
    assert payload.suggestion == "按时限答复"  # the same wording once
    assert span is not None and TEXT[span.start:span.end] == span.text and span.text.startswith("估计")
    assert span.text.endswith("应该很快")
    assert lapse_card([], TEXT) is None


def test_a_partial_changes_a_card_only_on_a_meaningful_change() -> None:
    def kb(score: float, entry: str = "k1") -> KnowledgePayload:
        return KnowledgePayload(id=entry, question="q", answer="a", score=score, source="s", updated="2026-12-01")

    assert steady_on_partial(kb(0.9), kb(0.76))  # never falls while the words come
    assert steady_on_partial(kb(0.9), kb(0.93))  # nor creeps up
    assert not steady_on_partial(kb(0.9), kb(0.96))
    assert not steady_on_partial(kb(0.9), kb(0.5, "k2"))  # another answer is a change
    assert steady_on_partial(EmotionPayload(label=Emotion.ANGER, intensity=0.6),
                             EmotionPayload(label=Emotion.ANXIETY, intensity=0.6))  # the label waits for the final
    assert not steady_on_partial(EmotionPayload(label=Emotion.ANGER, intensity=0.4),
                                 EmotionPayload(label=Emotion.ANGER, intensity=0.7))


def test_found_span_marks_the_words_in_the_transcript() -> None:
    span = found_span("我被车撞了腿流血", "流血")
    assert span is not None and (span.start, span.end) == (6, 8)
    assert found_span("我被车撞了", "") is None
