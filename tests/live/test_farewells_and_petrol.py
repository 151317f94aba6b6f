"""The second independent review's open findings (/work review of stop 12), fixed:

- calm farewells inside a routine call (退休金我都留给闺女了再见, 麻烦你了社保的事不用了我今天晚上就走) got
  nothing once the model put 0.02-0.22 on them: weak_signs.toml ``farewells`` now ask the safety question
  even when no net flags the line, and a line read as despair does too (refine.apply, the rules' floor);
- a bare goodbye at the end of a praise call (好的那不打扰你们了再见) was a self-harm cue;
- 汽油 was in no rule: petrol carried to a place, or poured over oneself, is a rules crisis.
"""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.weaksigns import WeakSigns
from assist.protocol.enums import Role

FAREWELLS = [
    "退休金我都留给闺女了再见", "麻烦你了社保的事不用了我今天晚上就走", "户口迁完了我就可以安心走了",
    "医保的事就这样吧谢谢你我想睡个长觉", "社保断缴三个月了我这把老骨头也该歇歇了",
    "我这个养老保险交了也白交我又活不到那天", "公积金提出来给孩子交学费我就放心了我去找他爸了",
    "我跟你说我这个养老金的事办完了就没有遗憾了", "停车费的事算了我车都卖了人也要走了",
]
ORDINARY_GOODBYES = ["好的谢谢再见", "好的那不打扰你们了再见", "我明天就走了去外地打工社保怎么转", "这事办完我就安心了",
                     "我这把老骨头了还得自己跑社保局", "我们全家下个月搬去女儿那边住了"]


@pytest.mark.parametrize("text", FAREWELLS)
def test_a_farewell_inside_a_routine_call_asks_the_safety_question(learned: Analyzer, text: str) -> None:
    assert WeakSigns.load().farewell(text)
    a = learned.analyze_final(Role.CALLER, text, CallContext())
    assert a.critical or a.safety_question is not None, text


@pytest.mark.parametrize("text", ORDINARY_GOODBYES)
def test_an_ordinary_goodbye_or_move_is_no_farewell_and_no_cue(text: str) -> None:
    signs = WeakSigns.load()
    assert not signs.farewell(text)
    assert not signs.cue(text)


def test_a_farewell_after_an_earlier_sign_raises_the_card(learned: Analyzer) -> None:
    ctx = CallContext()
    first = learned.analyze_final(Role.CALLER, "家里人都不理解我我好累", ctx, utterance_id="c1")
    assert first.safety_question is not None and not first.critical
    second = learned.analyze_final(Role.CALLER, "退休金我都留给闺女了再见", ctx, utterance_id="c2")
    assert second.critical


def test_the_floor_names_its_reason_and_asks_about_self_harm(learned: Analyzer) -> None:
    a = learned.analyze_final(Role.CALLER, "户口迁完了我就可以安心走了", CallContext())
    if not a.critical:  # the floor (or a weak net): the reason says what was heard, the question is about self-harm
        assert a.critical_reason is not None and ("告别" in a.critical_reason or "模型" in a.critical_reason)
        assert a.safety_question is not None and "伤害自己" in a.safety_question
    assert any(r.number == "12356" for r in a.referrals)


@pytest.mark.parametrize("text", ["我在他们单位楼下我带着汽油呢", "我拎着一桶汽油在区政府门口",
                                  "我已经浇了一身汽油站在老房子里", "汽油和打火机都准备好了",
                                  # the fourth new-user trial (f3, f8): amber first, then red as 暴力 110 only
                                  "我今天已经买了两桶汽油现在就在区政府大门口", "我就在信访局大厅我带了一瓶汽油在包里",
                                  "他们再不出来个管事的我就浇在身上点了大家一起完蛋"])
def test_petrol_carried_or_poured_is_a_rules_crisis_with_110_and_119(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze(Role.CALLER, text)
    assert a.critical, text
    assert {"110", "119"} <= {r.number for r in a.referrals}
    assert a.critical_reason is not None and "汽油" in a.critical_reason


@pytest.mark.parametrize("text", ["汽油价格又涨了", "加油站排长队汽油都加不上", "我的摩托车汽油被人偷了",
                                  "汽油车限行是哪几天", "我买了一桶汽油给发电机用"])
def test_petrol_in_ordinary_matters_is_no_crisis(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze(Role.CALLER, text).critical
