"""Normalisation of recognizer-style and typed input, with the offset map."""

from __future__ import annotations

from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.normalize import Normalizer, normalize
from assist.text import join_cjk


def test_vosk_spaces_between_chinese_are_removed() -> None:
    n = normalize("我 们 小区 的 电梯 坏 了")
    assert n.text == "我们小区的电梯坏了"


def test_spaces_between_latin_words_are_kept_and_lowercased() -> None:
    assert normalize("打 KTV  Wifi 密码").text == "打ktv wifi密码"


def test_spoken_digit_strings_become_digits() -> None:
    assert normalize("请 拨打 幺 二 三 四 五").text == "请拨打12345"
    assert normalize("我的手机是幺三八零零一二三四五六").text == "我的手机是13800123456"
    assert normalize("打 幺 幺 零 报警").text == "打110报警"


def test_short_numeral_words_are_not_digits() -> None:
    assert normalize("一二线城市").text == "一二线城市"
    assert normalize("三五个人").text == "三五个人"
    assert normalize("一五一十地说").text == "一五一十地说"


def test_traditional_and_full_width_input() -> None:
    n = normalize("請問醫保報銷需要什麼材料？ＡＢＣ１２３！")
    assert n.text == "请问医保报销需要什么材料?abc123!"


def test_chinese_punctuation_is_kept_as_ascii() -> None:
    assert normalize("您好，市长热线。请讲：“哦”").text == '您好,市长热线.请讲:"哦"'


def test_offsets_map_back_to_the_input() -> None:
    source = "我 要 投诉 你们"
    n = normalize(source)
    start = n.text.index("投诉")
    s, e = n.source_span(start, start + 2)
    assert source[s:e] == "投诉"


def test_offsets_after_a_length_changing_replacement() -> None:
    norm = Normalizer({"著急": "着急"})
    source = "我 很 著急…真的"
    n = norm(source)
    assert n.text == "我很着急...真的"
    i = n.text.index("真的")
    s, e = n.source_span(i, i + 2)
    assert source[s:e] == "真的"
    s, e = n.source_span(n.text.index("着急"), n.text.index("着急") + 2)
    assert source[s:e] == "著急"


def test_shipped_replacement_table_loads() -> None:
    norm = Normalizer.load(DEFAULT_DATA_DIR / "normalize.toml")
    assert norm("我很著急").text == "我很着急"


def test_empty_and_whitespace_only_input() -> None:
    assert normalize("").text == ""
    assert normalize("   ").text == ""
    assert normalize("   ").source_span(0, 0) == (3, 3)


def test_a_number_written_one_digit_a_word_is_one_number() -> None:
    """A transcript-source call splits typed text into characters: 拨打 1 2 0 is 拨打120 (a training report
    missed the operator's 120 and 12345热线), while two numbers of several digits stay apart."""
    assert normalize("我建议您马上拨打 1 2 0 ,不要").text == "我建议您马上拨打120 ,不要"
    assert normalize("您好, 1 2 3 4 5热线").text == "您好, 12345热线"
    assert normalize("138 1234").text == "138 1234"
    n = normalize("拨打 1 2 0")
    assert n.text == "拨打120" and n.source_span(2, 5) == (3, 8)


def test_a_digit_beside_a_longer_number_stays_apart() -> None:
    """The review of stop 15: 欠了 3 5000 became 35000."""
    assert normalize("欠了 3 5000").text == "欠了3 5000"


def test_the_display_and_the_analysis_join_the_same_digits() -> None:
    """One rule (assist.text.LONE_DIGIT_GAP) for the transcript shown and the text analysed."""
    for said in ("拨打 1 2 0", "欠了 3 5000", "138 1234", "1 2 3 4 5 热线"):
        assert join_cjk(said).replace(" ", "") == normalize(said).text.replace(" ", ""), said
        assert ("3 5000" in join_cjk(said)) == ("3 5000" in said)
