"""现场指导 on the crisis card: first_aid.toml read by assist/live/first_aid.py, and whole calls through live
assist."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.live.first_aid import CallAid, shipped_aid
from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DEFAULT_DATA_DIR, DataError
from assist.nlp.normalize import normalize
from assist.nlp.referral import ReferralTable
from assist.protocol.enums import Role
from tests.support.word_replay import DATA, call_lines, critical_cards, replay_words

# one caller line per entry of first_aid.toml: each entry is heard in the words it is written for
SAMPLES = {
    "无反应": "我爸在路边骑电动车摔了,叫他没反应",
    "抽搐": "孩子发高烧突然抽搐了",
    "出血": "他手上划了个口子一直流血",
    "服药中毒": "我妈把一瓶安眠药都吃了",
    "中风": "我爷爷嘴歪了,话也说不清",
    "胸痛": "胸口有点闷,疼了半个多小时了,出了一身冷汗",
    "噎住": "老人吃年糕噎住了",
    "燃气": "屋里一股煤气味,越来越大",
    "火": "楼道里冒烟了,烟越来越大",
    # new-user trial 8: carbon monoxide, a fallen wire
    "一氧化碳": "屋里生着蜂窝煤炉子,我们都头疼想吐",
    "断落电线": "电线耷拉下来搭在冰上,还冒火星子",
    # new-user trial 9: a drowned child pulled out (a rescuer who jumped in is no suicide)
    "溺水": "河边有个娃儿掉河里了",
}


def heard(*lines: str) -> CallAid:
    aid = CallAid()
    for n, line in enumerate(lines):
        aid.hear(f"u{n}", normalize(line).text)
    return aid


KIND = {"燃气": "燃气泄漏", "火": "火灾"}


def test_every_entry_is_heard_in_its_own_words_and_gives_its_step() -> None:
    entries = {e.name: e for e in shipped_aid()}
    assert set(entries) == set(SAMPLES)
    for name, line in SAMPLES.items():
        aid = heard(line)
        assert aid.heard["u0"] == {name}, line
        assert aid.steps((entries[name].number,), KIND.get(name)) == (entries[name].say,)


def test_every_entry_is_for_an_emergency_number_and_known_kinds() -> None:
    """A typo in first_aid.toml's number or kinds would silently never show (the review of stop 15)."""
    table = ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml")
    for e in shipped_aid():
        assert e.number in table.emergency_numbers, e.name
        assert e.kinds <= set(table.crisis_kinds), e.name


def test_two_steps_at_most_in_the_files_order() -> None:
    aid = heard("他被车撞了,流了好多血,叫也叫不醒")  # bleeding and unresponsive: both, pressure on the wound kept
    steps = aid.steps(("120",), "医疗急症")
    assert len(steps) == 2 and "有没有呼吸" in steps[0] and "按住伤口" in steps[1]
    assert len(heard("胸口疼得厉害", "现在叫他也没反应了", "一直流血", "浑身抽").steps(("120",), None)) == 2


def test_chest_pain_keeps_its_step_beside_a_regular_medicine_or_an_old_stroke() -> None:
    """The review: 他刚才吃了降压药 turned chest pain into poisoning; 我以前有过脑梗 into a stroke."""
    for line in ("我爸胸口疼得厉害,出了一身冷汗,他刚才吃了降压药", "我胸口疼得厉害,直冒冷汗,我以前有过脑梗",
                 "我爸最近一直在吃安眠药,他现在胸口疼得厉害,满头大汗"):
        assert heard(line).heard["u0"] == {"胸痛"}, line


def test_negated_and_outside_words_do_not_count() -> None:
    assert heard("我爸胸口疼得厉害出冷汗,他没有昏迷,还能说话").heard["u0"] == {"胸痛"}
    assert heard("对门老太太三天没出门了,敲门也没反应").heard["u0"] == frozenset()
    assert heard("我不小心把消毒液溅到眼睛里了,眼睛疼得睁不开").heard["u0"] == frozenset()


def test_the_fire_step_is_for_fires_and_shelters_from_a_smoky_stairwell() -> None:
    """The review: 火大 (anger) or a past fire put 沿楼梯往下走 on flood and lift calls; smoke in the stairwell."""
    fire = heard("楼下着火了,楼道里全是烟,我们在七楼").steps(("119",), "火灾")
    assert fire and "楼道有烟就别出门" in fire[0]
    assert heard("楼下着火了,楼道里全是烟").steps(("119",), "被困") == ()
    assert heard("真是气得我火大,水已经淹到膝盖了,我们被困在屋里出不去").heard["u0"] == frozenset()


def test_a_later_text_of_an_utterance_replaces_its_partial() -> None:
    aid = CallAid()
    aid.hear("u1", normalize("他一直抽").text)
    aid.hear("u1", normalize("他一直抽烟,现在胸口疼").text)
    assert aid.heard["u1"] == {"胸痛"}


