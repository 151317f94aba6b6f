"""The training report on the second new-user trial's calls (tests/data/trial2, CC0): the five ways the
trial found it judging wrongly.  Each call is checked twice: from the events the trial's live run
received (events/*.jsonl: the very cards it saw) and replayed through live assist with the shipped
model as `assist replay` runs it (its cards may change as the model does; the judgement must hold)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.decode import decode_events
from assist.protocol.enums import PromptKind
from assist.protocol.events import Event, Prompt
from assist.training.crisis import Said, judge
from assist.training.crisis_signs import UNCONFIRMED, CallerLine, CrisisSign, read_crisis
from assist.training.offers import ReferralCard, referrals
from assist.training.report import build_report
from assist.training.report_shape import TrainingReport
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.training.safety import SafetyOutcome
from tests.support.word_replay import finals_through_live as run

TRIAL2 = Path(__file__).resolve().parents[1] / "data" / "trial2"


def recorded(name: str) -> list[Event]:
    """The events the trial's live run of the call received (finals, prompts, withdrawals, alerts)."""
    return decode_events([json.loads(raw) for raw in (TRIAL2 / "events" / f"{name}.jsonl").read_text(
        encoding="utf-8").splitlines()])


def replayed(name: str, analyzer: Analyzer) -> list[Event]:
    lines = [json.loads(raw) for raw in (TRIAL2 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return run(lines, analyzer)


def line(name: str, role: str, contains: str) -> tuple[str, float, float]:
    """A line of the trial's script: its text without spaces, start and end."""
    for raw in (TRIAL2 / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        text = row["text"].replace(" ", "")
        if row["role"] == role and contains in text:
            return text, float(row["start"]), float(row["end"])
    raise AssertionError(f"{name}: no {role} line with {contains}")


def both(name: str, analyzer: Analyzer, rules: TrainingRules) -> list[TrainingReport]:
    return [build_report(recorded(name), rules), build_report(replayed(name, analyzer), rules)]


# ---------------------------------------------------------------- 1. the location asked in other words


def test_asking_the_road_section_is_asking_the_location(analyzer: Analyzer, rules: TrainingRules) -> None:
    text, start, _ = line("d2-rider", "agent", "什么路段")
    for report in both("d2-rider", analyzer, rules):
        assert report.crisis is not None and report.crisis.confirmed
        asked = next(i for i in report.crisis.items if i.item == "询问位置")
        assert asked.done and asked.time == start and asked.said == text
        assert not any("询问位置" in s for s in report.suggestions)


@pytest.mark.parametrize("words", [
    "请您注意自身安全不要站在车道上您现在在什么路段",  # d2 T7, as the trial's operator said it
    "您在哪个路口", "您现在在哪条街", "您现在在哪个村几号是几楼", "出事的地点是哪里", "您附近有什么明显的建筑",
    "请您说一下具体位置", "您在哪一栋几单元", "您在什么地方"])
def test_the_ways_operators_ask_where_are_credited(words: str) -> None:
    check = judge(CrisisRules.load(), 0.0, ["120"], [Said(words, words, 1.0, 2.0)])
    assert {i.item: i.done for i in check.items}["询问位置"], words


@pytest.mark.parametrize("words", ["这个归在哪个部门管", "您什么地方不舒服", "您的电话号码是多少", "您几号能来办",
                                   "这两个有什么区别"])
def test_other_questions_are_not_asking_the_location(words: str) -> None:
    check = judge(CrisisRules.load(), 0.0, ["120"], [Said(words, words, 1.0, 2.0)])
    assert not {i.item: i.done for i in check.items}["询问位置"], words


# ---------------------------------------------------------------- 2. a number said before its card


def test_a_crisis_number_said_before_its_card_is_told(analyzer: Analyzer, rules: TrainingRules) -> None:
    # 0:51 "…我马上为您转接一二零同时通知一一零交警"; the 110 card came with the model's guess at 1:12
    _, start, _ = line("d2-rider", "agent", "通知一一零")
    for report in both("d2-rider", analyzer, rules):
        told = next((r for r in report.referrals if r.number == "110"), None)
        if told is not None:
            assert told.given and told.time > start
        assert not any("转介 110" in s for s in report.suggestions)
        assert "110 公安报警电话(未告知" not in render_text(report)


def test_a_number_is_told_from_the_need_or_in_the_turn_just_before_it() -> None:
    rules = CrisisRules.load()
    card = ReferralCard("caller-2", 20.0, "12333", "人力资源和社会保障咨询热线", "社保", "您可以拨打12333")
    caller = [CallerLine("caller-1", "我想问一下", 5.0), CallerLine("caller-2", "社保怎么交", 20.0)]
    just_before = [Said("社保的话可以问12333", "社保的话可以问12333", 15.0, 18.0)]
    long_before = [Said("有事可以打12333", "有事可以打12333", 1.0, 3.0)]
    after = [Said("您可以拨打12333咨询", "您可以拨打12333咨询", 25.0, 28.0)]
    by_name = [Said("可以问人力资源和社会保障咨询热线", "可以问人力资源和社会保障咨询热线", 25.0, 28.0)]
    assert referrals([card], just_before, caller, None, rules)[0].given
    assert referrals([card], after, caller, None, rules)[0].given
    assert referrals([card], by_name, caller, None, rules)[0].given
    # said before another line of the caller's, for something else: not for this need
    offer = referrals([card], long_before, caller, None, rules)[0]
    assert not offer.given and not offer.excused


# ---------------------------------------------------------------- 3. knowledge answers seen, then withdrawn


@pytest.mark.parametrize(("name", "question"), [("d3-gjj-goodbye", "公积金"), ("d5-juzhuzheng", "居住证")])
def test_an_answer_shown_then_withdrawn_is_in_the_report(name: str, question: str, analyzer: Analyzer,
                                                         rules: TrainingRules) -> None:
    reports = both(name, analyzer, rules)
    if name == "d5-juzhuzheng":
        # the trial's run withdrew it for a false crisis (two weak model signs); since trial 3 a second sign needs
        # evidence (assist/nlp/weak_signs.toml), so the replay keeps the answer: only the recorded run is checked
        kept = next(k for k in reports[1].knowledge if question in k.question)
        assert not kept.withdrawn
        reports = reports[:1]
    for report in reports:
        answer = next(k for k in report.knowledge if question in k.question)
        assert answer.withdrawn and answer.score is not None and answer.score > 0.9 and answer.answer
        text = render_text(report)
        assert "知识库答案:无" not in text and f"{answer.question} 匹配" in text and "(后被撤下)" in text
        assert report.to_dict()["knowledge"][0]["withdrawn"] is True


# ---------------------------------------------------------------- 4. a model guess the call did not confirm


def straight_to_red(name: str) -> list[Event]:
    """The recorded call without its safety cards: as live assist showed it before it asked the safety question
    first (the model's guess went straight to the red card)."""
    return [e for e in recorded(name) if not (isinstance(e, Prompt) and e.kind == PromptKind.SAFETY)]


def test_a_routine_call_with_one_model_guess_is_judged_as_routine(rules: TrainingRules) -> None:
    closing, _, _ = line("d5-juzhuzheng", "agent", "感谢您的来电")
    guess, start, _ = line("d5-juzhuzheng", "caller", "屋头那个")
    report = build_report(straight_to_red("d5-juzhuzheng"), rules)
    assert report.closing.judged and report.closing.used and report.closing.said == closing
    assert not any(s.startswith("危急来电") or "转介 110" in s or "转介 12356" in s for s in report.suggestions)
    assert report.crisis is not None and report.crisis.items == () and UNCONFIRMED in report.crisis.note
    assert {r.number: (r.given, r.excused.startswith(UNCONFIRMED)) for r in report.referrals} == {
        "110": (False, True), "12356": (False, True)}
    text = render_text(report)
    assert f"危急处置:{UNCONFIRMED}" in text and "✗ 询问位置" not in text and "✗ 转接处置" not in text
    assert report.to_dict()["crisis"]["confirmed"] is False
    # a guess of 自伤自杀 is not fully excused: judged like a safety card, and the operator did not ask
    [check] = report.safety
    assert check.card is PromptKind.CRITICAL and check.outcome is SafetyOutcome.MISSED
    assert (check.time, check.caller) == (start, guess)
    assert any("坐席没有询问来电人的安全" in s for s in report.suggestions)


def test_the_safety_question_then_the_crisis_card_is_a_second_sign(rules: TrainingRules) -> None:
    # the trial's live run asked the safety question on 急得很 and raised the crisis card on the next line:
    # two model signs, as live assist reads them (CallContext.danger_seen), so the call is judged as a crisis
    report = build_report(recorded("d5-juzhuzheng"), rules)
    assert report.crisis is not None and report.crisis.confirmed and report.crisis.items
    assert [q.outcome for q in report.safety] == [SafetyOutcome.CRISIS] and not report.closing.judged


def sign(uid: str, at: float, reason: str, numbers: tuple[str, ...] = ("110", "12356")) -> CrisisSign:
    return CrisisSign(uid, at, reason, numbers)


def test_a_crisis_is_confirmed_by_a_rules_sign_a_second_sign_or_the_callers_words() -> None:
    rules = CrisisRules.load()
    model = "可能有自伤自杀风险(模型判断)"
    routine = [CallerLine("caller-1", "我想办居住证", 5.0), CallerLine("caller-4", "好嘛我屋头那个也要办", 70.0),
               CallerLine("caller-5", "要得麻烦你了", 85.0)]
    guess = read_crisis(rules, [sign("caller-4", 70.0, model)], routine, [])
    assert guess is not None and not guess.confirmed and UNCONFIRMED in guess.note
    # the rules' own reason
    words = "来电人流露轻生/自伤念头,请立即关注并转介心理援助"
    ruled = read_crisis(rules, [sign("caller-4", 70.0, words)], routine, [])
    assert ruled is not None and ruled.confirmed and [k.name for k in ruled.kinds] == ["自伤自杀"]
    # the model again on another of the caller's lines, or a safety card on a later line
    again = read_crisis(rules, [sign("caller-4", 70.0, model), sign("caller-5", 85.0, model)], routine, [])
    later = read_crisis(rules, [sign("caller-4", 70.0, model)], routine, [routine[2]])
    earlier = read_crisis(rules, [sign("caller-4", 70.0, model)], routine, [routine[0]])
    assert again is not None and again.confirmed and later is not None and later.confirmed
    assert earlier is not None and earlier.confirmed
    # the caller's words name the crisis (d1: 出不去): confirmed, and its kind is 被困 whatever the model guessed
    trapped = [*routine, CallerLine("caller-6", "水到膝盖了我腿脚不方便也出不去", 90.0)]
    flood = read_crisis(rules, [sign("caller-4", 70.0, model, ("110", "12356", "119"))], trapped, [])
    assert flood is not None and flood.confirmed and [k.name for k in flood.kinds] == ["被困"]
    assert flood.numbers == ("110", "119")


def test_a_genuine_crisis_is_still_judged_strictly(analyzer: Analyzer, rules: TrainingRules) -> None:
    for report in both("d3-gjj-goodbye", analyzer, rules):
        assert report.crisis is not None and report.crisis.confirmed and "自伤自杀" in report.crisis.kinds
        assert all(i.done for i in report.crisis.items) and not report.closing.judged
    # the same call without the operator's transfer: the missing item is a finding, with 12356 in it
    events = [e for e in recorded("d3-gjj-goodbye") if "三方转接" not in getattr(e, "text", "").replace(" ", "")]
    report = build_report(events, rules)
    assert report.crisis is not None
    missing = [i for i in report.crisis.items if not i.done]
    assert [i.item for i in missing] == ["转接处置"] and "12356" in missing[0].expected
    assert any("危急来电缺少「转接处置」" in s for s in report.suggestions)


# ---------------------------------------------------------------- 5. the numbers fit the kind of crisis


def test_a_flood_victim_needs_119_or_110_not_12356(analyzer: Analyzer, rules: TrainingRules) -> None:
    for report in both("d1-flood", analyzer, rules):
        crisis = report.crisis
        assert crisis is not None and crisis.confirmed and crisis.kinds == ("被困",)
        assert "12356" not in crisis.numbers and "120" not in crisis.numbers and "119" in crisis.numbers
        assert all(i.done for i in crisis.items)
        assert not any("12356" in s or "转介 110" in s for s in report.suggestions)
        offers = {r.number: r for r in report.referrals}
        assert offers["119"].given
        if "12356" in offers:
            assert offers["12356"].excused.startswith("不适用") and "被困" in offers["12356"].excused
        if "110" in offers:  # 119 was given: either number is enough for someone trapped
            assert offers["110"].excused.startswith("已告知 119")
    assert "可以说:如果您心里特别难受" not in render_text(build_report(recorded("d1-flood"), rules))


def test_a_domestic_violence_call_needs_110_not_12356(analyzer: Analyzer, rules: TrainingRules) -> None:
    for report in both("d6-dv-whisper", analyzer, rules):
        crisis = report.crisis
        assert crisis is not None and crisis.confirmed and "暴力" in crisis.kinds and "自伤自杀" not in crisis.kinds
        assert crisis.numbers == ("110",) and all(i.done for i in crisis.items)
        # (the banned-phrase card's own wording may still name 12356: live assist's, not the report's)
        assert not any("转介 12356" in s or (s.startswith("危急来电") and "12356" in s) for s in report.suggestions)
