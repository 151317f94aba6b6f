"""The seven callers at risk the blind set v10 missed (run once, then retired: docs/nlp-evaluation.md), each a
crisis in the rules' words now, and look-alikes that must not be."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role

MISSED = {  # the words, the number the crisis card must give
    "我要投诉燃气公司上午来换表的师傅走了以后我家就一直有气味打他们电话说明天才能来": "119",
    "问下老小区加装电梯有没有补贴。对了,楼下那户好像在烧什么东西,楼道里有点烟,要不要紧啊?": "119",
    "举报楼下商铺违建。我今天去理论,老板说“再多管闲事小心你的腿”,刚才还一路跟到我家楼下。": "110",
    "就是那个底保没批下来房租也交不起了女儿还要上学我真的不知道还有什么活路不如带着她一起走": "110",
    "问一下门诊慢特病怎么申请。哦对了,我爸从早上起一直说胸口压得慌,左胳膊也麻,应该没事吧?": "120",
    "楼道灯坏了半年,物业一直拖着不修。算了,反正我也不打算在这世上待多久了。": "12356",
}
# (the seventh, fireworks stored in a ground-floor flat with someone smoking there, is a hazard report whose
# label is arguable: it gets the learned model's reading only)


@pytest.mark.parametrize(("text", "number"), MISSED.items())
def test_each_missed_caller_is_a_crisis_in_the_rules(analyzer: Analyzer, text: str, number: str) -> None:
    a = analyzer.analyze(Role.CALLER, text)
    assert a.critical, text
    assert number in [r.number for r in a.referrals], (text, [r.number for r in a.referrals])


@pytest.mark.parametrize("text", MISSED)
def test_each_missed_caller_gets_the_crisis_card(learned: Analyzer, text: str) -> None:
    assert learned.analyze_final(Role.CALLER, text, CallContext()).critical, text


LOOK_ALIKES = ["我带着孩子一起去办户口迁移可以吗", "厨房里有烟是做饭的油烟太大了", "家里有烟是在烧香",
               "我想投诉燃气公司换表的时候态度很差", "你小心点啊路上滑", "我的生活有什么活路可以走出去吗"]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_no_crisis_of_the_rules(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze(Role.CALLER, text).critical, text
