"""The training report says whether the operator asked about the caller's safety after a safety card
(assist/training/safety.py, data safety_check.toml), from calls run through the real learned pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.data import DataError
from assist.nlp.safety_questions import SafetyRules
from assist.protocol.decode import decode_events
from assist.protocol.enums import PromptAction, PromptKind
from assist.protocol.events import Event, Prompt, Transcript
from assist.protocol.payloads import SafetyPayload
from assist.training.replay import parse_transcript, replay_transcript
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.training.safety import SafetyOutcome
from assist.training.stored_report import report_for_call
from assist.web.server import AssistServer
from tests.support.training import call_url, store_of, stored_call

# the learned net's weak sign (a model-only first sign below its sure threshold): a safety card, not the crisis card
# (model 20261207-72ede1d5 no longer flags 我最近压力特别大睡不着 alone: stress and no sleep are no danger now)
WEAK = "我 最近 压力 特别 大 睡 不 着 老 想 一些 不好 的 事"
OPENING = "您好 市长 热线 请问 有 什么 可以 帮 您"


def run(analyzer: Analyzer, lines: list[tuple[str, str]]) -> list[Event]:
    """The finals through live assist with the learned path, as the server's pipeline runs them."""
    live = LiveAssist("c-safety", "a1", analyzer, context_factory=CallContext)
    out: list[Event] = []
    counts: dict[str, int] = {}
    for i, (role, text) in enumerate(lines):
        n = counts.get(role, 0)
        counts[role] = n + 1
        t = Transcript("c-safety", role, f"{role}-{n}", True, text, i * 4.0, i * 4.0 + 3.0)
        out.append(t)
        out.extend(live.on_transcript(t, live.learned_for(t)))
    return out


def safety_prompts(events: list[Event]) -> list[Prompt]:
    return [e for e in events if isinstance(e, Prompt) and e.kind == PromptKind.SAFETY]


def test_a_safety_question_in_other_words_is_credited_though_the_card_was_withdrawn(
        analyzer: Analyzer, rules: TrainingRules) -> None:
    events = run(analyzer, [("agent", OPENING), ("caller", WEAK), ("agent", "我 想 确认 一下 您 身边 有 家人 陪着 吗"),
                            ("caller", "请问 社区 医院 有 睡眠 门诊 吗"), ("agent", "好的 感谢 您 的 来电 再见")])
    shown = safety_prompts(events)
    assert shown[0].action == PromptAction.SHOW and shown[-1].action == PromptAction.WITHDRAW  # retired later
    report = build_report(events, rules)
    [check] = report.safety
    assert check.outcome is SafetyOutcome.ASKED and check.time == 4.0 and check.asked_time == 8.0
    assert check.said == "我想确认一下您身边有家人陪着吗" and check.caller == "我最近压力特别大睡不着老想一些不好的事"
    assert not any("安全确认" in s for s in report.suggestions)
    assert "✓ [00:04] 来电人:我最近压力特别大睡不着老想一些不好的事 → 坐席 [00:08]" in render_text(report)
    assert report.to_dict()["safety"][0]["outcome"] == "asked"


def test_no_safety_question_in_the_next_turns_is_a_finding_with_the_suggested_question(
        analyzer: Analyzer, rules: TrainingRules) -> None:
    late = [("agent", "失眠 的话 多 注意 休息"), ("caller", "嗯"), ("agent", "平时 可以 多 运动"),
            ("caller", "嗯 我 知道"), ("agent", "还有 别的 问题 吗"), ("caller", "没有 别的 问题 了"),
            ("agent", "冒昧 问 一句 您 现在 安全 吗")]  # the 4th operator turn: the call had moved on
    events = run(analyzer, [("agent", OPENING), ("caller", WEAK), *late])
    report = build_report(events, rules)
    [check] = report.safety
    assert check.outcome is SafetyOutcome.MISSED and check.asked_time is None
    card = safety_prompts(events)[0].data
    assert isinstance(card, SafetyPayload) and check.question == card.question  # the card's own wording
    assert f"00:04 助手提示安全确认,坐席没有询问来电人的安全;可以问:{check.question}" in report.suggestions
    text = render_text(report)
    assert "✗ [00:04] 来电人:我最近压力特别大睡不着老想一些不好的事 → 坐席没有询问" in text


def test_the_callers_next_words_raising_the_crisis_card_hand_over_to_the_crisis_criteria(
        analyzer: Analyzer, rules: TrainingRules) -> None:
    events = run(analyzer, [("agent", OPENING), ("caller", WEAK), ("agent", "失眠 的话 多 注意 休息"),
                            ("caller", "我 不想 活 了"), ("agent", "您 先 别 着急 您 现在 在 哪个 位置")])
    report = build_report(events, rules)
    [check] = report.safety
    assert check.outcome is SafetyOutcome.CRISIS and report.crisis is not None
    assert not any("安全确认" in s for s in report.suggestions)
    assert "按危急处置评价" in render_text(report)


