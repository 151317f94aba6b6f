"""When a model-only crisis card is judged (assist/training/crisis_signs.py), from the cards of a call as
live assist sends them: the safety question asked first on the model's first sign and the crisis card on
the next (or a despair reading) is a second sign; a lone guess the caller said nothing after is judged;
an unconfirmed guess of 自伤自杀 is judged like a safety card."""

from __future__ import annotations

import pytest

from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.enums import Emotion, PromptAction, PromptKind
from assist.protocol.events import Event, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload, EmotionPayload, PromptData, SafetyPayload
from assist.training.crisis_signs import UNCONFIRMED, CallerLine, CrisisSign, read_crisis
from assist.training.report import build_report
from assist.training.report_text import render_text
from assist.training.rules import TrainingRules
from assist.training.safety import SafetyOutcome

MODEL = "可能有自伤自杀风险(模型判断)"
ASK = "冒昧问一句:您(或您说的这位)现在安全吗?身边有人吗?"
FAREWELL = "谢谢 你们 这些 年 照顾 我 以后 不用 再 麻烦 你们 了"
OPENING = "您好 市长 热线 请问 有 什么 可以 帮 您"


class Call:
    """A call's finals and cards, one line every 4 s, as live assist sends them."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.counts: dict[str, int] = {}

    def say(self, role: str, text: str, *cards: PromptData) -> Call:
        n = self.counts.get(role, 0)
        self.counts[role] = n + 1
        uid, start = f"{role}-{n}", len(self.events) * 4.0
        self.events.append(Transcript("c1", role, uid, True, text, start, start + 3.0))
        for data in cards:
            kind = {CriticalPayload: PromptKind.CRITICAL, SafetyPayload: PromptKind.SAFETY,
                    EmotionPayload: PromptKind.EMOTION}[type(data)]
            self.events.append(Prompt(f"c1:{uid}:{kind}:0", "c1", role, uid, kind, PromptAction.SHOW, start + 3.0,
                                      None, data))
        return self


def red(reason: str = MODEL, numbers: tuple[str, ...] = ("110", "12356")) -> CriticalPayload:
    return CriticalPayload(reason=reason, referrals=numbers)


def amber() -> SafetyPayload:
    return SafetyPayload(question=ASK, reason="可能有生命安全风险(模型判断)", referrals=())


def despair() -> EmotionPayload:
    return EmotionPayload(label=Emotion.DESPAIR, intensity=0.6)


# ---------------------------------------------------------------- 1. another sign, before or after the card


def test_a_safety_card_or_despair_on_another_caller_line_confirms_the_guess() -> None:
    rules = CrisisRules.load()
    lines = [CallerLine("caller-0", "最近压力特别大睡不着", 4.0), CallerLine("caller-1", "我真的撑不下去了", 12.0),
             CallerLine("caller-2", "嗯", 20.0)]
    guess = [CrisisSign("caller-1", 12.0, MODEL, ("110", "12356"))]
    # live assist asked the safety question first (caller-0), then raised the card on the next sign
    before = read_crisis(rules, guess, lines, [lines[0]])
    after = read_crisis(rules, guess, lines, [lines[2]])
    sad = read_crisis(rules, guess, lines, [], [lines[0]])
    for reading in (before, after, sad):
        assert reading is not None and reading.confirmed and not reading.note and not reading.ask
    # a safety card or despair on the crisis card's own line is no second sign
    alone = read_crisis(rules, guess, lines, [lines[1]], [lines[1]])
    assert alone is not None and not alone.confirmed and UNCONFIRMED in alone.note


def test_the_safety_question_first_then_the_crisis_card_is_judged_as_a_crisis(rules: TrainingRules) -> None:
    events = (Call().say("agent", OPENING).say("caller", "最近 压力 特别 大 睡 不 着", amber())
              .say("agent", "失眠 的话 多 注意 休息").say("caller", "我 真的 撑 不 下去 了", red())
              .say("agent", "您 别 着急 慢慢 说").say("caller", "嗯 就 这样 吧").events)
    report = build_report(events, rules)
    assert report.crisis is not None and report.crisis.confirmed and report.crisis.items
    assert {i.item: i.done for i in report.crisis.items}["询问位置"] is False
    assert any(s.startswith("危急来电缺少「询问位置」") for s in report.suggestions)
    # the safety card is judged as the crisis it led to, not rewritten as unconfirmed
    assert [q.outcome for q in report.safety] == [SafetyOutcome.CRISIS]
    assert not report.closing.judged and UNCONFIRMED not in render_text(report)


def test_despair_before_the_crisis_card_confirms_it(rules: TrainingRules) -> None:
    events = (Call().say("agent", OPENING).say("caller", "活着 好 累", despair())
              .say("agent", "您 慢慢 说").say("caller", "我 把 东西 都 安排 好 了", red())
              .say("agent", "好 的").say("caller", "嗯").events)
    report = build_report(events, rules)
    assert report.crisis is not None and report.crisis.confirmed and report.crisis.items


# ---------------------------------------------------------------- 2. a lone guess: judged unless routine words follow


def test_a_farewell_as_the_callers_last_words_is_judged(rules: TrainingRules) -> None:
    events = (Call().say("agent", OPENING).say("caller", "我 打 电话 就是 想 说 一声")
              .say("agent", "您 请 讲").say("caller", FAREWELL, red())
              .say("agent", "不 客气 感谢 您 的 来电 再见").events)
    report = build_report(events, rules)
    crisis = report.crisis
    assert crisis is not None and crisis.confirmed and crisis.items and not any(i.done for i in crisis.items)
    assert "来电人之后没有再说话" in crisis.note and UNCONFIRMED not in crisis.note
    assert any(s.startswith("危急来电缺少「稳住来电人」") for s in report.suggestions)
    assert "来电人之后没有再说话" in render_text(report)


def test_a_self_harm_guess_with_routine_words_after_is_judged_like_a_safety_card(rules: TrainingRules) -> None:
    events = (Call().say("agent", OPENING).say("caller", FAREWELL, red())
              .say("agent", "不 客气 这 是 我们 应该 做 的").say("caller", "那个 我 还 想 问 下 燃气 费 怎么 交")
              .say("agent", "可以 在 网上 交 感谢 您 的 来电 再见").events)
    ignored = build_report(events, rules)
    crisis = ignored.crisis
    assert crisis is not None and not crisis.confirmed and crisis.items == () and UNCONFIRMED in crisis.note
    assert "仍检查坐席是否询问了来电人的安全" in crisis.note
    [check] = ignored.safety
    self_harm = next(k for k in CrisisRules.load().kinds if k.name == "自伤自杀")
    assert check.outcome is SafetyOutcome.MISSED and check.card is PromptKind.CRITICAL and check.time == 4.0
    assert check.question == self_harm.question and check.caller == "谢谢你们这些年照顾我以后不用再麻烦你们了"
    assert any("坐席没有询问来电人的安全" in s and self_harm.question in s for s in ignored.suggestions)
    assert ignored.to_dict()["safety"][0]["card"] == "critical"
    assert ignored.closing.judged  # otherwise judged as the routine call it turned out to be
    # the operator who asked is credited
    asked = (Call().say("agent", OPENING).say("caller", FAREWELL, red())
             .say("agent", "我 很 关心 您 想 直接 问 一句 您 现在 有没有 伤害 自己 的 打算")
             .say("caller", "没有 没有 我 就是 要 搬 去 女儿 家 了").say("agent", "好 的 感谢 您 的 来电 再见").events)
    report = build_report(asked, rules)
    assert [q.outcome for q in report.safety] == [SafetyOutcome.ASKED]
    assert not any("安全" in s for s in report.suggestions)


@pytest.mark.parametrize("reason", ["可能有医疗急症风险(模型判断)", "可能有生命安全风险(模型判断)"])
def test_an_unconfirmed_guess_of_another_kind_asks_nothing(reason: str, rules: TrainingRules) -> None:
    events = (Call().say("agent", OPENING).say("caller", "我 想 问 一下 医保 报销", red(reason, ("120",)))
              .say("agent", "您 说").say("caller", "门诊 的 能 报 多少").events)
    report = build_report(events, rules)
    assert report.crisis is not None and not report.crisis.confirmed and not report.safety
