"""New-user trial 11 (stop 22, docs/nlp-evaluation.md): its findings, line by line, as the engine and live assist
read them now."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.crisis_rules import shipped_crisis_rules
from assist.nlp.normalize import normalize
from assist.protocol.enums import PromptKind, Role
from assist.protocol.events import Prompt
from assist.protocol.payloads import ReferralPayload
from assist.training.rules import TrainingRules
from tests.support.caller_lines import live_call


def test_a_caller_hanging_up_raises_no_sign(learned: Analyzer) -> None:
    """算了算了挂了 at the end of a water complaint: the model read 挂了 as a death (red card, 110/12356)."""
    for text in ("算了算了挂了", "算了 不说了 我挂了", "行了行了 挂了啊"):
        a = learned.analyze_final(Role.CALLER, text)
        assert not a.critical and a.safety_question is None, text
    assert learned.weak_signs.hangs_up("算了算了挂了") and not learned.weak_signs.hangs_up("我要挂了 活不下去了")
    assert learned.analyze_final(Role.CALLER, "我要挂了 活不下去了").critical


def test_a_neighbour_not_seen_for_days_behind_a_door_nobody_answers(analyzer: Analyzer) -> None:
    a = analyzer.analyze(Role.CALLER, "我也有点担心她 好几天没见她出门了 门口报纸堆了一摞 敲门也没人应")
    assert a.critical and "120" in [r.number for r in a.referrals]
    assert not analyzer.analyze(Role.CALLER, "好几天没见他出门了 他出差去了 打电话也没人接").critical


@pytest.mark.parametrize(("text", "warned"), [
    ("好的这个情况可能比较紧急老人可能在家里摔倒了我马上帮您联系一一零和社区上门查看", False),  # the danger hedged
    ("协议离婚的话双方带身份证户口本结婚证去婚姻登记处 有三十天冷静期", False),  # the law's 冷静期
    ("反正我已经给你登记了你等着吧", True),
    ("可能明天就能修好", True), ("您先冷静一下", True),
])
def test_operator_lines_of_the_trial(analyzer: Analyzer, text: str, warned: bool) -> None:
    banned = analyzer.analyze(Role.AGENT, text).banned
    assert bool(banned) is warned, (text, banned)
    if text.endswith("你等着吧"):  # a wait with no time: its alternative gives the time limits, not 大点声
        assert "工作日" in banned[0].suggestion, banned


def test_a_divorce_registration_question_is_civil_affairs_with_its_answer(learned: Analyzer) -> None:
    a = learned.analyze_final(Role.CALLER, "那个我想咨询一下离婚的话要准备什么材料去哪里办")
    assert "12348" not in [r.number for r in a.referrals] and a.department == "民政", a.department
    assert a.knowledge and a.knowledge[0].id == "divorce-registration", a.knowledge
    assert "12348" in [r.number for r in learned.analyze_final(Role.CALLER, "他不同意离婚 我想去法院起诉").referrals]


def test_an_angry_threat_to_petition_gets_no_crisis_line(learned: Analyzer) -> None:
    text = "我跟你讲这回再没人管我就去信访局我还要发到抖音上让大家看看"
    a = learned.analyze_final(Role.CALLER, text)
    assert "12356" not in [r.number for r in a.referrals] and not a.critical
    assert learned.weak_signs.cue("孩子都在外地没人管我了") and not learned.weak_signs.cue(text)


def test_a_utility_outage_retort_asks_no_safety_question(learned: Analyzer) -> None:
    a = learned.analyze_final(Role.CALLER, "我能不激动吗两天没水了饭都做不了")
    assert not a.critical and a.safety_question is None


def test_hiding_under_a_bed_from_a_drunk_husband_is_violence_not_entrapment() -> None:
    rules = shipped_crisis_rules()
    line = normalize("他每次喝了酒回来就那个孩子都躲到床底下 上次我胳膊到现在还是青的").text
    named = [k.name for k in rules.kinds if k.said_by_caller(line)]
    assert "暴力" in named and "被困" not in named, named
    assert [k.name for k in rules.kinds if k.said_by_caller(normalize("水涨上来了我们都躲到楼顶上了").text)] == ["被困"]


def test_worry_for_the_caller_and_owning_the_failure_are_credited() -> None:
    rules = shipped_crisis_rules()
    calming = next(r for r in rules.items if r.name == "情绪承接")
    assert calming.said_in(normalize("阿姨我很担心您 您现在身边有人吗").text, (), (), rules.tells)


def test_a_reported_violence_call_gets_one_kind_on_overlay_and_cards(analyzer: Analyzer) -> None:
    lines = [("caller", "他刚才打电话说今天晚上回来要我好看 家里的菜刀我都藏起来了")]
    live, events = live_call(analyzer, lines)
    assert live.call.crisis.kind == "暴力", live.call.crisis.kind
    police = [e.data for e in events if isinstance(e, Prompt) and e.kind is PromptKind.REFERRAL
              and isinstance(e.data, ReferralPayload) and e.data.number == "110"]
    assert police, events


@pytest.mark.parametrize("text", [
    "嗯我就是问问离婚要准备啥材料 还有就是他刚才拿着菜刀在客厅转 说今晚谁也别想活",
    "也没什么 就是两口子吵架 他刚才掐了我脖子一下 说等他酒醒了再收拾我 我想问问离婚去哪里办",
    "我前年被我老公打过好几回后来带着孩子搬出来了 就是想问问像我这样离婚孩子怎么办",
])
def test_a_violent_marriage_keeps_the_legal_line_beside_the_procedure(analyzer: Analyzer, text: str) -> None:
    """The procedure question alone is 民政's; a divorce from a violent husband is a legal matter too (12348)."""
    assert "12348" in [r.number for r in analyzer.analyze(Role.CALLER, text).referrals]


