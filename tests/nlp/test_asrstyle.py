"""Tests for the typed -> recognizer-style converter used by the NLP evaluation bench."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.nlp.asrstyle import RecognizerStyler, to_half_width, to_recognizer_style


@pytest.fixture(scope="module")
def styler() -> RecognizerStyler:
    return RecognizerStyler()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12345", "一 二 三 四 五"),
        ("300元", "三百 元"),
        ("3.5公斤", "三点五 公斤"),
        ("50%", "百分之 五十"),
        ("8:30", "八 点 三十"),
        ("10:05", "十 点 零五"),
        ("2个", "两 个"),
        ("2000多", "两千 多"),
        ("2号楼", "二 号 楼"),
        ("302室", "三 零 二 室"),
        ("2024年", "二 零 二 四 年"),
        ("0237", "零 二 三 七"),
        ("87654321", "八 七 六 五 四 三 二 一"),
    ],
)
def test_numbers_are_spoken_as_a_recognizer_writes_them(
    styler: RecognizerStyler, typed: str, expected: str
) -> None:
    assert styler(typed) == expected


def test_service_numbers_read_digit_by_digit_but_quantities_as_numbers(styler: RecognizerStyler) -> None:
    assert styler("打120说车都派出去了").split()[:4] == ["打", "一", "二", "零"]
    assert "一百二十 平" in styler("合同上写的是120平")
    assert styler("一个报警器卖800。").endswith("八百")
    assert "京 b 一 二 三 四 五" in styler("车牌号是京B12345。")


def test_words_are_segmented_and_punctuation_removed(styler: RecognizerStyler) -> None:
    out = styler("您好！市长热线，请问有什么可以帮到您？")
    assert "，" not in out and "！" not in out and "？" not in out
    assert " " in out
    assert "".join(out.split()) == "您好市长热线请问有什么可以帮到您"


def test_full_width_is_folded_to_half_width(styler: RecognizerStyler) -> None:
    assert to_half_width("１２３４５ＡＢｃ　，") == "12345ABc ,"
    assert styler("拨打１２３４５") == styler("拨打12345")
    assert styler("ＡＥＤ") == "aed"


def test_module_function_matches_the_class_and_is_deterministic(styler: RecognizerStyler) -> None:
    text = "我在这个公司干了半年，老板欠我2万多工资不给，家里还等着这个钱交房租。"
    assert to_recognizer_style(text) == styler(text) == to_recognizer_style(text)
    assert "欠 我 两 万多 工资" in styler(text)


_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_MIXED = st.one_of(_CJK, st.sampled_from(list("0123456789，。！？、：%.:ＡＢ１２　 abcXYZ")))


@settings(max_examples=150, deadline=None)
@given(st.text(_MIXED, max_size=40))
def test_output_has_recognizer_shape(text: str) -> None:
    out = to_recognizer_style(text)
    assert out == out.strip()
    assert "  " not in out
    assert not any(ch.isdigit() and ch.isascii() for ch in out)
    assert not any(unicodedata.category(ch)[0] in "PS" for ch in out)
    assert out == out.lower()


@settings(max_examples=100, deadline=None)
@given(st.text(st.one_of(_CJK, st.sampled_from(list("，。！？、"))), max_size=40))
def test_chinese_text_is_kept_character_for_character(text: str) -> None:
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "P")
    assert "".join(to_recognizer_style(text).split()) == kept
