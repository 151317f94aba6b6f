"""Fit the knowledge-base confidence model on the dev split of the paraphrase set.

    python -m bench.kb_calibrate [--kb FILE] [--paraphrases FILE] [--split dev] [--l2 1.0]

Every (question, entry) pair of the chosen split is one training row: the features of
``assist.nlp.kbindex.FEATURES``, label 1 for the expected entry and 0 otherwise
(unanswerable questions: 0 for every entry).  A logistic regression with an L2
penalty is fitted by Newton's method; 5-fold cross-validation over questions prints
top-1 accuracy and false-positive rate at several thresholds, so the threshold can be
chosen on held-out questions.  Paste the printed ``calibration`` into ``RankerConfig``.
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

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    features: FloatArray  # entries x features
    labels: FloatArray  # entries
    answerable: bool


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


def _evaluate(w: FloatArray, samples: Sequence[Sample], threshold: float) -> tuple[float, float]:
    correct = answerable = false_pos = unanswerable = 0
    for s in samples:
        p = _probabilities(w, s.features)
        best = int(p.argmax())
        returned = p[best] >= threshold
        if s.answerable:
            answerable += 1
            correct += bool(returned and s.labels[best] == 1)
        else:
            unanswerable += 1
            false_pos += bool(returned)
    return correct / max(1, answerable), false_pos / max(1, unanswerable)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB)
    parser.add_argument("--paraphrases", type=Path, default=DEFAULT_PARAPHRASES)
    parser.add_argument("--split", default="dev", help="split to fit on (default dev)")
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty")
    args = parser.parse_args(argv)

    kb = KnowledgeBase.load(args.kb)
    known = {e.id for e in kb.entries}
    cases = [c for c in load_cases(args.paraphrases) if c.split == args.split]
    cases = [c for c in cases if c.kb_id is None or c.kb_id in known]
    if not cases:
        print(f"no questions in split {args.split!r}")
        return 1
    samples = _samples(kb, cases)
    order = np.random.default_rng(0).permutation(len(samples))
    folds = np.array_split(order, 5)
    print(f"5-fold cross-validation on {len(samples)} {args.split} questions:")
    print("threshold  top-1   false-pos")
    for threshold in THRESHOLDS:
        results = []
        for fold in folds:
            held = set(fold.tolist())
            w = _train([samples[i] for i in order if i not in held], args.l2)
            results.append(_evaluate(w, [samples[i] for i in fold], threshold))
        top1, fp = np.mean(results, axis=0)
        print(f"{threshold:9.2f}  {top1 * 100:5.1f}%  {fp * 100:5.1f}%")
    w = _train(samples, args.l2)
    named = ", ".join(f"{name}={v:.3f}" for name, v in zip(FEATURES, w[:-1], strict=True))
    print(f"weights: {named}, bias={w[-1]:.3f}")
    print("calibration = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
