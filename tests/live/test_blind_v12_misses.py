"""The retired blind set v12's chest-pain caller (c300) whose pills did not help got only the general safety question,
no 120: chest pain with sweat said plainly, or heart pills that did not help, is a medical emergency; their
look-alikes are not (tests/data/nlp_eval/blind_v12, retired)."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import Role

V12_C300 = ("哎小姑娘你给我说一哈我这个心口子疼了一早上了疼得背上都是汗吃了速效救心丸也不顶事"
            "我儿子在外地打工我自己能不能坐公交去医院")


@pytest.mark.parametrize("text", [V12_C300, "我爸胸口闷得慌,吃了硝酸甘油也不管用", "我胸口疼了一上午,身上全是汗",
                                  "胸口闷,吃了救心丸还是闷"])
def test_chest_pain_with_sweat_or_pills_that_did_not_help_calls_120(analyzer: Analyzer, text: str) -> None:
    r = analyzer.analyze(Role.CALLER, text)
    assert r.critical and "120" in {x.number for x in r.referrals}


@pytest.mark.parametrize("text", ["速效救心丸医保能报吗", "我妈吃了速效救心丸好多了", "硝酸甘油在哪个药店能买到"])
def test_heart_pills_asked_about_or_that_helped_are_no_emergency(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze(Role.CALLER, text).critical


def test_the_chest_pain_caller_gets_the_red_card_with_the_learned_path(learned: Analyzer) -> None:
    r = learned.analyze_final(Role.CALLER, V12_C300)
    assert r.critical and r.referrals[0].number == "120"


def test_a_doubtful_learned_emotion_does_not_overturn_the_words(learned: Analyzer) -> None:
    """太气人了 is anger: a learned 失望 at probability 0.3 (model bb0fc52e) did not keep the training sample's
    report's 情绪承接 check; a learned label below EMOTION_DOUBT leaves the words' clear reading."""
    r = learned.analyze_final(Role.CALLER, "还有个事我朋友欠我三万块钱一直不还我想起诉他太气人了")
    assert r.emotion is not None and r.emotion.label == "愤怒" and r.emotion.intensity >= 0.6
