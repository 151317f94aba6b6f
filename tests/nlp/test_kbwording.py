"""The caller's dialect wording as the knowledge base writes it (kb_wording.toml): each rewrite in its
context only, look-alikes left as said, strict loading, a deployment's own table from its data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.data import DEFAULT_DATA_DIR, DataError
from assist.nlp.kb import DEFAULT_KB, read_entries
from assist.nlp.kbwording import WORDING_FILE, QueryWording
from assist.nlp.tokenize import Tokenizer


@pytest.fixture(scope="module")
def wording() -> QueryWording:
    return QueryWording.load()


@pytest.mark.parametrize(("said", "written"), [
    ("社保断了仨月了咋整啊", "社保断了三个月了怎么办啊"),  # trial 3, e4
    ("厂子黄了工资咋办", "工厂倒闭了工资怎么办"),
    ("俺们楼下那个店黄了押金退不退", "我们楼下那个店倒闭了押金退不退"),
    ("断了俩月的社保还能续上不", "断了两个月的社保还能续上吗"),
    ("医保断了能补不啊", "医保断了能补吗啊"),
    ("要得", "好的"),
    ("嗯要得嘛", "嗯好的嘛"),
    ("那要得，谢谢你", "那好的，谢谢你"),
    ("这事整不明白贼闹心", "这事弄不明白很烦心"),
])
def test_dialect_wording_is_written_as_the_entries_write_it(wording: QueryWording, said: str, written: str) -> None:
    assert wording(said) == written


@pytest.mark.parametrize("said", [
    "拖欠的工资还要得回来吗",  # 要得 inside a verb phrase (review finding 8), not an answer
    "不要得罪人",  # 要得 + 得罪
    "我还要得到什么证明",
    "香蕉都黄了",  # 黄了 of fruit, leaves: nothing closed down
    "树叶黄了好几天没人扫",
    "孩子脸都黄了是不是黄疸",
    "我的仨轮车被扣了",  # 仨 only with the words it counts (仨月, 仨人)
    "他们俩都没交社保",
    "社保能补不了",  # 能补不 closes a question; 能补不了 = cannot be paid back
    "断了就续上不了了吗",
    "待了没多会儿就走了",  # 没多会儿 = not long, not 什么时候
    "价格高得令人咋舌",
])
def test_look_alikes_are_left_as_said(wording: QueryWording, said: str) -> None:
    assert wording(said) == said


def test_the_knowledge_bases_own_wording_is_left_alone(wording: QueryWording) -> None:
    # the entries are standard Mandarin: a rewrite that changes one of them is a look-alike hit
    changed = [t for e in read_entries(DEFAULT_KB) for t in (e.question, e.answer, *e.keywords) if wording(t) != t]
    assert changed == []


def test_an_empty_table_changes_nothing() -> None:
    assert QueryWording()("社保断了仨月了咋整") == "社保断了仨月了咋整"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kb_wording.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "error"), [
    ("[replace\n", r"kb_wording\.toml: invalid TOML"),
    ("[replace]\n\"咋\" = \"\"\n", r"kb_wording\.toml: replace: '咋' must be a non-empty string"),
    ("[replace]\n\"咋\" = 1\n", r"kb_wording\.toml: replace: '咋' must be a non-empty string"),
    ("[replace]\n\"咋\" = \"怎么\"\n[answer]\n\"咋\" = \"怎么\"\n", r"answer: '咋' is already in \[replace\]"),
    ("keep = [\"没多会儿\"]\n[replace]\n\"咋\" = \"怎么\"\n", r"'keep': '没多会儿' contains no rewritten word"),
    ("[rewrite]\n\"咋\" = \"怎么\"\n", r"kb_wording\.toml: unknown key\(s\) rewrite"),
])
def test_an_invalid_table_names_the_file_and_entry(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(DataError, match=error):
        QueryWording.load(write(tmp_path, text))


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"kb_wording\.toml: file not found"):
        QueryWording.load(tmp_path / "kb_wording.toml")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def test_a_deployments_own_table_is_the_knowledge_searchs(tmp_path: Path, tokenizer: Tokenizer) -> None:
    write(tmp_path, '[replace]\n"断顿" = "断缴"\n')
    own = Analyzer.load(tmp_path, tokenizer=tokenizer)
    assert own.kb is not None
    assert own.kb.wording("社保断顿了咋整") == "社保断缴了咋整"  # its own words, not the shipped ones
    hits = own.kb.search("社保断顿了")
    assert hits and hits[0].id == "si-payment"
    shipped = Analyzer.load(tmp_path / "elsewhere", tokenizer=tokenizer)  # no table there: the shipped one
    assert shipped.kb is not None and shipped.kb.wording == QueryWording.load(WORDING_FILE)
    assert shipped.kb.wording("社保断顿了") == "社保断顿了"
    assert shipped.kb.search("社保断顿了") == []  # the hit above came from the deployment's table
    assert WORDING_FILE.parent == DEFAULT_DATA_DIR
