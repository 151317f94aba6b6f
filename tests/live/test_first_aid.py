"""现场指导 on the crisis card: first_aid.toml read by assist/live/first_aid.py, and whole calls through live
assist."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.live.first_aid import CallAid, shipped_aid
from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DataError
from assist.nlp.normalize import normalize
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
}


def heard(*lines: str) -> CallAid:
    aid = CallAid()
    for line in lines:
        aid.hear(normalize(line).text)
    return aid


def test_every_entry_is_heard_in_its_own_words_and_gives_its_step() -> None:
    entries = {e.name: e for e in shipped_aid()}
    assert set(entries) == set(SAMPLES)
    for name, line in SAMPLES.items():
        aid = heard(line)
        assert aid.heard == {name}, line
        assert aid.steps((entries[name].number,)) == (entries[name].say,)


def test_a_routine_call_hears_nothing() -> None:
    aid = heard("我想问一下社区卫生服务中心晚上几点关门", "燃气费在哪里交", "上个月着火的那栋楼修好了吗")
    assert aid.steps(("120",)) == ()  # 着火 is heard (119), but a card naming 120 only gets no fire step
    assert aid.steps(("110", "12356")) == ()


def test_one_step_per_number_the_first_entry_of_the_file_wins() -> None:
    aid = heard("胸口疼得厉害", "现在叫他也没反应了")  # unresponsive outranks chest pain, whenever heard
    steps = aid.steps(("120",))
    assert len(steps) == 1 and "有没有呼吸" in steps[0]


def test_an_arm_numb_beside_chest_pain_is_the_heart_not_a_stroke() -> None:
    aid = heard("胸口压得慌", "左边胳膊也有点麻")
    assert aid.heard == {"胸痛"}


def test_steps_follow_the_cards_numbers_in_their_order() -> None:
    aid = heard("屋里一股煤气味", "我老伴头晕,现在叫不醒")
    steps = aid.steps(("119", "120"))
    assert len(steps) == 2 and "燃气阀门" in steps[0] and "有没有呼吸" in steps[1]
    assert aid.steps(("120", "119"))[0] == steps[1]


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
