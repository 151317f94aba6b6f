"""``assist train``: data validation naming the line, cross-validated figures, model directory, reproducibility."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from assist.cli import main as assist_main
from assist.cli.train import main
from assist.nlp.learned import LearnedModel, ModelError
from assist.nlp.traindata import TrainDataError, check_counts, read_examples
from assist.nlp.trainer import TrainConfig, make_folds

TRAIN = Path(__file__).resolve().parents[2] / "assist" / "nlp" / "data" / "train" / "caller.jsonl"
UNITS = {"城管": "城管执法大队", "住建": "住建局物业科", "公安": "公安分局", "交通": "交通运输局"}


def _subset(path: Path, per_label: int = 14) -> Path:
    """A small training file: a centre's own unit names as departments, with category and critical."""
    taken: dict[str, int] = defaultdict(int)
    lines = []
    for raw in TRAIN.read_text(encoding="utf-8").splitlines():
        r = json.loads(raw)
        dep = UNITS.get(r.get("department") or "")
        if dep is None or taken[dep] >= per_label:
            continue
        taken[dep] += 1
        lines.append(json.dumps({"text": r["text"], "department": dep, "category": r["category"],
                                 "critical": r["critical"]}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "路灯坏了", "category": "一般诉求"}\n{"text": "  ", "category": "咨询"}\n',
                   encoding="utf-8")
    assert main(["--data", str(bad), "--out", str(tmp_path / "m"), "--encoder", "none"]) == 2
    assert "bad.jsonl:2: empty text" in capsys.readouterr().err
    bad.write_text('{"text": "路灯坏了", "category": "报修"}\n', encoding="utf-8")
    assert main(["--data", str(bad), "--out", str(tmp_path / "m"), "--encoder", "none"]) == 2
    assert "bad.jsonl:1: unknown category '报修'" in capsys.readouterr().err
    csv = tmp_path / "bad.csv"
    csv.write_text("text,category\n路灯坏了,一般诉求\n有人打架,求助\n", encoding="utf-8")
    with pytest.raises(TrainDataError, match=r"bad.csv:2: category '一般诉求' has only 1 example"):
        check_counts(read_examples(csv))
    dropped, notes = check_counts(read_examples(csv), drop_rare=True)
    assert [e.category for e in dropped] == [None, None] and "dropped rare" in notes[0]
    csv.write_text("utterance,category\n路灯坏了,一般诉求\n", encoding="utf-8")
    with pytest.raises(TrainDataError, match=r"bad.csv:1: the header must name a 'text' column"):
        read_examples(csv)
    assert not (tmp_path / "m").exists()


def test_train_prints_figures_and_writes_a_versioned_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _subset(tmp_path / "centre.jsonl")
    out = tmp_path / "model"
    assert assist_main(["train", "--data", str(data), "--out", str(out), "--encoder", "none",
                        "--folds", "3", "--quiet", "--drop-rare"]) == 0
    printed = capsys.readouterr().out
    assert "== department" in printed and "cross-validated accuracy" in printed and "macro-F1" in printed
    assert "confusion (rows: truth, columns: prediction)" in printed and "城管执法大队" in printed
    assert "== critical" in printed
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["heads"]["department"]["labels"] == sorted(UNITS.values())
    assert meta["version"].endswith(meta["weights_sha256"][:8]) and len(meta["data_sha256"]) == 64
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert meta["data_sha256"] in card and "Cross-validated figures" in card
    model = LearnedModel.load(out)
    assert not model.needs_encoder
    # the figures are cross-validated: no example is scored by a model that saw it
    acc = meta["figures"]["department"]["combined"]["accuracy"]
    assert 0.4 < acc < 1.0

    again = tmp_path / "again"
    assert main(["--data", str(data), "--out", str(again), "--encoder", "none", "--folds", "3", "--quiet",
                 "--drop-rare"]) == 0
    meta2 = json.loads((again / "model.json").read_text(encoding="utf-8"))
    assert meta2["weights_sha256"] == meta["weights_sha256"]  # deterministic seeds: same data, same model
    assert meta2["figures"] == meta["figures"]


