"""New-user trial 8 (stop 19, docs/nlp-evaluation.md): a pensioner moving to her daughter's said goodbye and got a
red suicide card with 110; an apology and thanks at the close of an angry call drew the amber safety question; a
fallen wire with sparks became a fire with fire-escape steps; carbon monoxide had no ventilation step; the report
credited 你先挂了自己打110吧 as the transfer."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role
from assist.protocol.events import Prompt, Transcript
from assist.protocol.payloads import CriticalPayload
from tests.support.caller_lines import crisis_tiers

MOVING = [
    ("caller", "喂你好 我想问一下那个养老金转移的事 我下个月就要搬走了 去深圳跟我女儿一起住"),
    ("agent", "好的大爷 养老保险关系可以跨省转移 您到了深圳以后在那边的社保经办机构申请就行"),
    ("caller", "那我到了那边还要办什么手续吗"),
    ("agent", "带上身份证和社保卡就可以 还有其他问题吗"),
    ("caller", "好的好的 谢谢你啊 以后就不给你们打电话了 这是最后一次了 再见了"),
]


def test_a_goodbye_after_a_move_told_is_no_crisis(learned: Analyzer) -> None:
    assert crisis_tiers(learned, MOVING) == [(False, None)] * 3


def test_a_move_does_not_hide_despair_or_a_plan(learned: Analyzer) -> None:
    turns = crisis_tiers(learned, [("caller", "我把房子卖了 下个月搬去我儿子那儿"),
                                   ("caller", "反正我也活不下去了 药我都攒好了 这是最后一次给你们打电话了")])
    assert turns[1][0]


def test_an_apology_and_thanks_at_the_close_asks_nothing(learned: Analyzer) -> None:
    turns = crisis_tiers(learned, [
        ("caller", "你们到底管不管 楼下烧烤摊天天吵到半夜 我都打了五次电话了"),
        ("agent", "非常理解您的心情 我马上给您加急转城管 今天就让他们去现场"),
        ("caller", "刚才我说话冲了点,你别往心里去啊,你们也不容易,谢谢你了小姑娘."),
    ])
    assert turns[1] == (False, None)


def critical_cards(analyzer: Analyzer, lines: list[tuple[str, str]]) -> list[CriticalPayload]:
    live = LiveAssist("c8", "a8", analyzer, context_factory=CallContext)
    cards: list[CriticalPayload] = []
    for i, (role, text) in enumerate(lines):
        for event in live.on_transcript(Transcript("c8", role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0)):
            if isinstance(event, Prompt) and isinstance(event.data, CriticalPayload):
                cards.append(event.data)
    return cards


def test_a_sparking_fallen_wire_is_no_fire_and_a_fallen_woman_gets_120(analyzer: Analyzer) -> None:
    cards = critical_cards(analyzer, [
        ("caller", "我们这边路口水管爆了 水流了一地都冻成冰了 有个骑车的大姐摔了 躺在冰上起不来 头上流血了"),
        ("caller", "电线耷拉下来搭在冰上 我瞅着还冒火星子"),
    ])
    assert cards and "120" in cards[-1].referrals and "119" not in cards[-1].referrals, cards[-1]
    steps = " ".join(cards[-1].first_aid)
    assert "湿毛巾" not in steps and "10米" in steps, steps


def test_carbon_monoxide_gets_fresh_air_first(analyzer: Analyzer) -> None:
    cards = critical_cards(analyzer, [
        ("caller", "暖气一直不热 屋里生了个蜂窝煤炉子 窗户都关得严严的"),
        ("caller", "我现在头疼想吐 孩子喊也喊不太醒"),
    ])
    assert cards and "120" in cards[-1].referrals and "通风" in cards[-1].first_aid[0], cards[-1]


def test_calling_politely_into_a_dead_line_is_no_banned_phrase_sending_the_caller_to_dial_is(
        analyzer: Analyzer) -> None:
    crisis = CallContext()
    assert analyzer.analyze(Role.CALLER, "他又喝多了 拿着刀在砸门 我躲在厕所里", crisis).critical
    assert not analyzer.analyze(Role.AGENT, "喂 喂 先生 先生您还在吗 喂", crisis).banned
    assert analyzer.analyze(Role.AGENT, "喂喂喂听得见吗说话呀", CallContext()).banned  # impatient: still banned
    hits = analyzer.analyze(Role.AGENT, "那你赶紧打110啊 我这边也没办法", crisis).banned
    assert hits and hits[0].category == "推诿" and "不要挂电话" in hits[0].suggestion
