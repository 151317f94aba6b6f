"""The labelled evaluation sets are well-formed and cover what the issue asks for."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bench.nlp_evaluation import EMOTIONS, INTENTS, load_agent_cases, load_caller_cases

DATA = Path(__file__).resolve().parent.parent / "data" / "nlp_eval"
DEPARTMENTS = frozenset(
    {
        "住建", "城管", "市场监管", "人社", "公安", "交通", "卫健", "教育", "生态环境", "水务", "供电", "燃气",
        "供热", "民政", "医保", "自然资源", "农业农村", "文旅", "税务", "应急管理", "通信管理", "司法",
        "街道社区", "信访",
    }
)
KNOWN_NUMBERS = {"12348", "110", "12388", "119", "120", "122", "12356", "12315", "12333"}


def test_caller_set_covers_every_category_and_emotion() -> None:
    cases = load_caller_cases(DATA / "caller.jsonl")
    assert len(cases) >= 150
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.text for c in cases}) == len(cases)
    intents = Counter(c.intent for c in cases)
    emotions = Counter(c.emotion for c in cases)
    assert all(intents[i] >= 20 for i in INTENTS), intents
    assert all(emotions[e] >= 15 for e in EMOTIONS), emotions
    assert all(c.department is None or c.department in DEPARTMENTS for c in cases)
    assert all(set(c.referrals) <= KNOWN_NUMBERS for c in cases)


def test_despair_is_always_critical_with_the_mental_health_line() -> None:
    cases = load_caller_cases(DATA / "caller.jsonl")
    despair = [c for c in cases if c.emotion == "绝望"]
    assert despair and all(c.critical and "12356" in c.referrals for c in despair)
    assert any(c.critical and c.emotion != "绝望" for c in cases)  # emergencies are critical too


@pytest.mark.parametrize(
    "phrase", ["喂", "哦", "我不知道", "这是规定", "你自己去", "说完了没有", "应该", "可能", "大概"]
)
def test_agent_set_has_violations_for_every_banned_phrase(phrase: str) -> None:
    cases = load_agent_cases(DATA / "agent.jsonl")
    assert len(cases) >= 80
    with_phrase = [c for c in cases if phrase in c.text]
    assert any(c.violation for c in with_phrase), phrase
    kinds = Counter(c.kind for c in cases if c.violation)
    assert set(kinds) == {"禁用语", "指责顶撞", "模糊承诺"}
    assert sum(not c.violation for c in cases) >= 40


def test_holdout_sets_are_valid_and_disjoint_from_the_main_sets() -> None:
    caller = load_caller_cases(DATA / "caller_holdout.jsonl")
    agent = load_agent_cases(DATA / "agent_holdout.jsonl")
    assert {c.intent for c in caller} == set(INTENTS) and {c.emotion for c in caller} == set(EMOTIONS)
    assert {a.kind for a in agent if a.violation} == {"禁用语", "指责顶撞", "模糊承诺"}
    assert all(not c.violation for c in agent if c.kind is None)
    main_texts = {c.text for c in load_caller_cases(DATA / "caller.jsonl")}
    main_texts |= {a.text for a in load_agent_cases(DATA / "agent.jsonl")}
    assert main_texts.isdisjoint({c.text for c in caller} | {a.text for a in agent})


def _retired() -> set[str]:
    """The blind sets scripts/merge-train-corpus may put into the training data (its RETIRED tuple)."""
    script = (DATA.parents[2] / "scripts" / "merge-train-corpus").read_text(encoding="utf-8")
    found = re.search(r"^RETIRED = \(([^)]*)\)", script, re.M)
    assert found is not None
    return set(re.findall(r'"(blind_v\d+)"', found.group(1)))


def test_no_sentence_of_a_blind_set_kept_for_reporting_is_in_the_training_data() -> None:
    train = DATA.parents[2] / "assist" / "nlp" / "data" / "train"
    texts = {line.split('"text": ', 1)[1].split('", "', 1)[0].strip('"')
             for name in ("caller.jsonl", "operator.jsonl") for line in (train / name).read_text(
                 encoding="utf-8").splitlines() if '"text": ' in line}
    kept = [d for d in sorted(DATA.glob("blind_v*")) if d.name not in _retired()]
    assert kept, "a blind set must be kept for the next report"
    for d in kept:
        for name in ("caller.jsonl", "agent.jsonl"):
            rows = [c.text for c in (load_caller_cases if name == "caller.jsonl" else load_agent_cases)(d / name)]
            # writers blind to each other do write a few identical stock lines (the seeds' greeting, 早干嘛去了?):
            # v9 has 1 such operator line, v10 has 4; a set merged by mistake would be all of its lines
            same = [t for t in rows if t in texts]
            assert len(same) <= 0.03 * len(rows), (d.name, same[:5])