def test_an_entry_without_patterns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "first_aid.toml").write_text('[[entry]]\nname = "x"\nnumber = "120"\npatterns = []\nsay = "y"\n',
                                            encoding="utf-8")
    with pytest.raises(DataError, match="at least one pattern"):
        shipped_aid.__wrapped__(tmp_path)


def test_a_caller_who_downplays_chest_pain_gets_the_step_on_the_crisis_card(learned: Analyzer) -> None:
    """The fifth trial's h: 胸口有点闷…出了一身冷汗,可能就是累着了 (a model crisis): the card says what to do
    meanwhile, and keeps saying it as the call goes on."""
    turns = replay_words(learned, "h", call_lines(DATA / "trial5" / "h-chestpain-downplay.jsonl"))[1]
    cards = critical_cards(turns)
    assert cards, "no crisis card"
    for line, card in cards:
        assert "120" in card.referrals, line
        assert len(card.first_aid) == 1 and "不要走动" in card.first_aid[0], card


def test_a_farewell_gets_no_medical_step(learned: Analyzer) -> None:
    """A farewell by a river (110, 12356) names no 120: no first step."""
    turns = replay_words(learned, "x", [
        {"role": "caller", "start": 0.0, "end": 3.0, "text": "我心里堵得难受,谁也帮不了我。"},
        {"role": "caller", "start": 4.0, "end": 8.0, "text": "我已经站在江边了,这是最后一次给你们打电话了。"},
    ])[1]
    cards = critical_cards(turns)
    assert cards and all("120" not in c.referrals and c.first_aid == () for _, c in cards), cards


def test_a_second_guess_of_another_danger_joins_the_first(learned: Analyzer) -> None:
    """The model read 胸口闷 as 医疗急症; the farewell after it, read by the model alone as 自伤自杀, kept the
    call's 120 and lost 110 and 12356 (a model guess never replaced the call's kind): now it joins, quoted."""
    turns = replay_words(learned, "x", [
        {"role": "caller", "start": 0.0, "end": 3.0, "text": "我胸口闷得慌,心里堵得难受。"},
        {"role": "caller", "start": 4.0, "end": 8.0, "text": "我已经站在江边了,这是最后一次给你们打电话了。"},
    ])[1]
    line, card = critical_cards(turns)[-1]
    assert "江边" in line
    assert {"110", "12356"} <= set(card.referrals), card
    assert "自伤自杀" in (card.reason or "") and "江边" in (card.reason or ""), card


def test_carbon_monoxide_comes_first_and_a_fallen_wire_gets_no_fire_escape_steps() -> None:
    """New-user trial 8: after 孩子叫不醒 the card read 摔伤、车祸的伤员不要随意搬动, never open the windows; a sparking
    wire on the ice got 用湿毛巾捂住口鼻…沿楼梯往下走."""
    steps = heard("屋里生了个蜂窝煤炉子窗户都关得严严的", "我头疼想吐,孩子喊也喊不醒").steps(("120",), "医疗急症")
    assert "开门窗通风" in steps[0], steps
    wire = heard("电线耷拉下来搭在冰上,我瞅着还冒火星子").steps(("110", "120"), "其他危险")
    assert wire and "10米" in wire[0] and not any("湿毛巾" in s for s in wire), wire


def test_a_child_pulled_out_of_the_water_and_not_moving_gets_breathing_and_cpr_first(learned: Analyzer) -> None:
    """New-user trial 9: 有个小伙子跳下去了娃儿拉上来了不动了 was read as a suicide (12356, a despair script) and
    had no first step; it is a drowning: 120 and the breathing check, then CPR."""
    line = "有人跳下去了有个小伙子跳下去了娃儿拉上来了不动了脸都是紫的"
    a = learned.analyze_final(Role.CALLER, line)
    assert a.critical and "120" in {r.number for r in a.referrals} and "12356" not in {r.number for r in a.referrals}
    steps = heard("喂喂河边有个娃儿掉下去了", line).steps(("120",), "医疗急症")
    assert steps and "心肺复苏" in steps[0] and "不要倒提控水" in steps[0] and "不要贸然下水" in steps[0]
    # not a downpipe or a lift (the focused review of stop 20)
    for words in (("我们家落水管坏了一直漏水", "我爸爬梯子修落水管摔下来了叫不醒了"),
                  ("电梯卡住了我们把人从电梯里拉上来了",)):
        assert not any("控水" in s for s in heard(*words).steps(("120",), "医疗急症")), words
    assert heard("孩子掉鱼塘里了").heard["u0"] == {"溺水"}
    # someone who jumps from a bridge is still a suicide
    assert "12356" in {r.number for r in learned.analyze(Role.CALLER, "有人从桥上跳下去了").referrals}