def test_a_hang_up_after_a_sign_is_still_a_sign(learned: Analyzer) -> None:
    """The review of stop 22: after the safety question, 算了算了 挂了 withdrew the amber card and raised nothing."""
    ctx = CallContext()
    first = learned.analyze_final(Role.CALLER, "最近总是睡不着 觉得活着挺没劲的", ctx, utterance_id="c1")
    assert first.critical or first.safety_question is not None
    learned.analyze(Role.AGENT, "您最近是不是有过伤害自己的想法", ctx)
    last = learned.analyze_final(Role.CALLER, "算了算了 挂了", ctx, utterance_id="c2")
    assert last.critical or last.safety_question is not None


@pytest.mark.parametrize(("text", "warned"), [
    # the review of stop 22: RULE excused the operator's own guesses; ACTION an unrelated, negated or refused action;
    # DANGER a danger played down; 我保证转到 an outcome by others; 你等着吧 mid-line
    ("我们按流程给您派单了 您放心 估计明天就能有人来修", True), ("按政策你回去等通知吧", True),
    ("根据政策您这个应该能批下来", True), ("他们说是下周 我估计也差不多能修好", True),
    ("反正我已经按规定给你登记了你等着吧", True), ("你就等着吧 急也没用", True),
    ("补贴什么时候发我也不知道 我核实一下您的地址是幸福小区三栋吗", True), ("这个我真不知道 我通知不了他们上门", True),
    ("我不知道 我让他们上门他们也不去", True), ("我也不知道 我让你自己过去问", True),
    ("我保证转到区里他们明天就给您修好", True), ("那个燃气味可能不危险 明天就有人上门", True),
    ("老人可能就是摔了一下 明天社区会上门看看", True),
    ("按照规定,承办单位应该在五个工作日内答复您", False), ("孩子可能是烫伤了我马上帮您联系120", False),
    ("老人可能骨折了 我马上给您叫救护车", False),
])
def test_the_reviews_operator_lines(analyzer: Analyzer, text: str, warned: bool) -> None:
    assert bool(analyzer.analyze(Role.AGENT, text).banned) is warned, text


@pytest.mark.parametrize("text", [
    "我那个租客一个星期没见人了 敲门没人开 打电话也不接 房租拖了两个月了",
    "楼上那户好几天没看到人出来 敲门没人应 估计是去女儿家住了",
    "我们领导说等他回来要我好看 还要扣我工资", "河边护栏外面站着好几个人在钓鱼 太危险了",
])
def test_the_reviews_look_alikes_are_not_critical(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze(Role.CALLER, text).critical, text


def test_the_reviews_crisis_kinds_and_steps() -> None:
    rules = shipped_crisis_rules()
    for line in ("着火了 我们躲在厕所里 用湿毛巾堵着门", "家里燃气泄漏了味道很大 我带孩子躲到邻居家了"):
        assert "暴力" not in [k.name for k in rules.kinds if k.said_by_caller(normalize(line).text)], line
    steps = {s.name: s for s in TrainingRules.load().steps}
    duty = steps["责任表态"]
    assert duty.done_in(normalize("之前没有处理到位是我们工作没做好").text)
    for denied in ("这不是我们的问题 是社区没处理到位", "不是我们工作没做好 是你材料不全"):
        assert not duty.done_in(normalize(denied).text), denied
