"""Figures of ``assist train``: accuracy, macro-F1, per-class figures, confusion table, critical recall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ABSTAIN = "(none)"


@dataclass(frozen=True, slots=True)
class ClassFigures:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassFigures, ...]
    confusion: tuple[tuple[int, ...], ...]  # rows: truth, columns: labels + (none)
    labels: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "per_class": {c.label: {"precision": round(c.precision, 4), "recall": round(c.recall, 4),
                                        "f1": round(c.f1, 4), "support": c.support} for c in self.per_class}}


def figures(labels: Sequence[str], truth: Sequence[str], pred: Sequence[str | None]) -> Figures:
    n = len(truth)
    right = sum(1 for t, p in zip(truth, pred, strict=True) if t == p)
    per: list[ClassFigures] = []
    for lab in labels:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == lab and p == lab)
        npred = sum(1 for p in pred if p == lab)
        ntrue = sum(1 for t in truth if t == lab)
        prec = tp / npred if npred else 0.0
        rec = tp / ntrue if ntrue else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per.append(ClassFigures(lab, prec, rec, f1, ntrue))
    cols = (*labels, ABSTAIN)
    conf = tuple(tuple(sum(1 for t, p in zip(truth, pred, strict=True) if t == row and (p or ABSTAIN) == col)
                       for col in cols) for row in labels)
    macro = sum(c.f1 for c in per) / len(per) if per else 0.0
    return Figures(n, right / n if n else 0.0, macro, tuple(per), conf, tuple(labels))


@dataclass(frozen=True, slots=True)
class BinaryFigures:
    n: int
    positives: int
    recall: float
    precision: float

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "positives": self.positives, "recall": round(self.recall, 4),
                "precision": round(self.precision, 4)}


def binary(truth: Sequence[bool], pred: Sequence[bool]) -> BinaryFigures:
    tp = sum(1 for t, p in zip(truth, pred, strict=True) if t and p)
    pos = sum(truth)
    flagged = sum(pred)
    return BinaryFigures(len(truth), pos, tp / pos if pos else 0.0, tp / flagged if flagged else 0.0)


def _pad(s: str, width: int) -> str:
    # CJK characters take two columns in a terminal
    w = sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)
    return s + " " * max(0, width - w)


def render(title: str, f: Figures, baseline: Figures | None = None, model_only: Figures | None = None) -> str:
    lines = [f"== {title}: {f.n} examples, {len(f.labels)} labels"]
    line = f"   cross-validated accuracy {f.accuracy:.1%}, macro-F1 {f.macro_f1:.1%}"
    if model_only is not None:
        line += f"  (model alone {model_only.accuracy:.1%} / {model_only.macro_f1:.1%}"
        line += f", rules alone {baseline.accuracy:.1%} / {baseline.macro_f1:.1%})" if baseline is not None else ")"
    lines.append(line)
    width = max([10, *(sum(2 if ord(ch) > 0x2E80 else 1 for ch in lab) + 2 for lab in f.labels)])
    lines.append("   " + _pad("label", width) + "precision  recall    F1  support")
    for c in f.per_class:
        lines.append(f"   {_pad(c.label, width)}{c.precision:9.1%} {c.recall:7.1%} {c.f1:6.1%} {c.support:8d}")
    lines.append("   confusion (rows: truth, columns: prediction)")
    cols = (*f.labels, ABSTAIN)
    lines.append("   " + _pad("", width) + " ".join(_pad(c[:4], 8) for c in cols))
    for lab, row in zip(f.labels, f.confusion, strict=True):
        lines.append("   " + _pad(lab, width) + " ".join(_pad(str(v), 8) for v in row))
    return "\n".join(lines)