def test_a_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model directory"):
        LearnedModel.load(tmp_path)
    (tmp_path / "model.json").write_text('{"format": 99}', encoding="utf-8")
    (tmp_path / "vocab.txt").write_text("", encoding="utf-8")
    with pytest.raises(ModelError):
        LearnedModel.load(tmp_path)


def test_a_head_with_two_labels_is_learned(tmp_path: Path) -> None:
    """scikit-learn gives one decision score for two classes: a two-unit centre's department head must still
    learn (it once scored every example as the first label)."""
    taken: dict[str, int] = defaultdict(int)
    lines = []
    for raw in TRAIN.read_text(encoding="utf-8").splitlines():
        r = json.loads(raw)
        dep = r.get("department")
        if dep not in ("城管", "公安") or taken[dep] >= 40:
            continue
        taken[dep] += 1
        lines.append(json.dumps({"text": r["text"], "department": dep}, ensure_ascii=False))
    data = tmp_path / "two.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    assert main(["--data", str(data), "--out", str(out), "--encoder", "none", "--folds", "3", "--quiet"]) == 0
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["figures"]["department"]["model"]["accuracy"] > 0.75


def test_grouped_folds_keep_each_writers_rows_together(tmp_path: Path) -> None:
    """--group-folds: a row's `group` (else its file) never has rows on both sides of a fold, so the figures
    and thresholds are for a writer the model has not seen; too few groups is an error that says so."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": f"路灯坏了第{i}盏", "category": "一般诉求", "group": f"w{i % 6}"},
                                       ensure_ascii=False) + "\n" for i in range(30))
                    + json.dumps({"text": "没有组的那一行", "category": "咨询"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    examples = read_examples(data)
    assert examples[0].group == "w0" and examples[-1].group == "rows.jsonl"
    folds = make_folds(examples, TrainConfig(folds=5, group_folds=True))
    assert len(folds) == 5
    for train, val in folds:
        assert not {examples[i].group for i in train} & {examples[i].group for i in val}
    assert sorted(int(i) for _, val in folds for i in val) == list(range(len(examples)))
    shuffled = make_folds(examples, TrainConfig(folds=5))  # the default: rows of one group on both sides
    assert any({examples[i].group for i in train} & {examples[i].group for i in val} for train, val in shuffled)
    with pytest.raises(TrainDataError, match="at least 8 groups"):
        make_folds(examples, TrainConfig(folds=8, group_folds=True))


def test_the_banned_model_adds_warnings_where_the_rules_alone_fall_short_of_the_precision_target() -> None:
    """Stop 17: compliant lines quoting banned words put the rules alone at 93.5% precision, under the 95% target;
    no threshold reached it, and the model's warnings were switched off (recall 96% → 67%). Now the model adds
    what keeps the rules' own precision."""
    import numpy as np

    from assist.nlp.learned import Head, Policy
    from assist.nlp.trainer import HeadResult, choose_violation

    truth = ["true"] * 60 + ["false"] * 40
    # the rules find 30 violations and wrongly flag 5 quotes (85.7%); the model is sure of 25 more violations
    rules: list[str | None] = ["true"] * 30 + ["false"] * 30 + ["true"] * 5 + ["false"] * 35
    sure = [0.9] * 55 + [0.2] * 5 + [0.1] * 40
    res = HeadResult(Head.VIOLATION, ("false", "true"), truth, rules, [], [], Policy("model", 0.0, "rules"), 1.0, 1.0,
                     probabilities=np.array([[1 - p, p] for p in sure]))
    threshold, flags = choose_violation(res, 0.95)
    assert threshold < 1.0
    found, wrong = sum(flags[:60]), sum(flags[60:])
    assert found >= 55 and found / (found + wrong) >= 30 / 35  # recall 30 → 55+ of 60, precision not below the rules'
