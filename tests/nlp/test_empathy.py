"""Three-step empathy scripts chosen by emotion and category."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.empathy import EmpathyScripts


@pytest.fixture(scope="module")
def scripts() -> EmpathyScripts:
    return EmpathyScripts.load(DEFAULT_DATA_DIR / "empathy.toml")


def test_angry_complaint_gets_three_filled_steps(scripts: EmpathyScripts) -> None:
    steps = scripts.scripts(emotion="愤怒", intensity=0.8, intent="投诉举报", department="城管")
    assert len(steps) == 3
    assert "生气" in steps[0]
    assert "城管部门主办" in steps[1]
    assert "3至5个工作日" in steps[2] and "3个工作日内" in steps[2]
    assert all("{" not in s for s in steps)


def test_anxious_question_is_answered_by_lookup(scripts: EmpathyScripts) -> None:
    steps = scripts.scripts(emotion="焦虑", intensity=0.7, intent="咨询", department=None)
    assert "着急" in steps[0] and "查询" in steps[2]


def test_calm_consultation_gets_nothing(scripts: EmpathyScripts) -> None:
    assert scripts.scripts(emotion="平静", intensity=0.0, intent="咨询", department="医保") == []
    assert scripts.scripts(emotion="满意", intensity=0.8, intent="表扬", department=None) == []


def test_calm_complaint_still_gets_scripts(scripts: EmpathyScripts) -> None:
    steps = scripts.scripts(emotion="平静", intensity=0.0, intent="投诉举报", department=None)
    assert len(steps) == 3 and "承办单位" in steps[2]


def test_critical_despair_offers_the_support_line_by_its_own_name(scripts: EmpathyScripts) -> None:
    # the call's crisis numbers are 110 then 12356: the 心理援助热线 is 12356, the emergency number 110
    table = Analyzer.load(use_kb=False).referrals
    named = EmpathyScripts.load(DEFAULT_DATA_DIR / "empathy.toml", table)
    steps = named.scripts(emotion="绝望", intensity=0.95, intent="求助", department=None, critical=True,
                          referrals=("110", "12356"))
    assert "12356心理援助热线" in steps[2] and "110" not in steps[2]
    fire = named.scripts(emotion="焦虑", intensity=0.9, intent="求助", department=None, critical=True,
                         referrals=("12356", "119"))
    assert "119" in fire[2] and "12356" not in fire[2]  # an emergency number, not the support line
