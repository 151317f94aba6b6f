"""The sixth new-user trial's calls word by word through live assist with the learned path (tests/data/trial6,
the trial's own scripts): no sign on a plain opening question or on a threat to go to the media, the threat
question for a caller who threatens, no 12356 on 我就是想去拿点药, and a chest-pain call that stays one danger."""

from __future__ import annotations

import pytest

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import PromptKind
from assist.protocol.payloads import ReferralPayload, SafetyPayload
from tests.support.word_replay import DATA, Turn, call_lines, critical_cards, replay_words, shown

TRIAL = DATA / "trial6"


@pytest.fixture(scope="module")
def calls(learned: Analyzer) -> dict[str, tuple[LiveAssist, Turn]]:
    return {name: replay_words(learned, name, call_lines(next(TRIAL.glob(f"{name}-*.jsonl"))))
            for name in ("c1", "c2", "c4", "c5", "c6", "c7", "p1", "p2")}


def test_a_plain_opening_question_and_fetching_medicine_raise_nothing(calls: dict[str, tuple[LiveAssist, Turn]]
                                                                      ) -> None:
    """c2 T2 社区卫生服务中心几点开门 drew the amber safety question, T4 我就是想去拿点药 a 12356 card."""
    _, turns = calls["c2"]
    before = turns[:next(i for i, (line, _, _) in enumerate(turns) if "胸口" in line)]
    assert shown(before, PromptKind.SAFETY) == [] and critical_cards(before) == []
    assert [p.data.number for _, _, p in shown(before, PromptKind.REFERRAL) if isinstance(p.data, ReferralPayload)] \
        == []


def test_a_chest_pain_call_stays_one_danger_when_the_caller_is_alone(calls: dict[str, tuple[LiveAssist, Turn]]
                                                                     ) -> None:
    """c2 T10 真的有这么严重吗我一个人在家不想折腾: no self-harm joins the chest pain (一个人 is no grave cue)."""
    live, turns = calls["c2"]
    cards = critical_cards(turns)
    assert cards and all(c.referrals == ("120",) for _, c in cards), cards
    assert live.call.crisis.kind == "医疗急症"


def test_a_threat_to_go_to_the_media_is_no_sign(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """c4 T12 再不来人我就找电视台曝光你们: a safety question, which the training report made its first finding."""
    _, turns = calls["c4"]
    assert shown(turns, PromptKind.SAFETY) == [] and critical_cards(turns) == []


def test_a_caller_who_threatens_is_asked_where_he_is_not_whether_the_other_is_near(
        calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """p2 T4 今晚我就下去跟那个老板拼了: the victim's 对方还在身边吗 was asked."""
    _, turns = calls["p2"]
    questions = [p.data.question for _, _, p in shown(turns, PromptKind.SAFETY) if isinstance(p.data, SafetyPayload)]
    assert all("对方还在身边" not in q for q in questions), questions
    assert critical_cards(turns) or questions  # the threat is never missed


def test_a_gym_gone_gets_12315_and_not_12333_from_老板也联系不上(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """c6 T2: the rules' 12333 (老板也联系不上, words of wage arrears) came on top of the call's own 12315 (M7)."""
    _, turns = calls["c6"]
    numbers = [p.data.number for _, _, p in shown(turns, PromptKind.REFERRAL) if isinstance(p.data, ReferralPayload)]
    assert numbers and numbers[0] == "12315" and "12333" not in numbers, numbers


def test_a_wage_call_gets_no_national_security_card(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """c7 T6 合同没签但是有考勤的照片: the learned head's 12310 (its 80%-precision threshold was 0.20) covered 12333
    for 28 s (M6); referrals.toml `model_confident` now asks its confident threshold of the head alone."""
    _, turns = calls["c7"]
    numbers = [p.data.number for _, _, p in shown(turns, PromptKind.REFERRAL) if isinstance(p.data, ReferralPayload)]
    assert "12310" not in numbers, numbers


def test_a_widows_farewell_is_quoted_on_the_card(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """c1 and p1: the farewell (以后也用不着了, a cue since trial 6) raises the card or stands on it, quoted.
    (c1 T4, 以前都是我老伴帮我弄的, got the red card from the model before the farewell, M1: kept, since an
    independent review measured that asking instead on sure guesses without a listed cue loses 45 of 420
    callers at risk of the retired sets' red cards.)"""
    _, turns = calls["c1"]
    cards = critical_cards(turns)
    farewell = [c.reason or "" for line, c in cards if "用不着了" in line]
    assert farewell and all("「" in r for r in farewell), farewell  # the card quotes her words
    _, p1 = calls["p1"]
    first = critical_cards(p1)
    assert first and "用不着了" in first[0][0] and "用不着了" in (first[0][1].reason or "")


def test_a_flood_keeps_its_own_headline(calls: dict[str, tuple[LiveAssist, Turn]]) -> None:
    """c5: 水已经到膝盖了 replaced the model's 可能有被困风险 by 119's generic 火情、燃气泄漏、被困或落水等紧急险情
    (L2)."""
    _, turns = calls["c5"]
    reasons = [c.reason or "" for _, c in critical_cards(turns)]
    assert reasons and all("火情" not in r for r in reasons), reasons
    assert "有人被困或被水围困" in reasons[-1]


def test_a_praise_calls_story_draws_no_knowledge_answer(learned: Analyzer) -> None:
    """L9: c8 上个礼拜我打电话反映我们小区门口路灯坏了… drew 路灯报修 97 % on a praise call; a question gets one."""
    lines = call_lines(next(TRIAL.glob("c8-*.jsonl")))
    live, turns = replay_words(learned, "c8", lines)
    assert live.call.topic.category.current == "表扬"
    assert shown(turns, PromptKind.KNOWLEDGE) == []
    question = "对了 我 还 想 问 一下 路灯 坏 了 以后 应该 怎么 报修"
    asked = [*lines[:-1], {"role": "caller", "start": 60.0, "end": 64.0, "text": question}, lines[-1]]
    _, turns = replay_words(learned, "c8q", asked)
    assert {line for line, _, _ in shown(turns, PromptKind.KNOWLEDGE)} == {question.replace(" ", "")}
