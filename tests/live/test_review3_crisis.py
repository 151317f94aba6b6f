"""The third independent review of this stop's crisis changes (venting, farewells, safety answers, petrol):
the callers at risk it found missed, and the false cards it found, each fixed."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.normalize import normalize
from assist.nlp.weaksigns import WeakSigns
from assist.protocol.enums import Role
from tests.support.caller_lines import crisis_tiers


@pytest.mark.parametrize("text", [
    "我身份证丢了烦得想死我已经把药准备好了", "办个证跑了八趟了气得我想跳楼安眠药我都攒了一瓶了",
    "烦得想死绳子我都买好了",
    "俺烦得要跳楼了俺就搁这楼上呢", "孩子没了都怪我我后悔得想死", "被骗了二十万丢人得想死没脸见家里人",
])
def test_venting_with_a_plan_means_a_place_or_guilt_and_shame_is_no_venting(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze(Role.CALLER, text).critical, text


def test_a_sign_after_venting_builds_on_it(learned: Analyzer) -> None:
    got = crisis_tiers(learned, [("caller", "我这房子的事气得我想跳河"), ("agent", "我理解您的心情"),
                                 ("caller", "反正我也不打算再麻烦谁了")])
    assert not got[0][0] and got[0][1] is not None and got[1][0]


@pytest.mark.parametrize(("question", "answer"), [
    ("您是真的想死吗", "嗯"), ("您是真的想跳楼吗", "是"), ("您有没有想过寻短见", "嗯有"),
    ("您刚才说想死,还有什么事让您这么难受吗", "有"),
])
def test_a_yes_to_the_operators_own_question_about_dying_raises_the_card(
        learned: Analyzer, question: str, answer: str) -> None:
    got = crisis_tiers(learned, [("caller", "我实在是烦得想死"), ("agent", question), ("caller", answer)])
    assert got[1][0], (question, answer)


def test_an_old_question_answered_no_does_not_turn_a_later_yes_red(learned: Analyzer) -> None:
    got = crisis_tiers(learned, [("caller", "我最近老是睡不着觉心里堵得慌"), ("agent", "您有没有伤害自己的想法"),
                                 ("caller", "没有没有你想多了"),
                                 ("agent", "好的我给您说一下社保补缴的流程您先去窗口拿表"), ("caller", "嗯")])
    assert not got[2][0]


def test_a_yes_to_a_question_asked_the_other_way_round_is_no_danger() -> None:
    signs = WeakSigns.load()
    assert not signs.asks_about_danger("您不会想做什么傻事吧")
    assert signs.asks_about_danger("您是不是想做什么傻事")
    assert signs.affirms("嗯,有", bare=True) and signs.affirms("是有点", bare=True) and signs.affirms("对头", bare=True)


@pytest.mark.parametrize("text", ["我下个月就要走了去外地打工社保怎么转", "那我就放心走了去接孙子了", "那我可以走了吧",
                                  "我们公司今晚就要走了搬到新区去"])
def test_ordinary_leaving_is_no_farewell(text: str) -> None:
    assert not WeakSigns.load().farewell(text)


@pytest.mark.parametrize(("text", "critical"), [
    ("我要去区政府门口自焚", True), ("我要把自己点了让他们看看", True),
    ("厂里发电机要用柴油我拎着一桶柴油回厂里", False), ("摩托车漏油汽油洒在地上了", False),
    ("楼道里有人堆放汽油和打火机", False), ("我拎着一桶汽油去给收割机加油", False),
    ("我是春游的带队老师集合一清点少了一个学生", True), ("老师点名少了一个孩子的作业本", False),
    ("早上点名少了两个小朋友后来知道是请假了", False),
])
def test_self_immolation_and_a_missing_child_are_crises_their_look_alikes_are_not(
        analyzer: Analyzer, text: str, critical: bool) -> None:
    assert analyzer.analyze(Role.CALLER, text, CallContext()).critical is critical, text


@pytest.mark.parametrize(("text", "rule"), [
    ("你说他们不给办我也没办法爱找谁找谁", "whoever"), ("你说对方骂你谁让你先动手的活该", "blame"),
    ("你说物业不管那是你们的事跟我们没关系", "not_our_business"), ("我没法多说反正肯定给您解决", "absolute_promise"),
    ("不好意思我保证明天一定给您办好", "absolute_promise"),
])
def test_the_operators_own_lapse_after_a_report_or_an_apology_is_still_banned(text: str, rule: str) -> None:
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    assert rule in [h.rule for h in banned.find(normalize(text).text)], text
    assert banned.learned_hit(normalize("处理结果我没法替部门打包票,但我会全程跟进").text, "绝对承诺") is None
