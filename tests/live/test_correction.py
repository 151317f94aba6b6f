"""A danger the caller takes back (crisis_kinds.toml [corrections]): shown on the crisis card, and stood down only
when the operator confirms it (new-user trial 12: 不是着火 是烧纸 stayed a red card to the end, with nudges and 未告知
119)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.live.crisis import CrisisKinds
from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.data import DEFAULT_DATA_DIR, DataError
from assist.protocol.enums import AlertKind, PromptAction, PromptKind, Role
from assist.protocol.events import Alert, Event, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload

FIRE = ("caller", "着火了着火了 楼下冒了好大的烟 你们快来")
TAKEN_BACK = ("caller", "哦哦不好意思 不是着火 是楼下有人在烧纸")


def run(analyzer: Analyzer, lines: list[tuple[str, str]]) -> tuple[LiveAssist, list[Event]]:
    live = LiveAssist("c1", "a1", analyzer, context_factory=CallContext)
    out: list[Event] = []
    for i, (role, text) in enumerate(lines):
        out += live.on_transcript(Transcript("c1", role, f"u{i}", False, text[: max(1, len(text) // 2)], i * 4.0,
                                             i * 4.0 + 1.5))
        out += live.on_transcript(Transcript("c1", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
    return live, out


def crisis_cards(events: list[Event]) -> dict[str, Prompt]:
    """The crisis cards on screen at the end, by prompt id (their newest message)."""
    shown: dict[str, Prompt] = {}
    for e in events:
        if isinstance(e, Prompt) and e.kind is PromptKind.CRITICAL:
            if e.action is PromptAction.WITHDRAW:
                shown.pop(e.prompt_id, None)
            else:
                shown[e.prompt_id] = e
    return shown


@pytest.fixture(params=["rules", "learned"])
def engine(request: pytest.FixtureRequest, analyzer: Analyzer, learned: Analyzer) -> Analyzer:
    return analyzer if request.param == "rules" else learned


def test_the_correction_is_shown_and_ends_nothing_by_itself(engine: Analyzer) -> None:
    live, events = run(engine, [FIRE, TAKEN_BACK])
    cards = crisis_cards(events)
    assert cards and all(isinstance(p.data, CriticalPayload) and "烧纸" in p.data.correction for p in cards.values())
    assert live.state().crisis_numbers == ("119",) and live.state().owed == ("119",)  # still owed until confirmed
    assert not [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]


def test_the_operator_restating_it_stands_the_crisis_down(engine: Analyzer) -> None:
    confirmed = ("agent", "好的 只是烧纸 没有着火就好 那我给您登记一下 三个工作日内回复您")
    live, events = run(engine, [FIRE, TAKEN_BACK, confirmed])
    assert crisis_cards(events) == {}
    state = live.state()
    assert state.critical and state.crisis_numbers == () and state.owed == ()  # no 未告知 119 · 请回访
    stood = [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]
    assert len(stood) == 1 and "烧纸" in stood[0].message and "119" in stood[0].message
    # the routine handling after it is no nudge: the danger is over
    assert not [e for e in events if isinstance(e, Prompt) and e.kind is PromptKind.HANDLING
                and e.action is PromptAction.SHOW and e.audio_time > 8.0]


def test_asked_back_the_callers_yes_stands_it_down_and_a_no_does_not(engine: Analyzer) -> None:
    asked = ("agent", "我跟您确认一下 是有人在烧纸 没有着火是吧")
    live, events = run(engine, [FIRE, TAKEN_BACK, asked, ("caller", "对对对 没事了")])
    assert crisis_cards(events) == {} and live.state().owed == ()
    live, events = run(engine, [FIRE, TAKEN_BACK, asked, ("caller", "我也说不好 我再看看")])
    assert crisis_cards(events) and live.state().owed == ("119",)


def test_a_danger_after_the_correction_keeps_the_crisis(engine: Analyzer) -> None:
    live, events = run(engine, [FIRE, TAKEN_BACK, ("caller", "哎不对 烧纸把旁边的柴火堆点着了 火越来越大了"),
                                ("agent", "好的 不是着火就好")])
    assert crisis_cards(events) and "119" in live.state().crisis_numbers
    assert not [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]


def test_a_transfer_confirms_nothing_and_a_later_danger_is_a_new_crisis(engine: Analyzer) -> None:
    live, events = run(engine, [FIRE, TAKEN_BACK, ("agent", "您确定不是着火吗 我还是帮您转接119吧")])
    assert crisis_cards(events) and live.state().crisis_numbers == ("119",)
    live, events = run(engine, [FIRE, TAKEN_BACK, ("agent", "好的 不是着火就好"),
                                ("caller", "哎呀 不对 真的着火了 屋里全是烟")])
    assert crisis_cards(events) and "119" in live.state().crisis_numbers
    critical = [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.CRITICAL]
    assert len({a.alert_id for a in critical}) == 2  # the danger again after the stand-down is a new alert


@pytest.mark.parametrize("lines", [
    # a kind a caller may be made to take back: never stood down on words
    [("caller", "我老公喝醉了在打我 你们快来"), ("caller", "没事了没事了 误会了 他不打了"),
     ("agent", "好的 是误会就好")],
    [("caller", "我不想活了 药都准备好了"), ("caller", "我开玩笑的 没事"), ("agent", "好的 没事就好")],
    # words that take back nothing
    [FIRE, ("caller", "没有明火 但是烟越来越大了"), ("agent", "好的 没有明火")],
])
def test_no_stand_down_without_a_correction_of_a_misjudged_danger(analyzer: Analyzer,
                                                                 lines: list[tuple[str, str]]) -> None:
    live, events = run(analyzer, lines)
    assert not [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]
    assert live.state().crisis_numbers, live.state()


def test_a_gas_smell_taken_back() -> None:
    analyzer = Analyzer.load()
    smell = ("caller", "我家厨房一股煤气味 好像燃气泄漏了")
    back, confirmed = ("caller", "哦不是煤气味 是下水道的味"), ("agent", "好的 是下水道的味道 不是燃气泄漏")
    live, events = run(analyzer, [smell, back, confirmed])
    assert crisis_cards(events) == {} and live.state().owed == ()


def test_a_correction_of_an_unknown_kind_is_a_data_error(tmp_path: Path) -> None:
    for name in ("crisis_kinds.toml", "referrals.toml"):
        (tmp_path / name).write_text((DEFAULT_DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    kinds = tmp_path / "crisis_kinds.toml"
    kinds.write_text(kinds.read_text(encoding="utf-8").replace('"燃气泄漏" = [', '"煤气" = ['), encoding="utf-8")
    with pytest.raises(DataError, match="煤气"):
        CrisisKinds.load(tmp_path)
    assert "火灾" in CrisisKinds.load(DEFAULT_DATA_DIR).corrections.kinds
    assert "暴力" not in CrisisKinds.load(DEFAULT_DATA_DIR).corrections.kinds  # a caller may be made to say 没事


F, C = FIRE, TAKEN_BACK
ASKED = ("agent", "确认一下 没有着火是吧")


# The review of stop 24: its whole-call probes in which a real danger was stood down by the first version.
@pytest.mark.parametrize("lines", [
    [F, C, ASKED, ("agent", "那楼里有没有人被困住"), ("caller", "对")],  # a yes to another question
    [F, C, ("agent", "现在还有没有明火"), ("caller", "没有 就是烟越来越大 呛得不行")],
    [F, C, ASKED, ("caller", "对对 不过我妈刚才吸了好多烟 现在叫不醒")],
    [F, C, ("agent", "不是着火 是有人烧纸是吧"), ("caller", "嗯 应该是吧 我也看不太清")],  # a hedged yes
    [F, C, ("agent", "您说不是着火 那这么大的烟是哪来的")],  # doubt is no confirmation
    [("caller", "着火了 厨房着火了 我老公被烧伤了 手上全是泡"), ("caller", "哦不是着火 是锅里的油烧起来了 已经盖灭了"),
     ("agent", "好的 没有着火就好")],  # someone burnt: 120 is no fire's number
    [("caller", "着火了 我们被困在屋里出不来了"), ("caller", "没有着火 是隔壁在烧垃圾 烟飘过来了"),
     ("agent", "好的 只是烧垃圾 没有着火")],  # trapped: another kind named
    [F, C, ("agent", "您再仔细看一下 到底是不是着火了"), ("caller", "是的")],
    [F, ("caller", "我也不知道是不是着火 就是烟特别大"), ("agent", "您看一下有没有明火"),
     ("caller", "没有 就是烟挺大的 屋里还有个老人")],
    [("caller", "山上着火了 好大的火"), ("caller", "是有人上坟烧纸把山上的草点着了 烧了一大片"),
     ("agent", "好的 是上坟烧纸引起的")],  # a cause is no denial
    [F, ("caller", "现在没有明火了 烟还是很大 屋里还有人"), ("agent", "好的 没有明火了")],
    [F, C, ASKED, ("caller", "嗯 可能吧 我也看不清楚")], [F, C, ASKED, ("caller", "是 还着着呢")],
    [F, C, ("agent", "不是着火也得让消防去看看 您别挂")],
    [("caller", "我家好大的煤气味 我妈晕倒在厨房了 叫不醒"), ("caller", "哦 不是煤气泄漏 是下水道返上来的味"),
     ("agent", "好的 是下水道的味 不是煤气")],
    [F, C, ("caller", "哎 不对 那个纸堆旁边的电动车也冒黑烟了"), ("agent", "好的 只是烧纸 没有着火")],
    [("caller", "他把家里点着了 还拿着刀说要砍死我"), ("caller", "没事了 没着火 误会了 误会了"),
     ("agent", "好的 没着火就好")],
    [("caller", "我老公喝多了打我 还在家里放火"), ("caller", "没有着火 是我看错了"), ("agent", "好的 没有着火")],
    [F, ("caller", "应该没有着火吧 我也不确定 就是烟很浓"), ("agent", "好的 没有着火就好 我给您登记")],
    [F, ("caller", "没有着火 是我妈在厨房晕倒了 叫不醒"), ("agent", "好的 没有着火")],
    [F, ("caller", "不是着火 是楼下有个人躺地上一动不动"), ("agent", "好的 不是着火")],
    [F, ("caller", "不是着火 是电梯卡住了 我被困在里面了"), ("agent", "好的 不是着火")],
    [F, ("caller", "不是着火 是锅里的油溅出来了 我儿子脸被烫伤了 起了好多泡"), ("agent", "好的 不是着火")],
    [F, C, ("agent", "您确定没有着火")], [F, C, ("agent", "确定不是着火啊 您再看看")],
    [F, C, ("agent", "确认一下 没有着火是吧 您先下楼到安全的地方"), ("caller", "好的好的")],
    [F, C, ("caller", "不对不对 不是烧纸 是真的着火了"), ("agent", "好的 不是烧纸 是着火了 是吧"), ("caller", "对")],
    [F, ("caller", "不是烧纸 是真的着火了 火苗都窜出来了"), ("agent", "好的 不是烧纸 是真着火了")],
    [("caller", "家里好大的煤气味 我头好晕"), ("caller", "燃气公司的人说没有漏气 可我还是头晕想吐"),
     ("agent", "好的 没有漏气")],
    [("caller", "我们小区5栋着火了 好大的火 你们快来"), ("caller", "哦不对 地址搞错了 是3栋 不是5栋"),
     ("agent", "好的 是3栋 您刚才搞错了")],
    [F, ("caller", "不是着火 是爆炸了 刚才砰的一声 玻璃都碎了"), ("agent", "好的 不是着火 是爆炸")],
])
def test_no_real_danger_is_stood_down(analyzer: Analyzer, lines: list[tuple[str, str]]) -> None:
    live, events = run(analyzer, lines)
    assert not [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN], lines
    assert live.state().crisis_numbers and crisis_cards(events), lines


def test_a_rhetorical_denial_is_no_correction_and_a_void_one_leaves_the_card(analyzer: Analyzer) -> None:
    _, events = run(analyzer, [F, ("caller", "这不是着火是什么 火越来越大了 你们怎么还不来")])
    assert all(isinstance(p.data, CriticalPayload) and not p.data.correction for p in crisis_cards(events).values())
    live, events = run(analyzer, [F, C, ("caller", "哎 不对 那个纸堆旁边的电动车也冒黑烟了")])
    assert live.call.crisis.correction is None
    assert all(isinstance(p.data, CriticalPayload) and not p.data.correction for p in crisis_cards(events).values())


# New-user trial 13: a gas smell that was a neighbour's salted fish, asked back and confirmed, then the fish smell
# complained about and the matter left to the caller (the call as the tester wrote it, recognizer-style)
TRIAL13 = [
    ("agent", "您好 12345 请问有什么可以帮您"), ("caller", "喂喂 我们楼道里一股煤气味 好冲啊 是不是哪家漏气了"),
    ("agent", "您先别慌 请不要开关电灯 不要打电话的时候待在楼道里 您现在在哪个位置"),
    ("caller", "我在自己家门口 幸福路十八号院二号楼三楼 味道就是从楼上飘下来的"),
    ("agent", "好的 您先离开楼道到楼外空旷的地方 不要按门铃不要开灯 我这边马上联系燃气公司抢修"),
    ("caller", "等一下啊 我上去看看 好像是四楼那家在门口晒东西"), ("agent", "您注意安全 如果味道很大请不要靠近"),
    ("caller", "哎呀 搞错了搞错了 是四楼老王家在门口腌臭鳜鱼 不是煤气味 是那个鱼的臭味"),
    ("agent", "跟您确认一下 不是煤气泄漏 是邻居腌鱼的味道 是吧"),
    ("caller", "对对对 就是那个鱼 我凑近闻了 没有煤气味儿 不好意思啊 麻烦你们了"),
    ("agent", "没关系 您的警惕是对的 如果之后再闻到煤气味 请先开窗离开 再拨打燃气公司抢修电话或者12345"),
    ("caller", "好嘞 那个鱼味儿在楼道里也太冲了 能不能让他别在楼道里腌"),
    ("agent", "楼道堆放物品的问题 我可以帮您登记转给社区和物业协调 您看需要吗"),
    ("caller", "算了算了 邻里邻居的 我自己跟他说吧 谢谢你啊"), ("agent", "好的 感谢您的来电 再见"),
]


def test_after_the_stand_down_no_crisis_comes_back_from_the_fish(learned: Analyzer) -> None:
    live = LiveAssist("c1", "a1", learned, context_factory=CallContext)
    events: list[Event] = []
    for i, (role, text) in enumerate(TRIAL13):
        t = Transcript("c1", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)
        refinement = live.learned_for(t)
        events += live.on_transcript(t, live.with_knowledge(refinement) if refinement is not None else None)
    stood = [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]
    assert len(stood) == 1 and "跟您确认一下" in stood[0].message and "来电人答「对对对" in stood[0].message
    after = [e for e in events if isinstance(e, Prompt | Alert) and e.audio_time > 40.0]
    assert not [e for e in after if isinstance(e, Alert) and e.kind is AlertKind.CRITICAL]  # no red self-harm card
    assert not [e for e in after if isinstance(e, Prompt) and e.kind is PromptKind.REFERRAL
                and e.action is PromptAction.SHOW]  # 没有煤气味儿 gives no 119 card back
    assert crisis_cards(events) == {} and live.state().owed == ()


# The review of stop 24 (of trial 13's fixes): a settling line is the whole line and still to come, and after an
# earlier sign it only asks; a crisis that ever had another kind never stands down.
@pytest.mark.parametrize("text", [
    "我跟他说了我要离婚 他说我敢走就打断我的腿", "我找他说理 他就拿酒瓶子砸我头", "我跟对方说了 他说今晚就带人来我家",
    "我去跟他谈谈 他手里有刀 我也不怕了", "我跟他们说一声吧 我先走了", "我去跟他说清楚 他要是再打我我就报警",
])
def test_a_danger_beside_words_of_talking_to_him_is_still_a_sign(learned: Analyzer, text: str) -> None:
    a = learned.analyze_final(Role.CALLER, text, CallContext(), utterance_id="u0")
    assert a.critical or a.safety_question is not None, text


@pytest.mark.parametrize("lines", [
    ["有个男的天天在我家楼下等我 我下班他就跟着", "您现在人安全吗", "我跟他说过了 没用"],
    ["我老公最近脾气很坏 老是摔东西吓唬我", "您现在安全吗 他有没有对您动手", "算了 我自己跟他说吧"],
])
def test_an_evasive_answer_to_the_safety_question_keeps_a_sign(learned: Analyzer, lines: list[str]) -> None:
    ctx = CallContext()
    a = None
    for i, text in enumerate(lines):
        a = learned.analyze_final(Role.AGENT if i % 2 else Role.CALLER, text, ctx, utterance_id=f"u{i}")
    assert a is not None and (a.critical or a.safety_question is not None), lines
    first = learned.analyze_final(Role.CALLER, "算了算了 邻里邻居的 我自己跟他说吧 谢谢你啊", CallContext(),
                                  utterance_id="u0")
    assert not first.critical and first.safety_question is None  # as the call's first words: no sign


def test_a_crisis_that_had_another_kind_never_stands_down(learned: Analyzer) -> None:
    live = LiveAssist("c1", "a1", learned, context_factory=CallContext)
    events: list[Event] = []
    lines = [("caller", "我儿子不管我 我一个人活着也没啥意思了"), ("caller", "哎 楼道里一股煤气味 好冲"),
             ("caller", "哦不是煤气味 是下水道的味"), ("agent", "好的 是下水道的味道 不是燃气泄漏")]
    for i, (role, text) in enumerate(lines):
        t = Transcript("c1", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)
        refinement = live.learned_for(t)
        events += live.on_transcript(t, live.with_knowledge(refinement) if refinement is not None else None)
    assert not [e for e in events if isinstance(e, Alert) and e.kind is AlertKind.STOOD_DOWN]
    assert live.state().crisis_numbers
