"""New-user trial 7 (stop 18, docs/nlp-evaluation.md): a bereaved daughter telling how her father died got a red
120 card with chest-pain first aid in a funeral-subsidy call; extortionists' arson threat with petrol at the door
was read as self-harm (12356); a courtesy (这是我们应该做的) was warned as a vague promise."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.normalize import normalize
from assist.protocol.enums import Role
from tests.support.caller_lines import crisis_tiers

BEREAVED = ("嗯 他走得太突然了 那天晚上还好好的 说胸口闷 送到医院的时候人就不行了 "
            "抢救了一个多小时也没救过来 医生说是心梗 我到现在都不敢相信 这几天办后事 整个人都是懵的 晚上一闭眼就是他")
EXTORTION = ("报案 俺不敢啊 昨儿黑他们又来了 领头那个光头说 再不拿钱 就一把火把俺店给点了 "
             "还说知道俺家住哪 俺闺女才上初中 今儿早上开门一看 门口放了一桶汽油 俺这腿到现在都是软的")


def test_a_relatives_death_told_with_its_symptoms_is_no_emergency(learned: Analyzer) -> None:
    (turn,) = crisis_tiers(learned, [("caller", BEREAVED)])
    assert turn == (False, None)
    assert "120" not in {r.number for r in learned.analyze_final(Role.CALLER, BEREAVED).referrals}


# the independent review of stop 18: a first version hid every one of these present emergencies (a death named
# anywhere in the line, or after the emergency, cancelled it)
@pytest.mark.parametrize("text", [
    "我妈去世了 我爸刚才也晕倒了", "我爸走了我也不想活了", "我爸去世了,我妈哭得晕过去了,怎么叫都没反应",
    "我爸去世以后我妈一个人在家,今天摔倒了起不来,头上流了好多血",
    "我来问丧葬补助的,排队的时候我突然心口疼得厉害,出了一身冷汗",
    "我叔叔病故了,我奶奶听说后心脏病犯了,倒在地上一动不动", "老伴没救过来,我孙子在旁边抽搐口吐白沫",
    "那个撞我的人已经走了,我腿上一直在流血,站不起来", "邻居大爷倒在楼道里一动不动,他老伴前年就去世了,一个人住",
    "我爸心脏病又犯了倒在地上,上次也是这样差点没救过来", "我老公倒在地上一动不动,他去年心梗就差点去世了",
    "隔壁着火了烟很大,里面还有个老人,他老伴前年去世了", "煤气泄漏了味道很大,这家老人老伴去世了一个人住",
])
def test_danger_now_beside_a_death_still_is(learned: Analyzer, analyzer: Analyzer, text: str) -> None:
    assert learned.analyze_final(Role.CALLER, text).critical
    assert analyzer.analyze(Role.CALLER, text).critical  # the rules alone too


def test_an_arson_threat_with_petrol_at_the_door_is_violence_not_self_harm(learned: Analyzer) -> None:
    r = learned.analyze_final(Role.CALLER, EXTORTION)
    numbers = {x.number for x in r.referrals}
    assert r.critical and "110" in numbers and "12356" not in numbers, (r.critical_reason, numbers)


@pytest.mark.parametrize(("text", "critical"), [
    ("领头那个光头说 再不拿钱 就一把火把俺店给点了", True), ("今儿早上开门一看 门口放了一桶汽油", True),
    ("店门口被泼了汽油", True), ("我们家门口放了一桶汽油是给摩托车加的", False), ("一把火把那堆落叶烧了", False),
    ("去年一把火把我家的店烧了,保险到现在还没赔", False),
    # the independent review of stop 18: an ultimatum in other words (only the model had it)
    ("他说三天之内不还钱就烧了我家", True), ("他们说再不还钱就砸了我的店", True),
    ("不交物业费就停了我家的水", False), ("上回没给钱就烧了他家的草垛", False),
])
def test_arson_threats_by_others_and_their_look_alikes(analyzer: Analyzer, text: str, critical: bool) -> None:
    assert analyzer.analyze(Role.CALLER, text).critical is critical


@pytest.mark.parametrize(("text", "warned"), [
    ("不客气 这是我们应该做的 有进展我们会及时联系您 请问还有其他需要帮助的吗", False),
    ("应该的应该的,明天会有人上门", False), ("这个应该明天就能修好", True),
])
def test_a_courtesy_is_no_vague_promise(text: str, warned: bool) -> None:
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    assert bool(banned.find(normalize(text).text)) is warned


def test_a_polite_closing_with_the_callers_next_step_asks_nothing(learned: Analyzer) -> None:
    """Trial 7: the crisis-bank similarity net (the model's own 0.11) asked the safety question on a closing."""
    turns = crisis_tiers(learned, [
        ("caller", "我想问一下那个居住证网上怎么续签"),
        ("agent", "您可以在政务服务网上办理,登录以后选居住证签注就可以"),
        ("caller", "那我今天晚上就在手机上弄,弄不明白再打电话问你们"),
    ])
    assert turns == [(False, None), (False, None)]
    # a plan does not hide despair said with it
    (turn,) = crisis_tiers(learned, [("caller", "那我明天再打电话问,反正我也活不了几天了")])
    assert turn[0] or turn[1] is not None


def test_a_rider_fallen_on_a_burst_mains_ice_gets_the_medical_question_and_an_urgent_order(learned: Analyzer) -> None:
    """Trial 7: a 3–5 working-day limit in the suggested wording, and 您现在安全吗 where 摔倒的人受伤了吗 was
    wanted.  The call's empathy card keeps the urgent order once the matter was urgent."""
    from assist.live.prompts import LiveAssist
    from assist.nlp.analyzer import CallContext
    from assist.protocol.events import Prompt, Transcript
    from assist.protocol.payloads import EmpathyPayload
    lines = [
        ("caller", "你好 我们这边幸福路和建设路路口那个自来水管子爆了 水流了一地 现在天冷全冻成冰了"),
        ("agent", "好的您别着急 请问具体是在路口的哪个位置"),
        ("caller", "刚才有个骑电动车的大爷在那摔倒了 现在还坐在地上呢 你们赶紧派人来处理一下吧"),
        ("caller", "你们到底什么时候能来人啊 这都多长时间了 再摔一个怎么办"),
    ]
    ctx = CallContext()
    learned.analyze_final(Role.CALLER, lines[0][1], ctx)
    r = learned.analyze_final(Role.CALLER, lines[2][1], ctx)
    # the fallen man: a red 120 card or the medical safety question, never 您现在安全吗
    assert r.critical or (r.safety_question is not None and "意识" in r.safety_question), (r.critical,
                                                                                          r.safety_question)
    live = LiveAssist("c1", "a1", learned, context_factory=CallContext)
    steps: list[tuple[str, ...]] = []
    for i, (role, text) in enumerate(lines):
        for event in live.on_transcript(Transcript("c1", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)):
            if isinstance(event, Prompt) and isinstance(event.data, EmpathyPayload):
                steps.append(event.data.steps)
    assert steps and all("工作日" not in s[2] for s in steps if s), steps


@pytest.mark.parametrize("said", ["您先挂了马上打110", "你先把电话挂了 赶紧自己打110", "您挂了以后马上打110报警"])
def test_telling_a_caller_in_danger_to_hang_up_and_dial_is_warned_only_in_a_crisis(analyzer: Analyzer,
                                                                                  said: str) -> None:
    """Trial 7: the training report did not flag 您先挂了马上打110 (a caller at risk is transferred, not sent to
    dial alone); on a routine call the same words can be plain advice."""
    from assist.nlp.analyzer import CallContext
    crisis = CallContext()
    assert analyzer.analyze(Role.CALLER, "他拿着刀在砸我家门 说要砍死我", crisis).critical
    hits = analyzer.analyze(Role.AGENT, said, crisis).banned
    assert [h.category for h in hits] == ["推诿"] and "不要挂电话" in hits[0].suggestion, hits
    routine = CallContext()
    analyzer.analyze(Role.CALLER, "我家昨天晚上被偷了 想问问怎么办", routine)
    assert not analyzer.analyze(Role.AGENT, said, routine).banned
    for kept in ("您别挂电话,我马上帮您转110", "您先别挂,我给您转120"):
        assert not analyzer.analyze(Role.AGENT, kept, crisis).banned, kept
