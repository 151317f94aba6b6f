"""One picture per call with the real analysis engine: the department the operator names, the
call's emotion on the meter and the empathy card alike, the knowledge answer kept until a clearly
better one, stale cards from passing words withdrawn, and a fire call's handling department."""

from __future__ import annotations

import json
from pathlib import Path

from assist.live.call_state import Answer, CallKnowledge, CallMood
from assist.live.handling_unit import shipped_units
from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.referral import ReferralTable, told
from assist.protocol.enums import Emotion, PromptAction, PromptKind
from assist.protocol.events import CallState, Event, Prompt, Transcript
from assist.protocol.payloads import BannedPayload, EmpathyPayload, ReferralPayload

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def run(analyzer: Analyzer, lines: list[tuple[str, str]]) -> tuple[LiveAssist, list[list[Event]]]:
    live = LiveAssist("c1", "a1", analyzer, context_factory=CallContext)
    batches: list[list[Event]] = []
    for i, (role, text) in enumerate(lines):
        half = Transcript("c1", role, f"u{i}", False, text[: max(1, len(text) // 2)], i * 4.0, i * 4.0 + 1.5)
        batches.append(live.on_transcript(half))
        batches.append(live.on_transcript(Transcript("c1", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)))
    return live, batches


def scenario(name: str) -> list[tuple[str, str]]:
    rows = [json.loads(x) for x in (SCENARIOS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if x]
    return [(r["role"], r["text"].replace(" ", "")) for r in rows]


def prompts(batches: list[list[Event]], kind: PromptKind) -> list[Prompt]:
    return [e for b in batches for e in b if isinstance(e, Prompt) and e.kind == kind]


def test_operator_named_unit_is_the_call_department(analyzer: Analyzer) -> None:
    # the caller's words point at 住建 (工地, 楼房); the operator says the matter is 社保局's
    live, batches = run(analyzer, [
        ("caller", "我在工地上班楼房的活干完了"),
        ("agent", "你自己去社保局问吧"),
    ])
    banned = [p.data for p in prompts(batches, PromptKind.BANNED) if isinstance(p.data, BannedPayload)]
    assert banned and all("人社" in b.suggestion for b in banned), banned
    assert live.state().department == "人社"
    # 这个归住建管: the operator moves the call to 住建 and the next empathy step names it
    live2, batches2 = run(analyzer, [
        ("caller", "我要投诉拖欠工资的事情气死我了"),
        ("agent", "这个归住建管"),
        ("caller", "你们到底管不管我非常失望"),
    ])
    assert live2.state().department == "住建"
    steps = [p.data for p in prompts(batches2[3:], PromptKind.EMPATHY) if isinstance(p.data, EmpathyPayload)]
    assert steps and any("住建" in s for s in steps[-1].steps), steps


def test_units_table_reads_handling_units_only() -> None:
    units = shipped_units()
    assert units.named("你自己去社保局问吧") is not None
    named = units.named("这个归住建管")
    assert named is not None and named.department == "住建"
    assert units.named("我上次去过社保局") is None  # mentioned, not named as handling the matter
    for alternative in ("养老金认证您在手机上就能办,也可以去社区办", "也可以直接去社区办", "或者您去社区问问"):
        assert units.named(alternative) is None, alternative  # offered beside the matter (trial 6, L3)
    first = units.named("您可以去社区,或者找街道")
    assert first is not None and first.department == "街道社区" and first.said == "社区"  # 或者找街道 is not it
    direct = units.named("这个您直接去人社局问一下")
    assert direct is not None and direct.department == "人社"
    assert units.department_of_referral("119") == "应急管理"
    # the dispatch named at the end of a noise call (new-user trial 10)
    dispatched = units.named("我这边今天下午五点前 就把工单加急派给城管执法局")
    assert dispatched is not None and dispatched.department == "城管"


def test_meter_and_empathy_show_the_same_emotion(analyzer: Analyzer) -> None:
    for name in ("wage-arrears", "sarcastic-complainer", "suicide", "multi-issue", "consumer-dispute"):
        _, batches = run(analyzer, scenario(name))
        for batch in batches:
            states = [e for e in batch if isinstance(e, CallState)]
            for p in batch:
                # (an update that only moves the card on a step, after an operator final, keeps the emotion
                # the card answered)
                if isinstance(p, Prompt) and isinstance(p.data, EmpathyPayload) and p.action != PromptAction.WITHDRAW \
                        and (p.action == PromptAction.SHOW or p.data.stage == 0):
                    assert states, f"{name}: an empathy card without the call state beside it"
                    assert p.data.label == states[-1].emotion.label, (name, p.data.label, states[-1].emotion)


def test_call_mood_has_hysteresis() -> None:
    mood = CallMood()
    mood.fold(Emotion.ANGER, 0.8)
    mood.fold(Emotion.ANXIETY, 0.6)  # one anxious utterance does not relabel an angry call
    assert mood.label == Emotion.ANGER
    mood.fold(Emotion.ANXIETY, 0.7)
    assert mood.label == Emotion.ANXIETY
    for _ in range(6):
        mood.fold(Emotion.CALM, 0.0)
    assert mood.label == Emotion.CALM and mood.level < 0.3


def test_knowledge_changes_only_for_a_clearly_better_answer() -> None:
    kb = CallKnowledge()
    kb.adopt(Answer("a", 0.6, "住建"))
    assert not kb.better(Answer("b", 0.7, "住建"), "住建")
    assert kb.better(Answer("b", 0.95, "住建"), "住建")
    assert not kb.better(Answer("c", 0.99, "市场监管"), "住建")  # another department than the call's
    kb.fold(())
    kb.fold(())
    assert kb.better(Answer("b", 0.7, "住建"), "住建")  # the current answer faded


def test_passing_word_referral_retires(analyzer: Analyzer) -> None:
    _, batches = run(analyzer, scenario("suicide"))
    cards = [(p.action, p.data.number) for p in prompts(batches, PromptKind.REFERRAL)
             if isinstance(p.data, ReferralPayload)]
    withdrawn = {n for action, n in cards if action == PromptAction.WITHDRAW}
    assert {"110", "12348"} <= withdrawn  # 网贷 → 110/12348 gave way to the crisis card
    assert (PromptAction.SHOW, "12356") in cards
    assert "12356" not in withdrawn
    # without a crisis: a referral from a passing word retires after two caller utterances
    _, quiet = run(analyzer, [
        ("caller", "我想问一下公积金怎么提取顺便说我欠了网贷"),
        ("caller", "公积金提取要什么材料"),
        ("caller", "公积金提取要多久能到账"),
    ])
    gone = [p for p in prompts(quiet, PromptKind.REFERRAL) if p.action == PromptAction.WITHDRAW]
    assert any(p.utterance_id == "u0" for p in gone), prompts(quiet, PromptKind.REFERRAL)
    kept = [p for p in prompts(quiet, PromptKind.KNOWLEDGE) if p.action == PromptAction.WITHDRAW]
    assert kept == []  # the strong knowledge answer stays


def test_fire_call_is_handled_by_emergency_management(analyzer: Analyzer) -> None:
    live, _ = run(analyzer, scenario("fire"))
    assert live.state().department == "应急管理"  # not 住建 from the vague 楼下
    dv, _ = run(analyzer, scenario("domestic-violence"))
    assert dv.state().department != "住建"  # 幸福小区 is an address, not the handling unit


def test_the_call_state_says_which_crisis_numbers_the_operator_said(analyzer: Analyzer) -> None:
    """Trial 6, M11: the supervisor's pin of an ended crisis call says whether its numbers were told."""
    crisis = [("caller", "我爸刚才突然倒在地上了叫他也不答应,嘴唇都发紫了")]
    before = [("agent", "您好,这里是市民服务热线,请讲"), ("agent", "紧急情况请拨打120")]  # said before any crisis
    live, _ = run(analyzer, before + crisis)
    state = live.state()
    assert state.critical and "120" in state.crisis_numbers and state.told == ()
    live, _ = run(analyzer, [*crisis, ("agent", "您别着急,我现在马上帮您转接幺二零急救,请不要挂电话")])
    state = live.state()
    assert state.told == ("120",) and set(state.told) <= set(state.crisis_numbers)
    wire = json.loads(state.to_json())
    assert wire["told"] == ["120"] and wire["crisis_numbers"] == list(state.crisis_numbers)
    # a number told once the crisis stood, before the card named it, counts when it joins (new-user trial 8)
    live, _ = run(analyzer, [("caller", "楼下着火了 烟很大 我们下不去了"),
                             ("agent", "我马上为您转接120和119 请不要挂电话"),
                             ("caller", "我老婆吸了烟 现在叫她也不答应 嘴唇都发紫了")])
    state = live.state()
    assert {"119", "120"} <= set(state.crisis_numbers) and {"119", "120"} <= set(state.told), state


def shipped_table() -> ReferralTable:
    return ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml")


def test_a_number_read_back_or_negated_is_not_told() -> None:
    """Stop 16's review: a phone or house number read back turned the pin green (已告知 120)."""
    for said in ("您的电话是13812034567对吧", "您是在幸福路120号吗", "您家是1203室吗", "您先别打120", "不用打120了",
                 "您家的地址是长江路120号吗"):
        assert not told("120", said), said
    # sent to hang up and dial alone is neither told nor the transfer (new-user trial 8): banned.toml's words
    alone = BannedList.load(DEFAULT_DATA_DIR / "banned.toml").sent_away
    referrals = Analyzer.load().referrals  # the live pin's table reads them
    for said in ("您先挂了打120", "你先挂了自己打120吧", "那你赶紧打120啊", "你自己打120吧"):
        assert not told("120", said, alone=alone) and not referrals.tells("120", said), said
    assert told("120", "那你赶紧打120啊") and told("12333", "您可以自己拨打12333咨询", alone=alone)
    for said in ("我现在马上帮您转接120急救", "请您马上拨打120", "我帮您联系120", "请打电话给120",
                 "我马上请120过去"):
        assert told("120", said), said
    for number, said in (("12348", "这个可以咨询12348"), ("12333", "社保的话可以问12333"),
                         ("12348", "法律援助热线是12348"), ("110", "我马上帮您转110"), ("12333", "社保电话12333"),
                         ("12333", "您可以致电12333"), ("12315", "您可以向12315投诉"), ("12356", "您记一下号码,12356"),
                         ("120", "我这边已经给您叫了120"), ("110", "我帮您报110"), ("120", "没事的,我马上拨打120")):
        assert told(number, said), said


def test_a_question_a_refusal_or_a_word_like_a_name_is_not_told() -> None:
    """Stop 17's review: 请问, 问题, 申请 and a 请 before a refusal must not tell a number or a spoken name."""
    table = shipped_table()
    cases = [("120", "请问救护车到了吗"), ("110", "请问警察来了吗"), ("119", "请问被占用的是消防通道还是小区主干道?"),
             ("110", "您这个问题派出所会处理的"), ("120", "请您稍等120马上就到"), ("12333", "这个问题12333也能解答"),
             ("12356", "您可以申请心理援助"), ("110", "您的电话是多少我让派出所联系您"), ("120", "请不要打120"),
             ("120", "请您先别打120"), ("120", "请先不用打120"), ("110", "请您别着急民警马上到"),
             ("120", "不需要打120"), ("120", "没必要打120"), ("110", "别再打110了"), ("120", "先不要拨打120"),
             ("120", "您之前打过120吗"), ("110", "转交派出所"), ("110", "转告民警"), ("120", "转账120元"),
             ("110", "请问一下派出所在哪"), ("110", "我不挂电话民警马上就到")]
    for number, said in cases:
        assert not table.tells(number, said), said
    names = shipped_table().spoken("120")  # referrals.toml `spoken`: a transfer said by name
    assert "急救中心" in names and told("120", "我马上帮您转接急救中心", names)
    assert not told("120", "急救中心离您家远吗", names)  # named, not transferred to


def test_the_state_names_only_the_current_crisis_numbers_told(analyzer: Analyzer) -> None:
    """A number told and then no longer the crisis's (a guess replaced) is not shown as told (review, H2)."""
    live, _ = run(analyzer, [("caller", "我爸刚才突然倒在地上了叫他也不答应,嘴唇都发紫了"),
                             ("agent", "我马上帮您转接120")])
    live.call.told.append("12356")  # told in an earlier reading of the call that no longer stands
    state = live.state()
    assert state.told == ("120",) and "12356" not in state.crisis_numbers


def test_a_kind_where_one_number_is_enough_owes_no_other(analyzer: Analyzer) -> None:
    """New-user trial 9: the overlay's end line owed every number of the card (未告知 110 after 119 for people trapped)
    while the report excused it (被困: 119 or 110, crisis.toml one_of): one rule now, CrisisRules.told_instead."""
    lift = ("caller", "我们被困在电梯里了 出不去 已经快一个小时了")
    live, _ = run(analyzer, [lift, ("agent", "我马上为您转接119消防救援")])
    state = live.state()
    assert "119" in state.crisis_numbers and state.told == ("119",), state
    assert state.owed == (), state
    beaten, _ = run(analyzer, [("caller", "我老公拿刀砍我 我的手一直在流血"), ("agent", "我马上帮您转接110")])
    owed = beaten.state().owed
    assert "120" in owed and "110" not in owed, beaten.state()  # 医疗急症 needs its own: 120 is still owed


def test_the_joint_dispatch_hands_on_the_fire_brigade(analyzer: Analyzer) -> None:
    """New-user trial 12: a fire with people hurt, the operator transferred 120 and told 110, and the end line still
    owed 119 (未告知 119 · 请回访).  110 dispatches the fire brigade jointly (crisis.toml [linked]); 120 does not."""
    fire = ("caller", "楼下饭馆着火了 好多烟 有两个人被烧伤了躺在门口")
    live, _ = run(analyzer, [fire, ("agent", "我马上帮您转接120 同时请您拨打110报警")])
    state = live.state()
    assert "119" in state.crisis_numbers and "119" not in state.told, state
    assert state.owed == (), state
    alone, _ = run(analyzer, [fire, ("agent", "我马上帮您转接120")])
    assert "119" in alone.state().owed, alone.state()  # an ambulance does not send the fire brigade

