"""Caller emotion: keywords, negation, intensifiers, critical signals, escalation."""

from __future__ import annotations

import pytest

from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.emotion import EmotionModel
from assist.nlp.normalize import normalize


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    return EmotionModel.load(DEFAULT_DATA_DIR / "emotion.toml")


def label(model: EmotionModel, text: str) -> str:
    return model.analyze(normalize(text).text).label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你们这是什么态度,太过分了", "愤怒"),
        ("孩子下周就要入学了,我特别着急", "焦虑"),
        ("说了也白说,我对你们太失望了", "失望"),
        ("我已经走投无路了", "绝望"),
        ("问题解决了,非常满意,谢谢你们", "满意"),
        ("我想问一下公积金怎么提取", "平静"),
    ],
)
def test_labels(model: EmotionModel, text: str, expected: str) -> None:
    assert label(model, text) == expected


@pytest.mark.parametrize("text", ["我不生气,就是问问", "我并不着急", "我没有不满意", "我一点也不担心"])
def test_negated_emotion_is_not_counted(model: EmotionModel, text: str) -> None:
    assert label(model, text) not in ("愤怒", "焦虑", "失望")


def test_negated_satisfaction_flips_to_disappointment(model: EmotionModel) -> None:
    assert label(model, "你们的处理结果我不太满意") == "失望"


def test_intensifiers_and_exclamations_raise_intensity(model: EmotionModel) -> None:
    plain = model.analyze(normalize("我很生气").text).intensity
    strong = model.analyze(normalize("我非常生气").text).intensity
    shouted = model.analyze(normalize("我非常生气!!!").text).intensity
    assert 0 < plain < strong < shouted <= 1


def test_calm_text_has_zero_intensity(model: EmotionModel) -> None:
    result = model.analyze(normalize("请问社保卡在哪里办").text)
    assert (result.label, result.intensity, result.critical) == ("平静", 0.0, ())


@pytest.mark.parametrize("text", ["我不想活了", "活着没意思", "我想跳楼", "一了百了算了", "我不 想 或 了"])
def test_self_harm_is_critical_with_12356(model: EmotionModel, text: str) -> None:
    result = model.analyze(normalize(text).text)
    assert result.label == "绝望"
    assert result.intensity >= 0.9
    assert result.critical and result.critical[0].id == "self_harm"
    assert "12356" in result.critical[0].referrals


@pytest.mark.parametrize("text", ["我要跟他同归于尽", "我去把他砍死"])
def test_violence_is_critical_with_110(model: EmotionModel, text: str) -> None:
    result = model.analyze(normalize(text).text)
    assert [s.id for s in result.critical] == ["violence"]
    assert "110" in result.critical[0].referrals


@pytest.mark.parametrize("text", ["商场跳楼价大甩卖", "想死你了,好久不见", "水管炸了"])
def test_look_alikes_are_not_critical(model: EmotionModel, text: str) -> None:
    assert model.analyze(normalize(text).text).critical == ()


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("我打了好几次电话了", "repeat_call"),
        ("这是第三次打了", "repeat_call"),
        ("我要投诉你们", "complain_hotline"),
        ("根本没人管", "nobody_cares"),
        ("你们就是踢皮球", "buck_passing"),
        ("再不解决我就找媒体曝光", "media"),
    ],
)
def test_escalation_signs(model: EmotionModel, text: str, sign: str) -> None:
    result = model.analyze(normalize(text).text)
    assert sign in [s.id for s in result.escalation]
    assert result.label == "愤怒"


@pytest.mark.parametrize("text", ["你们再不管我就去北京上访", "我要去北京告你们", "不行我就找市长讨说法"])
def test_going_over_heads_is_a_petition_sign(model: EmotionModel, text: str) -> None:
    assert "petition" in [s.id for s in model.analyze(normalize(text).text).escalation]


@pytest.mark.parametrize("text", ["我下周要去北京出差,社保卡能在那边用吗", "我就是找市长热线反映一下路灯的事",
                                  "去北京的高铁票怎么退", "孩子要去北京上学,户口要迁吗"])
def test_travel_to_beijing_and_the_mayors_hotline_are_no_petition(model: EmotionModel, text: str) -> None:
    """The fourth review: the escalation rule fired on 去北京出差 and 找市长热线 (emotion.toml not_in)."""
    assert "petition" not in [s.id for s in model.analyze(normalize(text).text).escalation]


def test_overturned_and_past_feelings_count_less(model: EmotionModel) -> None:
    text = "一开始我挺生气的,结果很快就解决了,非常满意"
    assert label(model, text) == "满意"


def test_prior_applies_only_without_feeling_words(model: EmotionModel) -> None:
    calm = model.analyze(normalize("出租车司机没有打表").text)
    assert calm.scores == {}
    assert model.with_prior(calm, "投诉举报").label == "愤怒"
    assert model.with_prior(calm, "emergency").label == "焦虑"
    assert model.with_prior(calm, "咨询").label == "平静"
    happy = model.analyze(normalize("非常满意").text)
    assert model.with_prior(happy, "投诉举报").label == "满意"
