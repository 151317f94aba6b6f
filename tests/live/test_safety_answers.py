"""The caller's answer to the operator's safety question, by what the question asked.

- A yes to a question about danger (您现在有没有伤害自己的想法?) confirms it; a bare yes (嗯) to the general
  question (您现在安全吗?身边有人吗?) is the caller saying they are safe — it had raised the red card.
- The operator may ask about self-harm before any line gave a sign (on their own judgement): a yes that
  says what was thought (嗯是有过那种想法) confirms it.
- After a soft sign the operator's own question counts (阿姨您这话是什么意思啊), the closing one does not
  (还有其他问题吗 — 有).
"""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.weaksigns import WeakSigns
from tests.support.caller_lines import crisis_tiers

SIGN = "我一个女孩子在外地租房子真的很无助"  # the general safety question (no words of self-harm)


@pytest.mark.parametrize("answer", ["嗯", "是的", "嗯安全的", "对"])
def test_a_bare_yes_to_are_you_safe_is_no_danger(learned: Analyzer, answer: str) -> None:
    got = crisis_tiers(learned, [("caller", SIGN), ("agent", "冒昧问一句您现在安全吗身边有人吗"), ("caller", answer)])
    assert not got[1][0], answer


@pytest.mark.parametrize("answer", ["嗯", "有", "是的"])
def test_a_bare_yes_to_a_question_about_self_harm_is_danger(learned: Analyzer, answer: str) -> None:
    got = crisis_tiers(learned, [("caller", SIGN), ("agent", "我很关心您想直接问一句您现在有没有伤害自己的想法"),
                                 ("caller", answer)])
    assert got[1][0], answer


def test_a_yes_to_the_operators_own_question_about_self_harm_needs_no_earlier_sign(learned: Analyzer) -> None:
    got = crisis_tiers(learned, [("caller", "我这几天老是睡不着觉心里堵得慌"), ("agent", "您现在有没有伤害自己的想法"),
                                 ("caller", "嗯是有过那种想法")])
    assert got[1][0]
    plain = crisis_tiers(learned, [("caller", "我想问一下低保怎么申请"), ("agent", "您是本市户口吗"),
                                   ("caller", "嗯是的")])
    assert not plain[1][0] and plain[1][1] is None  # a routine question's yes is nothing


def test_after_a_soft_sign_the_operators_own_question_counts_and_the_closing_one_does_not(learned: Analyzer) -> None:
    first = "证件你们帮我转交给我闺女吧谢谢"
    asked = crisis_tiers(learned, [("caller", first), ("agent", "阿姨您这话是什么意思啊"),
                                   ("caller", "嗯我想过好几次了")])
    assert asked[1][0]
    closing = crisis_tiers(learned, [("caller", first), ("agent", "好的还有其他问题吗"), ("caller", "有")])
    assert not closing[1][0]


def test_question_kinds() -> None:
    signs = WeakSigns.load()
    assert signs.asks_about_danger("您现在有没有伤害自己的想法")
    assert not signs.asks_about_danger("冒昧问一句您现在安全吗身边有人吗")
    assert signs.asks_safety("阿姨您这话是什么意思啊", sign_up=True)
    assert not signs.asks_safety("您还有其他问题吗", sign_up=True)
    assert not signs.affirms("嗯", bare=False) and signs.affirms("嗯", bare=True)
    assert signs.affirms("嗯我想过好几次了", bare=False)
