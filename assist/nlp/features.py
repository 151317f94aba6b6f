"""Features of the learned classifiers: character n-gram TF-IDF, encoder vectors, rule outputs.

Everything here is plain numpy so that the runtime needs no scikit-learn: the same
code builds the features at training time (``assist.cli.train``) and at analysis time
(``assist.nlp.learned``), which guarantees they agree.

- ``clean``: the normalised text without spaces and punctuation, so typed text and
  recognizer output (words separated by spaces, no punctuation) give the same features;
- ``NgramSpace``: character 1..3-grams, sublinear TF × smoothed IDF, L2-normalised;
- ``RuleFeatures``: one-hot of what the rules found (category, emotion, department,
  critical, referral numbers, a banned phrase), so the models learn when to trust them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from assist.nlp.analysis import Analysis

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
NGRAM_MIN = 1
NGRAM_MAX = 3


def clean(normalized: str) -> str:
    """Normalised text without whitespace and punctuation (letters and digits kept)."""
    return _DROP.sub("", normalized)


def ngrams(text: str) -> list[str]:
    out: list[str] = []
    for n in range(NGRAM_MIN, NGRAM_MAX + 1):
        out.extend(text[i:i + n] for i in range(len(text) - n + 1))
    return out


@dataclass(frozen=True, slots=True)
class SparseRow:
    indices: IntArray
    values: FloatArray


class NgramSpace:
    """A fixed vocabulary of character n-grams with their IDF weights."""

    def __init__(self, vocabulary: Sequence[str], idf: FloatArray) -> None:
        if len(vocabulary) != len(idf):
            raise ValueError("vocabulary and idf differ in length")
        self.vocabulary = tuple(vocabulary)
        self.index = {g: i for i, g in enumerate(self.vocabulary)}
        self.idf = idf.astype(np.float32)

    def __len__(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2, max_features: int = 12000) -> NgramSpace:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(ngrams(t)))
        kept = [g for g, c in df.items() if c >= min_df]
        kept.sort(key=lambda g: (-df[g], g))  # deterministic: by frequency, then by the n-gram
        kept = sorted(kept[:max_features])
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in kept], dtype=np.float32)
        return cls(kept, idf)

    def row(self, text: str) -> SparseRow:
        counts: Counter[int] = Counter()
        for g in ngrams(text):
            j = self.index.get(g)
            if j is not None:
                counts[j] += 1
        if not counts:
            return SparseRow(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        tf = np.array([1.0 + math.log(counts[int(j)]) for j in idx], dtype=np.float32)
        vals = tf * self.idf[idx]
        norm = float(np.linalg.norm(vals))
        return SparseRow(idx, (vals / norm).astype(np.float32) if norm else vals)


REFERRAL_NUMBERS: tuple[str, ...] = ("110", "119", "120", "122", "12356", "12348", "12333", "12315", "12388", "12310")


@dataclass(frozen=True, slots=True)
class RuleView:
    """What the rules decided for one caller utterance (the input of ``RuleFeatures``)."""

    category: str | None
    emotion: str | None
    department: str | None
    critical: bool
    referrals: tuple[str, ...]
    banned: bool = False  # an operator utterance in which the rules found a banned phrase

    @classmethod
    def of(cls, a: Analysis) -> RuleView:
        return cls(a.intent, a.emotion.label if a.emotion is not None else None, a.department, a.critical,
                   tuple(r.number for r in a.referrals), bool(a.banned))


class RuleFeatures:
    """One-hot layout of a ``RuleView``: one slot per known value, plus critical and referrals."""

    def __init__(self, categories: Iterable[str], emotions: Iterable[str], departments: Iterable[str],
                 *, banned: bool = True) -> None:
        names = [f"category={c}" for c in categories] + [f"emotion={e}" for e in emotions]
        names += [f"department={d}" for d in departments] + ["critical"]
        names += [f"referral={n}" for n in REFERRAL_NUMBERS]
        names += ["banned"] if banned else []  # models trained before the operator heads have no such slot
        self.names = tuple(names)
        self._slot = {n: i for i, n in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def vector(self, view: RuleView) -> FloatArray:
        v = np.zeros(len(self.names), dtype=np.float32)
        keys = [f"category={view.category}", f"emotion={view.emotion}", f"department={view.department}"]
        keys += [f"referral={n}" for n in view.referrals]
        if view.critical:
            keys.append("critical")
        if view.banned:
            keys.append("banned")
        for k in keys:
            j = self._slot.get(k)
            if j is not None:
                v[j] = 1.0
        return v
