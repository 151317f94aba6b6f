"""A continuing crisis is one supervisor alert (trial 3, problem 8): e3's seven re-raises of the toddler on
the balcony were seven pinned alerts, and e6's crisis came back as a new pin after it was acknowledged.
Re-raises of the same call's crisis (same kind of danger, no new emergency number) update the one alert
(its count and last time) and keep its acknowledgement; a new kind of danger or an escalation (a new
emergency number) is a new alert."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from assist.live.alerts import AlertBook, CallAlerts
from assist.nlp.analysis import EmotionReading
from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import AlertKind, Emotion, PromptKind, Role
from assist.protocol.events import Alert, Span, Transcript
from assist.protocol.payloads import CriticalPayload, PromptData
from tests.support.word_replay import call_lines, replay_words

TRIAL3 = Path(__file__).resolve().parents[1] / "data" / "trial3"


def _crisis(alerts: CallAlerts, n: int, reason: str, numbers: tuple[str, ...], kind: str | None) -> list[Alert]:
    t = Transcript("c1", "caller", f"u{n}", True, "……", float(n * 10), float(n * 10 + 5))
    wanted: dict[tuple[PromptKind, str], tuple[PromptData, Span | None]] = {
        (PromptKind.CRITICAL, "0"): (CriticalPayload(reason=reason, referrals=numbers), None)}
    return alerts.raise_for(t, set(), None, wanted, kind)


def test_e3_seven_reraises_are_one_alert_with_its_count() -> None:
    analyzer = Analyzer.load(learned=True)
    _, turns = replay_words(analyzer, "e3", call_lines(TRIAL3 / "e3-balcony-child.jsonl"))
    sent = [e for _, _, events in turns for e in events if isinstance(e, Alert) and e.kind == AlertKind.CRITICAL]
    assert len(sent) >= 5  # re-raised on (nearly) every caller line, as in the trial
    assert {a.alert_id for a in sent} == {sent[0].alert_id}
    assert [a.count for a in sent] == list(range(1, len(sent) + 1))
    assert sent[-1].last_time is not None and sent[-1].last_time > sent[0].audio_time
    assert sent[-1].audio_time == sent[0].audio_time  # first raised then; last seen later


def test_acknowledged_crisis_reraised_stays_acknowledged_in_the_book() -> None:
    clock = iter(range(1000, 2000)).__next__
    alerts = CallAlerts("c1", "a1", lambda: float(clock()))
    book = AlertBook()
    first = _crisis(alerts, 1, "可能有暴力风险(模型判断)", ("110",), "暴力")
    book.add(first[0])
    acked = book.acknowledge(first[0].alert_id, "班长李", 1500.0, "已介入")
    assert acked is not None
    alerts.acknowledge(first[0].alert_id, "班长李", 1500.0)
    again = _crisis(alerts, 2, "可能有暴力风险(模型判断)", ("110",), "暴力")
    assert [a.alert_id for a in again] == [first[0].alert_id]
    assert again[0].acknowledged_by == "班长李" and again[0].count == 2
    # another node's copy without the acknowledgement does not reopen it
    book.add(dataclasses.replace(again[0], acknowledged_by=None, acknowledged_at=None))
    kept = book.get(first[0].alert_id)
    assert kept is not None and kept.acknowledged_by == "班长李" and kept.ack_note == "已介入" and kept.count == 2


def test_a_new_kind_or_a_new_number_pins_again() -> None:
    alerts = CallAlerts("c1", "a1", lambda: 1000.0)
    first = _crisis(alerts, 1, "可能有暴力风险(模型判断)", ("110",), "暴力")[0]
    same = _crisis(alerts, 2, "有人持刀威胁", ("110",), "暴力")[0]
    assert same.alert_id == first.alert_id and same.message == "危机信号:有人持刀威胁"
    escalated = _crisis(alerts, 3, "有人持刀威胁", ("110", "120"), "暴力")[0]
    assert escalated.alert_id != first.alert_id and escalated.count == 1
    assert _crisis(alerts, 4, "有人持刀威胁", ("110",), "暴力")[0].alert_id == escalated.alert_id
    other = _crisis(alerts, 5, "可能有自伤自杀风险(模型判断)", ("110", "12356"), "自伤自杀")[0]
    assert other.alert_id not in {first.alert_id, escalated.alert_id}


def test_one_line_read_as_anger_in_a_disappointed_call_is_no_escalation() -> None:
    """Trial 6, L6: 包工头…人跑了电话也不接 read as 愤怒 0.8 raised 来电人情绪升级 in a call whose emotion (the meter's)
    stayed 失望; the call's emotion turned 愤怒 raises it, and so do the words' own signs whatever the emotion."""
    analyzer = Analyzer.load()
    line = analyzer.analyze(Role.CALLER, "城南新区那个锦绣家园二期包工头姓刘现在人跑了电话也不接")
    angry = dataclasses.replace(line, emotion=EmotionReading(Emotion.ANGER, 0.8), escalation=())
    t = Transcript("c1", "caller", "u4", True, line.text, 16.9, 23.3)
    assert CallAlerts("c1", "a1", lambda: 1000.0).raise_for(t, set(), angry, {}, None, Emotion.DISAPPOINTMENT) == []
    raised = CallAlerts("c1", "a1", lambda: 1000.0).raise_for(t, set(), angry, {}, None, Emotion.ANGER)
    assert [a.kind for a in raised] == [AlertKind.ESCALATION]
    furious = dataclasses.replace(angry, emotion=EmotionReading(Emotion.ANGER, 0.95))  # turned furious at once
    raised = CallAlerts("c1", "a1", lambda: 1000.0).raise_for(t, set(), furious, {}, None, Emotion.ANXIETY)
    assert [a.kind for a in raised] == [AlertKind.ESCALATION]
    petition = analyzer.analyze(Role.CALLER, "你们再不管我就去北京上访")
    assert petition.escalation
    signs = CallAlerts("c1", "a1", lambda: 1000.0).raise_for(t, set(), petition, {}, None, Emotion.DISAPPOINTMENT)
    assert AlertKind.ESCALATION in [a.kind for a in signs]
