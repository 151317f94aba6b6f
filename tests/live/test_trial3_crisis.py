"""The third new-user trial's crisis problems (tests/data/trial3: the trial's own call scripts, CC0), replayed
word by word with partials and the learned path as the overlay saw them.

- e4: a routine 社保 call in north-eastern dialect became a red suicide crisis from two weak model guesses
  (俺这社保断了仨月了咋整啊还能续上不, 俺俩都快被这事儿逼疯了) through the "second sign" rule: weak signs now
  need evidence (assist/nlp/weak_signs.toml), and the true despair of e2 still raises its card.
"""

from __future__ import annotations

import pytest

from assist.live.prompts import LiveAssist
from assist.nlp.analysis import UtteranceRecord
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.weaksigns import WeakSigns
from assist.protocol.enums import AlertKind, PromptKind, Role
from assist.protocol.events import Alert
from assist.protocol.payloads import CriticalPayload, SafetyPayload
from tests.support.word_replay import DATA, Turn, call_lines, replay_words, shown

TRIAL3 = DATA / "trial3"
CALLS = ["e2-heating-goodbye", "e3-balcony-child", "e4-dialect-shebao", "e6-noise-threat"]


@pytest.fixture(scope="module")
def learned() -> Analyzer:
    return Analyzer.load(learned=True)


def rows(name: str) -> list[dict[str, object]]:
    return call_lines(TRIAL3 / f"{name}.jsonl")


def caller_lines(name: str) -> list[str]:
    return ["".join(str(r["text"]).split()) for r in rows(name) if r["role"] == "caller"]


@pytest.fixture(scope="module")
def calls(learned: Analyzer) -> dict[str, tuple[LiveAssist, Turn]]:
    return {name: replay_words(learned, name, rows(name)) for name in CALLS}


def critical_alerts(live: LiveAssist) -> list[Alert]:
    return [a for a in live.alerts if a.kind is AlertKind.CRITICAL]


# ---------------------------------------------------------------- problem 1: e4, a routine call


def test_the_routine_dialect_shebao_call_raises_no_crisis_and_no_self_harm_question(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    live, turns = calls["e4-dialect-shebao"]
    assert shown(turns, PromptKind.CRITICAL) == []
    assert not critical_alerts(live)
    questions = [p.data.question for _, _, p in shown(turns, PromptKind.SAFETY) if isinstance(p.data, SafetyPayload)]
    assert not [q for q in questions if "伤害自己" in q], questions
    assert live.call.crisis.reason is None


@pytest.mark.parametrize("index", [0, 4, 5])  # T2 社保断了仨月…续上不, T10 …逼疯了, T12 死活得把这事办了
def test_each_weak_e4_line_is_no_sign_in_the_call(learned: Analyzer, index: int) -> None:
    lines = caller_lines("e4-dialect-shebao")
    ctx = CallContext()
    for line in lines[:index]:
        learned.analyze_final(Role.CALLER, line, ctx)
    a = learned.analyze_final(Role.CALLER, lines[index], ctx)
    assert not a.critical and a.safety_question is None, (lines[index], a.critical_reason, a.scores.get("learned"))


def test_two_false_weak_signs_never_make_a_card(learned: Analyzer) -> None:
    # the trial's path exactly: T2 then T10, with nothing between
    lines = caller_lines("e4-dialect-shebao")
    ctx = CallContext()
    learned.analyze_final(Role.CALLER, lines[0], ctx)
    assert not learned.analyze_final(Role.CALLER, lines[4], ctx).critical


@pytest.mark.parametrize("text", ["俺俩都快被这事儿逼疯了", "愁死俺了", "急死我了", "死活得把这事办了", "整得俺贼闹心",
                                  "我这社保断了三个月了还能续上吗"])
def test_hyperbole_and_routine_requests_are_not_signs(text: str) -> None:
    signs = WeakSigns.load()
    assert signs.not_a_sign(text)


@pytest.mark.parametrize("text", ["我这几天一直在想一些不好的事", "家里人都不理解我我好累", "大不了一起死",
                                  "以后不用给我回访了再见", "老伴走了以后就我一个人", "社保断了我也不想活了"])
def test_words_with_self_harm_content_keep_their_cue(text: str) -> None:
    signs = WeakSigns.load()
    assert signs.cue(text) and not signs.not_a_sign(text)


def test_a_weak_sign_the_operator_asked_about_is_evidence_for_the_answer() -> None:
    ctx = CallContext()
    ctx.record(UtteranceRecord("焦虑", 0.5, (), None, None, False, (), flagged=True), "u1")
    assert ctx.danger_seen("u3") and not ctx.danger_confirmed("u3")  # a guess, unasked: no evidence
    ctx.safety_asked()  # the operator: 您现在有没有伤害自己的想法?
    assert ctx.danger_confirmed("u3")  # the caller's answer
    assert not ctx.danger_confirmed("u1")  # the sign itself is not its own answer
    rules = CallContext()
    rules.record(UtteranceRecord("绝望", 0.9, (), None, None, False, (), flagged=True, strong=True), "u1")
    assert rules.danger_confirmed("u2")  # despair the rules found: evidence without a question


def test_the_operators_safety_question_is_recorded_for_the_answer(learned: Analyzer) -> None:
    ctx = CallContext()
    learned.analyze(Role.AGENT, "我很关心您想直接问一句您现在有没有伤害自己的打算", ctx)
    ctx.record(UtteranceRecord("焦虑", 0.5, (), None, None, False, (), flagged=True), "u9")
    assert not ctx.danger_confirmed("u10")  # a sign after the question is not answered by it
    learned.analyze(Role.AGENT, "您现在安全吗身边有人吗", ctx)
    assert ctx.danger_confirmed("u10")


def test_the_true_despair_of_e2_still_raises_its_card(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    _, turns = calls["e2-heating-goodbye"]
    cards = [(line, p.data) for line, _, p in shown(turns, PromptKind.CRITICAL) if isinstance(p.data, CriticalPayload)]
    assert cards and "熬不过这个冬天" in cards[0][0]
    assert "12356" in cards[-1][1].referrals
    questions = [(line, p.data.question) for line, _, p in shown(turns, PromptKind.SAFETY)
                 if isinstance(p.data, SafetyPayload)]
    assert questions and "我一个人" in questions[0][0]  # the amber question before: 老伴走了以后就我一个人
