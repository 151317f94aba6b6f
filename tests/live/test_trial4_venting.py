"""气话 (venting), the fourth new-user trial's critical finding: in a routine lost-ID-card call,
身份证丢了…烦得想跳楼了真的要疯了 raised a red suicide card that stayed to the end of the call and alerted the
supervisor.  A self-harm phrase said in frustration with a matter is a sign, not a crisis: the operator gets the
general safety question (never nothing), and a yes to a question about self-harm, a cue of the words' own (a
place of danger) or an earlier sign still raise the card.  不想活了 and a place or an act are never venting.
"""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role
from tests.support.caller_lines import crisis_tiers

VENTING = ["身份证丢了烦得想跳楼了真的要疯了", "我想死的心都有了跑了八趟了", "气得我想死", "这破事愁得我想跳河"]


@pytest.mark.parametrize("text", VENTING)
def test_venting_is_a_sign_not_a_crisis_in_the_rules(analyzer: Analyzer, text: str) -> None:
    ctx = CallContext()
    a = analyzer.analyze(Role.CALLER, text, ctx, utterance_id="c1")
    assert not a.critical
    assert a.safety_question is not None  # never nothing: the operator asks
    assert ctx.any_sign()  # and a later answer can build on it


@pytest.mark.parametrize("text", VENTING)
def test_venting_is_a_sign_not_a_crisis_with_the_learned_model(learned: Analyzer, text: str) -> None:
    a = learned.analyze_final(Role.CALLER, text, CallContext())
    assert not a.critical and a.safety_question is not None


def test_a_yes_to_the_self_harm_question_after_venting_raises_the_card(learned: Analyzer) -> None:
    question = "我很关心您想直接问一句您现在有没有伤害自己的想法"
    got = crisis_tiers(learned, [("caller", "气得我想死"), ("agent", question), ("caller", "嗯有时候会想")])
    assert got[1][0]
    denied = crisis_tiers(learned, [("caller", "气得我想死"), ("agent", "您现在有没有伤害自己的想法"),
                                    ("caller", "没有没有就是气话")])
    assert not denied[1][0]


@pytest.mark.parametrize("text", ["我烦得想跳楼我现在就在楼顶", "我不想活了跑了八趟了", "我真想从楼上跳下去"])
def test_a_place_an_act_or_not_wanting_to_live_is_never_venting(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(Role.CALLER, text).critical


def test_venting_after_an_earlier_sign_is_not_softened(analyzer: Analyzer) -> None:
    ctx = CallContext()
    analyzer.analyze(Role.CALLER, "我把药都准备好了", ctx, utterance_id="c1")
    assert ctx.danger_seen()
    assert analyzer.analyze(Role.CALLER, "烦得我想死", ctx, utterance_id="c2").critical
