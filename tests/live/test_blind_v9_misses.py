"""The three callers at risk the blind set v9 missed (run once, then retired: docs/nlp-evaluation.md), each
reaching the operator now, and look-alikes that must not."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.weaksigns import WeakSigns
from assist.protocol.enums import Role

MISSED = [
    "你好,想问下高考成绩复查怎么申请,要交什么材料,多久出结果?其实也无所谓了,查不查都一样,我都不打算看到明天的太阳了。",
    "身份证丢了,钱也被骗光了,在火车站待了三天。刚在站台边看了很久的车,我怕我忍不住往下走。",
    "我是校车司机,到终点一清点少了一个孩子,不知道是哪站下错了,还是压根没上车。",
]


@pytest.mark.parametrize("text", MISSED)
def test_each_missed_caller_reaches_the_operator(learned: Analyzer, text: str) -> None:
    a = learned.analyze_final(Role.CALLER, text, CallContext())
    assert a.critical or a.safety_question is not None, text


def test_a_child_counted_missing_is_a_rules_crisis(analyzer: Analyzer) -> None:
    assert analyzer.analyze(Role.CALLER, MISSED[2]).critical
    assert analyzer.analyze(Role.CALLER, "春游回来一点名少了两个学生").critical
    assert not analyzer.analyze(Role.CALLER, "这次考试少了一个孩子没来").critical  # not a count of children in charge


@pytest.mark.parametrize("text", ["明天的太阳照常升起", "我这学期少了一个学分", "站台边上的黄线要不要重新刷一下"])
def test_look_alikes_are_no_farewell(text: str) -> None:
    assert not WeakSigns.load().farewell(text)
