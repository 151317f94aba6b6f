"""Domain errors of issue 11: unpaid wages are 12345 business (人社, 12333), banned phrases caught by class."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(use_kb=False)


@pytest.mark.parametrize("text", [
    "老板欠了我三个月工资一直不给,我该怎么办",
    "工地包工头跑了,我们二十几个农民工的工钱都没拿到",
    "厂里压着我们两个月的薪水不发",
    "年底了公司还拖着工资不结",
    "我要投诉我们那个装修公司老板欠了我四个月工资两万八一直躲着不见",  # trial 4: the debt pattern took 两万 as a loan
])
def test_unpaid_wages_are_core_business_of_renshe(analyzer: Analyzer, text: str) -> None:
    for variant in (text, " ".join(text)):  # typed and recognizer-style spacing
        a = analyzer.analyze("caller", variant)
        assert a.department == "人社", variant
        numbers = [r.number for r in a.referrals]
        assert "12333" in numbers and "12348" not in numbers, (variant, numbers)
        assert all("不在12345受理范围" not in r.reason for r in a.referrals)


def test_suing_over_wages_adds_legal_aid(analyzer: Analyzer) -> None:
    a = analyzer.analyze("caller", "公司拖欠工资半年了,我想去法院起诉他们")
    numbers = [r.number for r in a.referrals]
    assert a.department == "人社" and "12333" in numbers and "12348" in numbers


def test_debts_still_go_to_legal_aid(analyzer: Analyzer) -> None:
    assert [r.number for r in analyzer.analyze("caller", "他借了我五万块钱一直不还").referrals] == ["12348"]


CLASSES = [
    ("你先别激动,听我说完", "情绪命令", "心情"),
    ("有什么好生气的,不就是停个水吗", "情绪命令", "心情"),
    ("这个我也不太清楚", "推脱不知", "查询"),
    ("说实话这个政策我也说不上来", "推脱不知", "查询"),
    ("你找错地方了", "推诿", "转办"),
    ("这是你们家务事,我们管不了", "推诿", "转办"),
    ("明天肯定给您办好", "绝对承诺", "督促"),
    ("保证今天就给你修好", "绝对承诺", "督促"),
]


@pytest.mark.parametrize(("text", "category", "alternative"), CLASSES)
def test_banned_phrases_by_class_with_a_fitting_alternative(analyzer: Analyzer, text: str, category: str,
                                                            alternative: str) -> None:
    for variant in (text, " ".join(text.replace(",", ""))):
        hits = analyzer.analyze("agent", variant).banned
        assert hits, variant
        cats = {h.category for h in hits}
        # the class rule, or an older more specific rule of the same family, reports it
        assert category in cats or {"禁用语", "推诿", "不耐烦"} & cats, (variant, cats)
        if category in cats:
            hit = next(h for h in hits if h.category == category)
            assert alternative in hit.suggestion


@pytest.mark.parametrize("text", [
    "您先别着急,我帮您查一下",
    "我不太清楚具体的办理时间,我帮您查询确认后给您回复",
    "这个事项由人社部门负责,我现在就为您转办",
    "我一定把您的情况如实反映给承办单位",
    "您说的情况我完全理解",
    "您是说窗口的人说了句\"我不知道\"是吗",
    "请您冷静下来我马上帮您联系120",
])
def test_compliant_look_alikes_are_not_flagged(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze("agent", text).banned == ()


def test_demolition_compensation_is_12345_business_and_a_demolition_years_ago_is_no_emergency(
        analyzer: Analyzer) -> None:
    # trial 4 (f3): 110, 12348 and 12388 each said the matter was 不在12345受理范围
    said = "我家的房子被强拆了三年了补偿款一分没给街道办天天推"
    numbers = [r.number for r in analyzer.analyze("caller", said).referrals]
    assert "110" not in numbers and "12348" not in numbers
    assert "110" in [r.number for r in analyzer.analyze("caller", "他们现在正在强拆我家房子还打人").referrals]