def test_on_a_mono_channel_the_callers_own_words_do_not_count_as_asking(
        analyzer: Analyzer, rules: TrainingRules) -> None:
    lines = [("mixed", OPENING), ("mixed", WEAK), ("mixed", "嗯 好的 您 说"), ("mixed", "这个 情况 我 记录 一下"),
             ("mixed", "好的 感谢 您 的 来电 再见")]
    report = build_report(run(analyzer, lines), rules)
    [check] = report.safety
    assert check.outcome is SafetyOutcome.MISSED
    asked = build_report(run(analyzer, [*lines[:2], ("mixed", "您 现在 身边 有人 吗"), *lines[3:]]), rules)
    assert [c.outcome for c in asked.safety] == [SafetyOutcome.ASKED]


def test_a_call_without_a_safety_card_has_no_safety_section(analyzer: Analyzer, rules: TrainingRules) -> None:
    report = build_report(run(analyzer, [("agent", OPENING), ("caller", "我 想 咨询 一下 居住证 怎么 办理")]), rules)
    assert report.safety == () and report.to_dict()["safety"] == []
    assert "安全确认" not in render_text(report)


@pytest.mark.parametrize("said", [
    "冒昧问一句:您现在安全吗?", "您身边有人吗", "您是不是有伤害自己的想法", "现在人还有意识吗", "您现在是一个人吗",
    "有没有人受伤", "病人呼吸正常吗", "对方还在您身边吗", "需要我帮您报警吗", "人都撤出来了吗", "有人被困住吗",
    "您会不会有想不开的念头", "我想确认一下您的安全", "身边有没有家人",
])
def test_reasonable_safety_questions_are_recognised(said: str, rules: TrainingRules) -> None:
    assert SafetyRules.load().asks(rules.normalize(said)) is not None


@pytest.mark.parametrize("said", [
    "我不安全", "您还有什么想法吗", "好的我帮您记录一下", "请问您住在哪个小区", "这个问题我们转给住建部门",
    "您的意思我明白了", "感谢您的来电再见",
    # statements, not questions (on a mono call they may be the caller's: review)
    "我上个月在工地上受伤了", "腿上的伤到现在还没好", "我们这儿有人被困", "手上流血了",
])
def test_routine_words_are_not_taken_for_a_safety_question(said: str, rules: TrainingRules) -> None:
    assert SafetyRules.load().asks(rules.normalize(said)) is None


def test_the_data_file_is_checked_when_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "safety_check.toml"
    bad.write_text("within_turns = 3\npatterns = ['安全吗']\nturns = 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"safety_check\.toml: .*turns"):
        SafetyRules.load(bad)
    bad.write_text("within_turns = 2.5\npatterns = ['安全吗']\n", encoding="utf-8")
    with pytest.raises(DataError, match="whole number"):
        SafetyRules.load(bad)
    bad.write_text("within_turns = 2\npatterns = ['(安全']\n", encoding="utf-8")
    with pytest.raises(DataError):
        SafetyRules.load(bad)


async def test_a_replayed_call_stores_the_same_safety_check(server: AssistServer, rules: TrainingRules) -> None:
    lines = [{"role": "agent", "start": 0.0, "end": 2.5, "text": OPENING},
             {"role": "caller", "start": 3.0, "end": 6.0, "text": WEAK},
             {"role": "agent", "start": 7.0, "end": 9.0, "text": "失眠 的话 多 注意 休息"},
             {"role": "caller", "start": 10.0, "end": 12.0, "text": "嗯 好 的"},
             {"role": "agent", "start": 13.0, "end": 15.0, "text": "感谢 您 的 来电 再见"}]
    parsed = parse_transcript("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "weak-sign.jsonl")
    result = await replay_transcript(call_url(server), parsed, ("agent", "caller"), call_id="replay-safety",
                                     agent_id="T01", speed=0.0, on_event=lambda e: None)
    assert result.ended and result.error is None
    events = result.events
    streamed = build_report(decode_events(events), rules).to_dict()
    assert [q["outcome"] for q in streamed["safety"]] == ["missed"]
    await stored_call(store_of(server), "replay-safety")
    assert await report_for_call(store_of(server), "replay-safety") == streamed  # the withdrawn card is kept


def test_a_question_long_before_the_card_is_no_answer_to_it() -> None:
    from assist.training.safety import Raised, SafetyOutcome, Turn, judge

    rules = SafetyRules.load()
    card = Raised("c9", "家里人都不理解我我好累", "家里人都不理解我我好累", 100.0, 103.0, "您现在安全吗?", None)
    asked_early = Turn("a1", "您现在安全吗", "您现在安全吗", 10.0, 12.0)
    (check,) = judge(rules, [card], [asked_early], [], ())
    assert check.outcome is SafetyOutcome.MISSED  # eighty seconds earlier: the call had moved on
    asked_just_before = Turn("a2", "您现在安全吗", "您现在安全吗", 95.0, 97.0)
    (check,) = judge(rules, [card], [asked_early, asked_just_before], [], ())
    assert check.outcome is SafetyOutcome.ASKED and check.asked_time == 95.0
