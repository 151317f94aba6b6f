"""crisis.toml read once for the training report and live assist (assist/nlp/crisis_rules.py): what routine
handling of a caller at risk sounds like, and what a transfer is."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.nlp.crisis_rules import CrisisRules, number_text, shipped_crisis_rules
from assist.nlp.data import DEFAULT_DATA_DIR, DataError


def rules() -> CrisisRules:
    return shipped_crisis_rules()


def test_a_ticket_or_working_days_is_routine_handling_and_gives_its_words() -> None:
    assert rules().routine_words("好的,我给您登记一下,三个工作日内给您回复。", ("110",), ("自伤自杀",)) == "三个工作日"
    assert rules().routine_words("我这边给您提交一个工单。", ("110",), ()) == "工单"


def test_a_ticket_beside_a_crisis_step_is_not_routine_handling() -> None:
    # asks the place, transfers, keeps the caller on the line: crisis.toml [routine] not_with
    assert rules().routine_words("我帮您登记一下,您现在具体在哪个位置?", ("110",), ()) is None
    assert rules().routine_words("我马上为您三方转接110,三个工作日内我们再回访您。", ("110",), ()) is None


def test_plain_words_are_no_routine_handling() -> None:
    assert rules().routine_words("您先别挂电话,慢慢说。", ("110",), ()) is None


def test_the_transfer_is_a_crisis_number_told_or_a_transfer_said() -> None:
    assert rules().transfers("我马上为您转接110。", ("110", "12356"), ())
    assert rules().transfers("我现在帮您三方转接心理援助热线。", ("12356",), ())
    assert not rules().transfers("您住在幸福路120号是吧。", ("120",), ())


def test_the_numbers_as_the_wording_says_them() -> None:
    assert number_text(("110", "12356")) == "110/12356"
    assert number_text(()) == "110"


def test_a_routine_unit_is_no_transfer_but_routine_handling() -> None:
    """New-user trial 10: 帮您联系社区调解 was the report's 转接处置 ✓ and withdrew the live nudge."""
    line = "那您这个情况我们也可以帮您联系社区调解"
    assert not rules().transfers(line, ("110",), ("暴力",))
    assert rules().routine_words(line, ("110",), ("暴力",)) is not None
    assert rules().transfers("我马上帮您联系派出所的民警", ("110",), ("暴力",))


def test_a_routine_unit_beside_a_rescue_is_the_transfer() -> None:
    """The last review of stop 21: 帮您联系社区卫生服务中心的急救车 is the transfer."""
    assert rules().transfers("我马上帮您联系社区卫生服务中心的急救车", ("120",), ("医疗急症",))


def test_a_transfer_offered_as_a_question_asks() -> None:
    """crisis.toml [routine] asking: 您看需要给您转接110吗 is not yet the transfer that ends the live nudges."""
    assert rules().asks("您看需要给您转接110吗 您说话")
    assert not rules().asks("我马上为您转接110,请您不要挂电话。")


def test_the_joint_dispatch_hands_on_only_what_it_lists() -> None:
    assert rules().told_instead("119", {"110"}, ("火灾",)) == ("110", "联动处置")
    assert rules().told_instead("119", {"120"}, ("火灾",)) is None  # an ambulance sends no fire brigade
    assert rules().told_instead("120", {"110"}, ("医疗急症",)) is None
    assert rules().told_instead("110", {"119"}, ("被困",)) == ("119", "被困告知其中一个号码即可")


def test_a_linked_number_must_be_an_emergency_number(tmp_path: Path) -> None:
    crisis = (DEFAULT_DATA_DIR / "crisis.toml").read_text(encoding="utf-8")
    path = tmp_path / "crisis.toml"
    path.write_text(crisis.replace('"110" = ["119"]', '"110" = ["12345"]'), encoding="utf-8")
    with pytest.raises(DataError, match="12345"):
        CrisisRules.load(path)


def test_a_repair_in_days_is_routine_handling_and_asking_the_place_is_not() -> None:
    # new-user trial 13, to a woman watched by a stalker: 登记一下 大概过几天应该会有人去修
    assert rules().routine_words("登记一下,大概过几天应该会有人去修", ("110",), ("暴力",)) is not None
    assert rules().routine_words("我先登记一下您的位置", ("110",), ("暴力",)) is None
