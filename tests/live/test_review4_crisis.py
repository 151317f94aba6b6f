"""The fourth independent review's findings on this stop's crisis changes (docs/analysis.md): a denial or a
retraction takes back only an earlier sign, never a call's first words, a cue, a sure guess or another danger;
insisting one means it is no retraction; new rules' look-alikes; the learned tone warning after an empathy
opener turned against the caller."""

from __future__ import annotations

import pytest

from assist.live.notices import Notices
from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.referral import ReferralTable
from assist.protocol.enums import Role
from tests.support.caller_lines import crisis_tiers


@pytest.mark.parametrize("text", [
    "我刚才是随口说说的,反正今晚过后也就没什么好烦的了",
    "我说的气话你别当真,我就是想把我的猫托付给你们,我以后养不了它了",
    "开个玩笑啊,我已经把煤气灶拧开了",
    "谁跟你开玩笑的,明天你们就再也找不到我了",
    "您放心吧,我都安排好了,存折和钥匙都放在桌上了,以后就不用你们操心了",
])
def test_a_calls_first_words_are_no_denial(learned: Analyzer, text: str) -> None:
    (first,) = crisis_tiers(learned, [("caller", text)])
    assert first[0] or first[1] is not None, text


def test_insisting_after_the_question_is_no_retraction(learned: Analyzer) -> None:
    got = crisis_tiers(learned, [("caller", "我身份证丢了烦得我都想跳楼了"), ("agent", "您现在有没有伤害自己的想法"),
                                 ("caller", "你以为我是说着玩的吗,我早就想好了")])
    assert got[1][0]


@pytest.mark.parametrize("text", ["谁跟你开玩笑的,我是认真的", "我没有开玩笑的,我现在就在河边", "你以为我是说着玩的吗",
                                  "我不是随口一说"])
def test_insisting_is_not_a_retraction(text: str) -> None:
    assert not ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml").retracts(text)


@pytest.mark.parametrize("text", ["我们小商贩还有什么活路啊", "快递员一路跟着我到家门口", "胸口闷,肩膀疼,公司不给调休",
                                  "不如带着她一起走算了,换个城市重新开始"])
def test_look_alikes_of_the_new_rules(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze(Role.CALLER, text).critical, text


@pytest.mark.parametrize("text", ["听得出来你就是来找茬的", "换作是我也会生气,但您这么说话就没意思了",
                                  "理解您的心情,不过您这问题问了八遍了"])
def test_scolding_after_an_empathy_opener_is_still_warned(learned: Analyzer, text: str) -> None:
    assert learned.analyze_final(Role.AGENT, text).banned, text


@pytest.mark.parametrize("text", ["我要找市长热线反映一下路灯的事", "我下周就去北京出差", "孩子明年要到省里读大学",
                                  "新闻里曝光了一家黑作坊"])
def test_no_petition_notice_on_ordinary_words(text: str) -> None:
    assert Notices.load().find(text) == []
