"""Tokenizer: isolated jieba dictionary, domain words, recognizer-style input, data files."""

from __future__ import annotations

import logging
from pathlib import Path

import jieba
import pytest

from assist.nlp.tokenize import (
    DEFAULT_STOPWORDS,
    DEFAULT_USERDICT,
    DictionaryError,
    Tokenizer,
    prepare,
    read_userdict,
    read_wordlist,
)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize(
    "word", ["公积金", "医保", "社保卡", "居住证", "不动产登记", "物业费", "维修基金", "新生儿", "网约车", "12345"]
)
def test_domain_words_stay_whole(tokenizer: Tokenizer, word: str) -> None:
    assert word in tokenizer.cut(f"请问{word}怎么办理")


def test_recognizer_style_input_segments_like_typed_text(tokenizer: Tokenizer) -> None:
    typed = tokenizer.cut("我想把住房公积金提出来，要啥手续？")
    spoken = tokenizer.cut("我 想 把 住房 公积金 提 出来 要 啥 手续")
    assert spoken == typed
    assert " " not in spoken and "，" not in spoken and "？" not in spoken


def test_spoken_digits_traditional_and_full_width_are_folded(tokenizer: Tokenizer) -> None:
    assert "12345" in tokenizer.cut("打 一 二 三 四 五 热线")
    assert "居住证" in tokenizer.cut("居住證怎麼辦")
    assert tokenizer.prepare("ＡＢＣ，１２３４５！") == "abc12345"


def test_prepare_drops_every_space_and_punctuation() -> None:
    assert prepare("  医保 ，报销？！\t") == "医保报销"
    assert prepare("…… ！") == ""


def test_empty_and_punctuation_only_text(tokenizer: Tokenizer) -> None:
    assert tokenizer.cut("") == []
    assert tokenizer.cut(" ，。？ ") == []
    assert tokenizer.terms("") == []


def test_terms_drop_stopwords_but_cut_keeps_them(tokenizer: Tokenizer) -> None:
    words = tokenizer.cut("请问医保怎么报销")
    assert "怎么" in words
    terms = tokenizer.terms("请问医保怎么报销")
    assert terms == ["医保", "报销"]
    assert tokenizer.is_stopword("怎么") and not tokenizer.is_stopword("医保")


def test_search_terms_add_dictionary_words_inside_long_words(tokenizer: Tokenizer) -> None:
    terms = tokenizer.search_terms("住房公积金")
    assert "住房公积金" in terms and "公积金" in terms and "住房" in terms


def test_isolated_from_global_jieba(tmp_path: Path) -> None:
    userdict = tmp_path / "dict.txt"
    userdict.write_text("# test\n蓝莓果酱站 100 n\n", encoding="utf-8")
    tk = Tokenizer(userdict=userdict)
    assert "蓝莓果酱站" in tk.cut("我在蓝莓果酱站")
    assert "蓝莓果酱站" not in jieba.dt.FREQ  # the module-level tokenizer is untouched
    assert "公积金" not in tk.user_words  # only the given dictionary was loaded


def test_construction_is_silent(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.DEBUG, logger="jieba"):
        Tokenizer()
        assert logging.getLogger("jieba").level == logging.DEBUG  # the caller's level is restored
    assert not [r for r in caplog.records if r.name == "jieba" and r.levelno < logging.WARNING]
    assert "Prefix dict" not in capsys.readouterr().err


def test_custom_normalizer_is_used() -> None:
    tk = Tokenizer(normalizer=lambda s: s.replace("公基金", "公积金"))
    assert "公积金" in tk.cut("公基金怎么取")


def test_userdict_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("公积金 100 n\n医保 many words here\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"bad\.txt:2:"):
        read_userdict(bad)
    with pytest.raises(DictionaryError, match="file not found"):
        Tokenizer(userdict=tmp_path / "missing.txt")


def test_stopword_list_errors(tmp_path: Path) -> None:
    bad = tmp_path / "stop.txt"
    bad.write_text("的\n两 个\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"stop\.txt:2:"):
        read_wordlist(bad)


def test_shipped_data_files_parse() -> None:
    words = {w.word for w in read_userdict(DEFAULT_USERDICT)}
    needed = {"公积金", "医保", "社保卡", "居住证", "不动产登记", "物业费", "维修基金", "新生儿", "落户", "网约车"}
    needed.add("12345")
    assert needed <= words
    stop = read_wordlist(DEFAULT_STOPWORDS)
    assert {"怎么", "吗", "的"} <= stop
    assert not stop & words, "a domain word must never be a stopword"
