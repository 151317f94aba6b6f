"""Fit the knowledge-base confidence model and choose its threshold on the dev split.

    python -m bench.kb_calibrate [--kb FILE] [--paraphrases FILE] [--split dev] [--l2 3.0]
                                 [--max-fp 0.05] [--repeats 5]

Every (question, entry) pair of the chosen split is one training row: the features of
``assist.nlp.kbindex.FEATURES``, label 1 for the expected entry and 0 otherwise
(unanswerable questions: 0 for every entry).  A logistic regression with an L2
penalty is fitted by Newton's method.

The threshold is chosen on *held-out* scores: 5-fold cross-validation over
questions, repeated ``--repeats`` times with different shuffles, gives every question
out-of-fold scores.  The operating point is the threshold with the best top-1 accuracy
on answerable questions whose false-positive rate on unanswerable questions (any
entry returned) stays at or below ``--max-fp``.  The table also shows the wrong-answer
rate and an expected cost per question where a wrong answer (false positive or wrong
entry first) costs 2 and a missing answer 1.  Paste the printed ``calibration`` and
``threshold`` into ``RankerConfig``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assist.nlp.kb import DEFAULT_KB, KnowledgeBase
from assist.nlp.kbindex import FEATURES, FloatArray
from bench.kb_eval import DEFAULT_PARAPHRASES, Case, load_cases

THRESHOLDS: tuple[float, ...] = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))  # 0.05 .. 0.95
SHOWN: tuple[float, ...] = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7)
WRONG_COST = 2.0  # a wrong answer costs this many missing answers


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    features: FloatArray  # entries x features
    labels: FloatArray  # entries
    answerable: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """The best entry of one held-out question: its score and whether it is the right one."""

    score: float
    correct: bool
    answerable: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    threshold: float
    top1: float  # answerable questions whose right entry is returned first
    false_positive: float  # unanswerable questions that get any entry
    wrong: float  # answerable questions whose first returned entry is wrong
    cost: float  # per question: WRONG_COST * (false positives + wrong) + missing answers


def fit_logistic(x: FloatArray, y: FloatArray, l2: float, iterations: int = 60) -> FloatArray:
    """Weights (features..., bias) of an L2-penalised logistic regression (bias not penalised)."""
    xb = np.c_[x, np.ones(len(x))]
    w = np.zeros(xb.shape[1])
    penalty = l2 * np.diag(np.r_[np.ones(len(w) - 1), 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + penalty @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + penalty + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return w


def _probabilities(w: FloatArray, features: FloatArray) -> FloatArray:
    logits = features @ w[:-1] + w[-1]
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    return out


def _samples(kb: KnowledgeBase, cases: Sequence[Case]) -> list[Sample]:
    ids = [e.id for e in kb.entries]
    return [
        Sample(kb.features(c.text), np.array([1.0 if i == c.kb_id else 0.0 for i in ids]), c.kb_id is not None)
        for c in cases
    ]


def _train(samples: Sequence[Sample], l2: float) -> FloatArray:
    x = np.concatenate([s.features for s in samples])
    y = np.concatenate([s.labels for s in samples])
    return fit_logistic(x, y, l2)


def held_out(samples: Sequence[Sample], l2: float, repeats: int, folds: int = 5) -> list[Outcome]:
    """Out-of-fold best-entry outcomes of every question, once per repeat of the cross-validation."""
    outcomes: list[Outcome] = []
    for seed in range(repeats):
        order = np.random.default_rng(seed).permutation(len(samples))
        for fold in np.array_split(order, folds):
            held = set(fold.tolist())
            w = _train([samples[i] for i in order if i not in held], l2)
            for i in fold:
                s = samples[i]
                p = _probabilities(w, s.features)
                best = int(p.argmax())
                outcomes.append(Outcome(float(p[best]), bool(s.labels[best] == 1), s.answerable))
    return outcomes


def operating_curve(outcomes: Sequence[Outcome], thresholds: Sequence[float] = THRESHOLDS) -> list[Point]:
    answerable = max(1, sum(o.answerable for o in outcomes))
    unanswerable = max(1, sum(not o.answerable for o in outcomes))
    points: list[Point] = []
    for t in thresholds:
        shown = [o for o in outcomes if o.score >= t]
        right = sum(o.answerable and o.correct for o in shown)
        false_pos = sum(not o.answerable for o in shown)
        wrong = sum(o.answerable and not o.correct for o in shown)
        missing = sum(o.answerable and o.score < t for o in outcomes)
        points.append(Point(
            threshold=t,
            top1=right / answerable,
            false_positive=false_pos / unanswerable,
            wrong=wrong / answerable,
            cost=(WRONG_COST * (false_pos + wrong) + missing) / max(1, len(outcomes)),
        ))
    return points


def choose(points: Sequence[Point], max_fp: float) -> Point:
    """Best top-1 with a false-positive rate <= ``max_fp`` (ties: the higher threshold)."""
    feasible = [p for p in points if p.false_positive <= max_fp]
    if not feasible:
        return max(points, key=lambda p: p.threshold)
    return max(feasible, key=lambda p: (round(p.top1, 9), p.threshold))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB)
    parser.add_argument("--paraphrases", type=Path, default=DEFAULT_PARAPHRASES)
    parser.add_argument("--split", default="dev", help="split to fit on (default dev)")
    parser.add_argument("--l2", type=float, default=3.0, help="L2 penalty (default 3.0)")
    parser.add_argument("--max-fp", type=float, default=0.05,
                        help="highest acceptable false-positive rate on unanswerable questions (default 0.05)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the 5-fold cross-validation")
    args = parser.parse_args(argv)

    kb = KnowledgeBase.load(args.kb)
    known = {e.id for e in kb.entries}
    cases = [c for c in load_cases(args.paraphrases) if c.split == args.split]
    cases = [c for c in cases if c.kb_id is None or c.kb_id in known]
    if not cases:
        print(f"no questions in split {args.split!r}")
        return 1
    samples = _samples(kb, cases)
    n_pos = sum(s.answerable for s in samples)
    print(f"{args.repeats} x 5-fold cross-validation on {len(samples)} {args.split} questions "
          f"({n_pos} answerable, {len(samples) - n_pos} unanswerable), held-out scores:")
    points = operating_curve(held_out(samples, args.l2, args.repeats))
    best = choose(points, args.max_fp)
    print(f"threshold  top-1   false-pos  wrong  cost(wrong={WRONG_COST:g}, missing=1)")
    for p in points:
        if p.threshold in SHOWN or p is best:
            mark = "  <- operating point" if p is best else ""
            print(f"{p.threshold:9.2f}  {p.top1 * 100:5.1f}%  {p.false_positive * 100:6.1f}%  "
                  f"{p.wrong * 100:4.1f}%  {p.cost:.3f}{mark}")
    cheapest = min(points, key=lambda p: (p.cost, -p.threshold))
    print(f"operating point: max top-1 with false-pos <= {args.max_fp:.0%}: threshold {best.threshold:.2f} "
          f"(the cheapest threshold would be {cheapest.threshold:.2f})")
    w = _train(samples, args.l2)
    named = ", ".join(f"{name}={v:.3f}" for name, v in zip(FEATURES, w[:-1], strict=True))
    print(f"weights: {named}, bias={w[-1]:.3f}")
    print("calibration = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    print(f"threshold = {best.threshold:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
