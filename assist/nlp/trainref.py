"""The learned referral head of ``assist train``: which numbers a caller should be given.

Multi-label: for every referral number with at least ``TrainConfig.referral_min_positives`` positive
examples among the caller rows labelled with ``referrals``, a one-vs-rest logistic regression over the
design matrix of the other heads (``trainer.design``: n-gram TF-IDF, encoder vector, the rules' one-hots,
the rules' own referral numbers among them).  Its out-of-fold scores come from the same folds
(``ReferralFolds`` is called by ``trainer.cross_validate`` with each fold's matrices); a temperature per
number is fitted on them, then two thresholds per number are chosen on validation folds: the lowest
probability whose flags keep ``referral_precision`` (the number is suggested), and the lowest keeping
``referral_confident_precision`` (a matter hotline suggested even on a critical utterance).  At analysis
time the model's numbers are added to the rules' (union; assist.nlp.refine).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from assist.nlp.features import FloatArray, NgramSpace, RuleFeatures
from assist.nlp.trainer import Prepared, TrainConfig, design, fit_temperature, precise_threshold
from assist.nlp.trainreport import BinaryFigures, binary

IntArray = npt.NDArray[np.int64]
GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 … 0.95


@dataclass(frozen=True, slots=True)
class NumberFigures:
    """Out-of-fold figures of one number: the model at its threshold, the rules, and their union."""

    number: str
    positives: int
    threshold: float
    confident: float
    model: BinaryFigures
    rules: BinaryFigures
    combined: BinaryFigures


@dataclass(slots=True)
class ReferralResult:
    numbers: tuple[str, ...]
    rows: list[int]  # the examples labelled with referrals
    truth: list[tuple[str, ...]]
    rules: list[tuple[str, ...]]
    probabilities: npt.NDArray[np.float64]  # (rows, numbers), calibrated, out of fold
    temperatures: tuple[float, ...]
    thresholds: tuple[float, ...]
    confident: tuple[float, ...]
    c: float
    weights: FloatArray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (features, numbers)
    bias: FloatArray = field(default_factory=lambda: np.zeros(0, np.float32))

    def predicted(self, j: int) -> tuple[str, ...]:
        """The numbers the model gives to row ``j`` (probability at or above the number's threshold)."""
        return tuple(n for k, n in enumerate(self.numbers) if self.probabilities[j, k] >= self.thresholds[k])

    def per_number(self) -> list[NumberFigures]:
        out: list[NumberFigures] = []
        for k, n in enumerate(self.numbers):
            y = [n in t for t in self.truth]
            model = [bool(p >= self.thresholds[k]) for p in self.probabilities[:, k]]
            rules = [n in r for r in self.rules]
            out.append(NumberFigures(n, sum(y), self.thresholds[k], self.confident[k], binary(y, model),
                                     binary(y, rules), binary(y, [a or b for a, b in zip(model, rules, strict=True)])))
        return out

    def overall(self) -> tuple[BinaryFigures, BinaryFigures]:
        """Micro recall / precision over every labelled number (modelled or not): rules alone, rules + model."""
        return (_micro(self.truth, [set(r) for r in self.rules]),
                _micro(self.truth, [set(r) | set(self.predicted(j)) for j, r in enumerate(self.rules)]))


def _micro(truth: Sequence[tuple[str, ...]], pred: Sequence[set[str]]) -> BinaryFigures:
    found = sum(len(set(t) & p) for t, p in zip(truth, pred, strict=True))
    labelled = sum(len(t) for t in truth)
    suggested = sum(len(p) for p in pred)
    return BinaryFigures(len(truth), labelled, found / labelled if labelled else 0.0,
                         found / suggested if suggested else 0.0)


def _fit(x: sparse.csr_matrix, y: npt.NDArray[np.bool_], c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x, y.astype(np.int64))
    return model


class ReferralFolds:
    """Accumulates the out-of-fold scores of every modelled number; called once per fold."""

    def __init__(self, prep: Prepared, cfg: TrainConfig) -> None:
        self.prep = prep
        self.cfg = cfg
        self.rows = [i for i, e in enumerate(prep.examples) if e.referrals is not None and not e.agent]
        self._row_set = set(self.rows)
        counts = Counter(n for i in self.rows for n in prep.examples[i].referrals or ())
        self.numbers = tuple(sorted(n for n, c in counts.items()
                                    if c >= cfg.referral_min_positives and len(self.rows) - c >= cfg.folds))
        self.y = np.array([[n in (prep.examples[i].referrals or ()) for n in self.numbers] for i in self.rows],
                          dtype=bool).reshape(len(self.rows), len(self.numbers))
        self._pos = {i: j for j, i in enumerate(self.rows)}
        self.scores = np.zeros((len(self.rows), len(self.numbers)))

    def __call__(self, train_idx: IntArray, val_idx: IntArray, x_train: sparse.csr_matrix,
                 x_val: sparse.csr_matrix) -> None:
        tr = [j for j, i in enumerate(train_idx) if int(i) in self._row_set]
        va = [j for j, i in enumerate(val_idx) if int(i) in self._row_set]
        if not tr or not va:
            return
        y_tr = self.y[[self._pos[int(train_idx[j])] for j in tr]]
        out = [self._pos[int(val_idx[j])] for j in va]
        for k in range(len(self.numbers)):
            if y_tr[:, k].all() or not y_tr[:, k].any():
                continue
            model = _fit(x_train[tr], y_tr[:, k], self.cfg.referral_c)
            self.scores[out, k] = np.asarray(model.decision_function(x_val[va]), dtype=np.float64)

    def result(self) -> ReferralResult | None:
        if not self.numbers:
            return None
        probs = np.zeros_like(self.scores)
        temps: list[float] = []
        thresholds: list[float] = []
        confident: list[float] = []
        no_rules = [False] * len(self.rows)
        for k in range(len(self.numbers)):
            y = self.y[:, k]
            s = self.scores[:, k:k + 1]
            t = fit_temperature(s, y.astype(np.int64))
            p = 1.0 / (1.0 + np.exp(-s[:, 0] / t))
            probs[:, k] = p
            # the positives' probabilities (rounded down: each keeps its positive) and a fixed grid, so that on
            # well separated data the threshold is not the lowest positive's probability but lies in the gap
            grid = sorted({math.floor(float(v) * 1e4) / 1e4 for v in p[y]} | set(GRID))
            low = precise_threshold(y.tolist(), no_rules, p, grid, self.cfg.referral_precision)
            high = precise_threshold(y.tolist(), no_rules, p, [g for g in grid if g >= low],
                                     self.cfg.referral_confident_precision)
            temps.append(t)
            thresholds.append(low)
            confident.append(max(low, high))
        truth = [self.prep.examples[i].referrals or () for i in self.rows]
        rules = [self.prep.rules[i].referrals for i in self.rows]
        return ReferralResult(self.numbers, self.rows, truth, rules, probs, tuple(temps), tuple(thresholds),
                              tuple(confident), self.cfg.referral_c)


def fit_referral_final(space: NgramSpace, feats: RuleFeatures, prep: Prepared, cfg: TrainConfig,
                       res: ReferralResult) -> None:
    """Refit every number on all the labelled rows; fills weights (features, numbers) and bias in place."""
    x = design(space, feats, prep, res.rows, cfg)
    cols: list[FloatArray] = []
    bias: list[float] = []
    for n in res.numbers:
        y = np.array([n in t for t in res.truth], dtype=bool)
        model = _fit(x, y, res.c)
        cols.append(np.asarray(model.coef_[0], dtype=np.float32))
        bias.append(float(model.intercept_[0]))
    res.weights = np.stack(cols, axis=1).astype(np.float32)
    res.bias = np.array(bias, dtype=np.float32)


def report_lines(res: ReferralResult) -> list[str]:
    """The training report's section: per number, then the overall recall."""
    rules, both = res.overall()
    lines = [f"== referrals: {len(res.rows)} labelled caller utterances, {rules.positives} numbers labelled; "
             f"learned numbers {' '.join(res.numbers)}",
             f"   overall referral recall: rules alone {rules.recall:.1%} (precision {rules.precision:.1%}), "
             f"rules + model {both.recall:.1%} (precision {both.precision:.1%})",
             "   number    positives  threshold  confident  model P / R      rules P / R      rules+model P / R"]
    for f in res.per_number():
        lines.append(f"   {f.number:<9} {f.positives:9d} {f.threshold:10.3f} {f.confident:10.3f}  "
                     f"{f.model.precision:6.1%} / {f.model.recall:6.1%}  {f.rules.precision:6.1%} / "
                     f"{f.rules.recall:6.1%}  {f.combined.precision:6.1%} / {f.combined.recall:6.1%}")
    return lines


def report_dict(res: ReferralResult) -> dict[str, object]:
    rules, both = res.overall()
    return {"rules": rules.to_dict(), "combined": both.to_dict(),
            "per_number": {f.number: {"positives": f.positives, "threshold": f.threshold, "confident": f.confident,
                                      "model": f.model.to_dict(), "rules": f.rules.to_dict(),
                                      "combined": f.combined.to_dict()} for f in res.per_number()}}


def meta(res: ReferralResult, cfg: TrainConfig) -> dict[str, object]:
    """The ``referral`` entry of model.json (weights: ``W_referral``, ``b_referral`` in weights.npz)."""
    return {"numbers": list(res.numbers), "thresholds": list(res.thresholds), "confident": list(res.confident),
            "temperatures": list(res.temperatures), "c": res.c, "min_positives": cfg.referral_min_positives,
            "precision": cfg.referral_precision, "confident_precision": cfg.referral_confident_precision}


def card_lines(info: Mapping[str, object], fig: Mapping[str, object]) -> list[str]:
    """The model card's section on the referral head (from model.json's ``referral`` and its figures)."""
    rules, both, per = fig["rules"], fig["combined"], fig["per_number"]
    assert isinstance(rules, dict) and isinstance(both, dict) and isinstance(per, dict)
    lines = ["", "## Referral numbers", "",
             f"Learned numbers (at least {info['min_positives']} positive examples each, one-vs-rest; "
             f"threshold: {info['precision']:.0%} precision on validation folds, confident: "
             f"{info['confident_precision']:.0%}): {' '.join(str(n) for n in per)}.", "",
             f"Overall referral recall (every labelled number): rules alone {rules['recall']:.1%} "
             f"(precision {rules['precision']:.1%}), rules + model **{both['recall']:.1%}** "
             f"(precision {both['precision']:.1%}).", "",
             "| number | positives | threshold | confident | model P / R | rules P / R | rules + model P / R |",
             "|---|---|---|---|---|---|---|"]
    for n, f in per.items():
        m, r, c = f["model"], f["rules"], f["combined"]
        lines.append(f"| {n} | {f['positives']} | {f['threshold']:.3f} | {f['confident']:.3f} "
                     f"| {m['precision']:.1%} / {m['recall']:.1%} | {r['precision']:.1%} / {r['recall']:.1%} "
                     f"| {c['precision']:.1%} / {c['recall']:.1%} |")
    return lines
