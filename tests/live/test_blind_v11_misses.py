"""The one caller at risk the blind set v11 missed (run once, then retired: docs/nlp-evaluation.md): a colleague
who paid back money he did not owe and left his cat in the caller's care, now unreachable.  A farewell by a third
party (weak_signs.toml `farewells`, the floor of the learned path): the safety question at least; favours asked
for a trip are no farewell."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role

MISSED = "同事微信上给我转了两万块说是还我的,还让我以后照顾好他的猫,他根本不欠我钱,现在人联系不上。"
LOOK_ALIKES = ["我出差一周,邻居说以后帮我照顾猫", "你能帮我照顾好我的猫吗,我要出差", "以后我会照顾好她的孩子的"]


def test_the_missed_colleague_gets_at_least_the_safety_question(learned: Analyzer) -> None:
    a = learned.analyze_final(Role.CALLER, MISSED, CallContext())
    assert a.critical or a.safety_question is not None, a.scores.get("learned")


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_a_favour_for_a_pet_or_a_child_is_no_farewell(learned: Analyzer, text: str) -> None:
    assert not learned.weak_signs.farewell(text), text
