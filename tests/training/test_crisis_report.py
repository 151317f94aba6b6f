"""A crisis call is judged by crisis criteria (assist/training/crisis.py, data crisis.toml)."""

from __future__ import annotations

import json
from pathlib import Path

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.events import Event, Transcript
from assist.training.report import build_report
from assist.training.report_text import render_text

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "data" / "scenarios"


def events_of(name: str, analyzer: Analyzer) -> list[Event]:
    """The scenario's finals through the live prompt logic, as the pipeline would publish them."""
    live = LiveAssist(f"c-{name}", "a1", analyzer, context_factory=CallContext)
    out: list[Event] = []
    counters = {"agent": 0, "caller": 0}
    for raw in (SCENARIOS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(raw)
        uid = f"{line['role']}-{counters[line['role']]}"
        counters[line["role"]] += 1
        t = Transcript(f"c-{name}", line["role"], uid, True, line["text"], line["start"], line["end"])
        out.append(t)
        out.extend(live.on_transcript(t))
    return out


def without(events: list[Event], role: str, words: str) -> list[Event]:
    """The call without the final lines of ``role`` containing ``words``."""
    return [e for e in events
            if not (isinstance(e, Transcript) and e.role == role and words in e.text.replace(" ", ""))]


def test_suicide_call_is_judged_by_crisis_criteria() -> None:
    report = build_report(without(events_of("suicide", Analyzer.load()), "agent", "您别着急"))
    assert report.crisis is not None and "12356" in report.crisis.numbers
    done = {i.item: i.done for i in report.crisis.items}
    assert done == {"情绪承接": True, "稳住来电人": True, "询问位置": True, "转接处置": True}
    # "我能感受到您现在很难受…您现在在哪个位置" is credited as the crisis's 情绪承接; the routine three
    # steps (责任表态, 行动承诺 with its 办结时限) are not asked of a crisis call
    first = next(i for i in report.crisis.items if i.item == "情绪承接")
    assert first.done and "感受到" in (first.said or "")
    assert report.empathy.steps == () and report.empathy.emotion is not None
    # not marked down for the routine closing or a 办结时限
    assert not any("结束语" in s or "行动承诺" in s or "办结" in s for s in report.suggestions)
    text = render_text(report)
    assert "危急处置" in text and "××" not in text
    assert report.to_dict()["crisis"]["items"][2]["item"] == "询问位置"


def test_missing_crisis_steps_are_suggested_with_the_calls_number() -> None:
    analyzer = Analyzer.load()
    report = build_report(without(events_of("fire", analyzer), "agent", "119"))
    assert report.crisis is not None
    missing = [i for i in report.crisis.items if not i.done]
    # the operator asked where the caller is, but neither took up the fear nor transferred
    assert [i.item for i in missing] == ["情绪承接", "稳住来电人", "转接处置"]
    assert "119" in missing[-1].expected
    assert any("危急来电缺少「转接处置」" in s for s in report.suggestions)


def test_routine_call_has_no_crisis_section() -> None:
    report = build_report(events_of("consumer-dispute", Analyzer.load()))
    assert report.crisis is None and report.to_dict()["crisis"] is None
