"""The training report of the trial calls (tests/data/trial/*.jsonl) that a new user replayed: each
finding of the trial is checked here, on the calls run through live assist with the learned path as the
server runs them (docs/training.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.crisis_rules import CrisisRules
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.referral import ReferralTable
from assist.protocol.enums import AlertKind, Severity
from assist.protocol.events import Alert, CallState, Event, Transcript
from assist.training.crisis import Said, judge
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from tests.support.samples import NOISE
from tests.support.word_replay import finals_through_live as run

TRIAL = Path(__file__).resolve().parents[1] / "data" / "trial"


def trial(name: str, analyzer: Analyzer) -> list[Event]:
    """The trial call's finals through live assist with the learned path, via their wire JSON."""
    return run([json.loads(raw) for raw in (TRIAL / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()],
               analyzer)


@pytest.fixture(scope="module")
def table() -> ReferralTable:
    return ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml")


# ---------------------------------------------------------------- 1. words for the caller


@pytest.mark.parametrize(("name", "number", "crisis"), [("c2-wages", "12333", False), ("c1b-amber", "12356", True)])
def test_a_missed_referral_is_suggested_in_the_cards_words_for_the_caller(
        name: str, number: str, crisis: bool, analyzer: Analyzer, rules: TrainingRules, table: ReferralTable) -> None:
    report = build_report(trial(name, analyzer), rules)
    offer = next(r for r in report.referrals if r.number == number)
    assert not offer.given
    # the wording live assist put on the card: for one of the call's crisis numbers, its crisis wording (三方转接)
    row = table.get(number, crisis=crisis)
    assert row is not None and offer.script == row.script
    suggestion = next(s for s in report.suggestions if f"转介 {number}" in s)
    assert suggestion.endswith(f"可以说:{row.script}") and offer.reason not in suggestion
    text = render_text(report)
    assert f"可以说:{row.script}" in text and "12345受理" not in text and "请立即关注并报警求助,可拨打" not in text
    assert report.to_dict()["referrals"][-1]["script"] == report.referrals[-1].script


# ---------------------------------------------------------------- 2. one crisis episode, listed once


def alert(n: int, at: float, message: str, kind: AlertKind = AlertKind.CRITICAL) -> Alert:
    return Alert(f"al-{n}", "c1", "a1", kind, Severity.CRITICAL if kind is AlertKind.CRITICAL else Severity.WARNING,
                 message, at, None, 100.0 + at)


def test_the_same_alert_raised_again_is_listed_once_with_its_repeats(rules: TrainingRules) -> None:
    model = "危机信号:可能有自伤自杀风险(模型判断)"
    words = "危机信号:来电人流露轻生/自伤念头,请立即关注并转介心理援助"
    events: list[Event] = [Transcript("c1", "caller", "caller-0", True, "活着 也 没 什么 意思", 6.4, 10.6)]
    events += [alert(i, at, model) for i, at in enumerate((10.6, 24.4, 38.8, 53.0))]
    events += [alert(4, 67.6, words),
               alert(5, 70.0, "来电人情绪升级(绝望 1.0),建议班长关注或介入", AlertKind.ESCALATION)]
    report = build_report(events, rules)
    assert [(a.time, a.message, a.repeats) for a in report.critical] == [(10.6, model, 3), (67.6, words, 0)]
    assert len(report.alerts) == 3  # the changed reason and the other kind stay separate
    text = render_text(report)
    assert text.count("可能有自伤自杀风险") == 1 and f"[00:10] {model}(又 3 次)" in text
    assert report.to_dict()["critical"][0] == {"time": 10.6, "message": model, "repeats": 3}


# ---------------------------------------------------------------- 3. each crisis item by words that do it


def test_keeping_the_caller_on_the_line_is_not_emotional_acknowledgement(analyzer: Analyzer,
                                                                          rules: TrainingRules) -> None:
    report = build_report(trial("c1b-amber", analyzer), rules)
    assert report.crisis is not None
    done = {i.item: (i.done, i.time) for i in report.crisis.items}
    # "请您先不要挂电话我一直陪着您您在哪个小区我马上三方转接一一零" keeps the caller, asks where, transfers
    assert done == {"情绪承接": (False, None), "稳住来电人": (True, 55.0), "询问位置": (True, 55.0),
                    "转接处置": (True, 55.0)}
    crisis = CrisisRules.load()
    lines = ["我一直在这陪着您您能先从边上往里走几步吗", "我不挂电话民警马上就到", "这个归在哪个部门管"]
    said = [Said(t, t, 10.0 + i, 11.0 + i) for i, t in enumerate(lines)]
    check = judge(crisis, 10.0, ["110"], said)
    assert {i.item: i.said for i in check.items} == {"情绪承接": None, "稳住来电人": lines[0], "询问位置": None,
                                                     "转接处置": None}
    felt = judge(crisis, 0.0, ["110"], [Said("听起来您最近压力很大", "听起来您最近压力很大", 1.0, 2.0),
                                        Say := Said("请告诉我是哪个小区几号楼", "请告诉我是哪个小区几号楼", 3.0, 4.0)])
    assert {i.item: i.said for i in felt.items if i.done} == {"情绪承接": "听起来您最近压力很大", "询问位置": Say.text}


# ---------------------------------------------------------------- 4 and 5. the crisis standard, kept


def test_a_crisis_call_is_not_judged_on_the_closing_or_the_routine_steps(analyzer: Analyzer,
                                                                         rules: TrainingRules) -> None:
    for name in ("c1b-amber", "c1-roof"):
        report = build_report(trial(name, analyzer), rules)
        assert report.crisis is not None and not report.closing.judged
        assert report.empathy.emotion is not None and report.empathy.steps == ()
        text = render_text(report)
        for judged in ("✗ 结束语", "✓ 结束语", "✗ 行动承诺", "✗ 责任表态", "可以说:我非常理解", "同样焦虑"):
            assert judged not in text, (name, judged)
        assert not any("结束语" in s or "行动承诺" in s or "办结" in s or "焦虑" in s for s in report.suggestions)
        assert report.to_dict()["greetings"]["closing"]["judged"] is False
    # the suicidal caller's missing 情绪承接 is worded for a crisis (crisis.toml), not routine empathy
    report = build_report(trial("c1b-amber", analyzer), rules)
    expected = next(i.expected for i in CrisisRules.load().items if i.name == "情绪承接")
    assert f"危急来电缺少「情绪承接」;可以说:{expected}" in report.suggestions


def test_a_routine_call_is_still_judged_on_its_closing_and_steps(analyzer: Analyzer, rules: TrainingRules) -> None:
    report = build_report(trial("c2-wages", analyzer), rules)
    assert report.crisis is None and report.closing.judged and report.closing.used
    assert [s.done for s in report.empathy.steps] == [True, True, True]


# ---------------------------------------------------------------- 6. the call-level handling unit


def test_the_handling_unit_is_the_one_the_overlay_ends_on(analyzer: Analyzer, rules: TrainingRules) -> None:
    events = trial("c1b-amber", analyzer)
    last = [e for e in events if isinstance(e, CallState)][-1]
    assert last.department == "公安"
    report = build_report(events, rules)
    assert report.category is not None and (report.category.intent, report.category.department) == (
        last.intent, last.department)
    assert "承办部门:公安" in render_text(report)
    # a stored call keeps no call state: its category cards carry the same decision
    stored = [e for e in events if not isinstance(e, CallState)]
    assert build_report(stored, rules).category == report.category


def test_a_unit_the_operator_names_is_the_handling_unit_of_the_stream_and_the_stored_call(
        analyzer: Analyzer, rules: TrainingRules) -> None:
    # the caller's words placed the matter with 住建; the operator then said 此事由城管部门主办, and the
    # caller said nothing more (no new category card after it)
    lines = [json.loads(raw) for raw in NOISE.read_text(encoding="utf-8").splitlines()]
    events = run([ln for ln in lines if "电话" not in ln["text"]], analyzer)
    assert [e for e in events if isinstance(e, CallState)][-1].department == "城管"
    report = build_report(events, rules)
    assert report.category is not None and report.category.department == "城管"
    stored = [e for e in events if not isinstance(e, CallState)]  # what the store keeps
    assert build_report(stored, rules).category == report.category
