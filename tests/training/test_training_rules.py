"""training.toml: the shipped file loads, cues match normalised text, mistakes are named at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.nlp.data import DataError
from assist.training.rules import DEFAULT_RULES, TrainingRules

GOOD = DEFAULT_RULES.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "training.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_rules(rules: TrainingRules) -> None:
    assert [s.name for s in rules.steps] == ["情绪承接", "责任表态", "行动承诺"]
    assert [p.name for p in rules.opening.parts] == ["问候", "报热线名", "询问诉求"]
    assert rules.opening.example.startswith("您好") and "再见" in rules.closing.example
    assert 0 < rules.min_intensity <= 1
    promise = rules.steps[2]
    assert promise.require and promise.reject and promise.window > 0


@pytest.mark.parametrize("text, time", [
    ("我们会在三个工作日内给您回复", "三个工作日内"),
    ("我将在第2个工作日中午前向您反馈进展", "第2个工作日"),
    ("今天下午五点前给您答复", "今天下午五点前"),
    ("24小时内联系您", "24小时内"),
    ("6月18日前办结", "6月18日前"),
])
def test_specific_times(rules: TrainingRules, text: str, time: str) -> None:
    found = [p.search(text) for p in rules.steps[2].require]
    assert any(m is not None and m.group(0) == time for m in found)


@pytest.mark.parametrize("text", ["下周吧", "尽快给您处理", "过段时间", "回头再说"])
def test_vague_times_are_not_specific(rules: TrainingRules, text: str) -> None:
    assert not any(p.search(text) for p in rules.steps[2].require)


def test_cues_match_normalised_text(rules: TrainingRules) -> None:
    norm = rules.normalize("您好 市民 服务 热线 请 讲")
    assert norm == "您好市民服务热线请讲"
    assert all(part.cue.find(norm) is not None for part in rules.opening.parts)
    assert rules.normalize("幺 二 三 四 五") == "12345"
    hit = rules.steps[0].cue.find(rules.normalize("换 作 是 我 也 会 很 着急 的"))
    assert hit is not None and hit.text.startswith("换作是我")
    matches = rules.steps[1].cue.find_all("非常抱歉此事由城管部门主办")
    assert [m.text for m in matches][:2] == ["非常抱歉", "由城管部门主办"]


@pytest.mark.parametrize("change, message", [
    (("[empathy]\n", "[empathy]\ncolour = 1\n"), "unknown key(s) colour"),
    (("min_intensity = 0.3", "min_intensity = 3"), "'min_intensity' must be between 0 and 1"),
    (("within_seconds = 15", "within_seconds = \"15\""), "'within_seconds' must be a number"),
    (("patterns = ['由.{1,12}", "patterns = ['由(.{1,12}"), "bad regular expression in 'patterns'"),
    (("require = ['%TIME%']", "require = ['%WHEN%']"), "%WHEN%"),
    (('reject_note = "是模糊用语,承诺要给出确切的时间和责任部门"\n', ""), "'reject' needs a 'reject_note'"),
    (("window = 16", "window = 2.5"), "whole number"),
    (('name = "报热线名"', 'name = "报热线名"\nword = ["x"]'), "unknown key(s) word"),
])
def test_mistakes_name_the_entry(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(DataError) as err:
        TrainingRules.load(write(tmp_path, GOOD.replace(old, new, 1)))
    assert "training.toml" in str(err.value) and message in str(err.value)


def test_a_step_needs_cues_and_there_are_three(tmp_path: Path) -> None:
    cut = GOOD[: GOOD.index("[[empathy.step]]\nname = \"行动承诺\"")]
    with pytest.raises(DataError, match="exactly 3"):
        TrainingRules.load(write(tmp_path, cut))
    empty = GOOD.replace('[[opening.part]]\nname = "问候"\nwords = ["您好", "你好"]',
                         '[[opening.part]]\nname = "问候"\nwords = []')
    with pytest.raises(DataError, match=r"opening\.part\[1\] \(问候\): needs 'words' or 'patterns'"):
        TrainingRules.load(write(tmp_path, empty))
    with pytest.raises(DataError, match="file not found"):
        TrainingRules.load(tmp_path / "missing.toml")
    with pytest.raises(DataError, match="invalid TOML"):
        TrainingRules.load(write(tmp_path, "[opening\n"))


def test_a_consultation_owes_no_completion_time_and_listening_takes_up_feelings() -> None:
    """New-user trial 8: a 养老金 consultation answered in the call was asked for 办结时限为3至5个工作日, and
    不会的大爷您慢慢说我听着呢 was not credited as 情绪承接."""
    from assist.nlp.stepcues import load_steps
    steps = {s.name: s for s in load_steps()}
    assert steps["行动承诺"].not_for == {"咨询"} and not steps["情绪承接"].not_for
    assert steps["情绪承接"].cue.find_all("不会的大爷您慢慢说我听着呢")
