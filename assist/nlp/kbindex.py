"""Retrieval index behind ``KnowledgeBase.search``: BM25F channels and a calibrated confidence.

Every entry is indexed in three fields — question, keywords, answer — through three
term channels: domain words (jieba with the 12345 dictionary, the dictionary words
inside long words, synonyms folded by ``synonyms.txt``), character bigrams and single
characters (both robust to segmentation differences and recognizer spacing).  A
channel gives, per entry, the BM25F-saturated IDF mass of the query terms it
contains; divided by the query's own IDF mass this is a *coverage* in 0..1.

A fourth, phrase-level signal matches the entry's *keywords* (the caller's own words,
synonym-folded) as exact substrings of the caller's text: how much of the text's
content they cover and how specific the best one is.  It lets a short question with
one distinctive word (办狗证要准备什么) count as strong evidence while a question that
shares one word with an entry but is about something else (创业贷款怎么申请) does not.

Eight features per entry feed a logistic model (``FEATURES``; weights in
``RankerConfig.calibration``, fitted on the dev split of the paraphrase set by
``python -m bench.kb_calibrate``, which also chooses ``RankerConfig.threshold``).
Its output, the *score*, estimates the probability that the entry answers the
question; entries below ``RankerConfig.threshold`` are not returned.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

FEATURES: tuple[str, ...] = (
    "base",  # mixed coverage of the three channels (all fields) times an evidence factor
    "head_words",  # word coverage by question + keywords, unknown words at full weight
    "head_grams",  # bigram coverage by question + keywords
    "log_mass",  # log(1 + matched word mass), all fields
    "head_matches",  # distinct multi-character query words present in question + keywords
    "unknown_words",  # distinct multi-character query words absent from the whole KB (capped)
    "keyword_cover",  # share of the query's content characters inside the entry's keywords found verbatim
    "keyword_idf",  # IDF of the most specific keyword of the entry found verbatim (0: none)
)
UNKNOWN_CAP = 4
MASS_SCALE = 5.0  # "log_mass" = log(1 + 5 * mass): mass is in units of the maximal IDF


@dataclass(frozen=True, slots=True)
class RankerConfig:
    """Ranking parameters.  Defaults: fitted/calibrated on the dev split (docs/knowledge-base.md)."""

    # operating point (bench.kb_calibrate): best cross-validated top-1 with <= 5 % false positives on dev
    threshold: float = 0.19  # minimal score of a returned entry
    calibration: tuple[float, ...] = (1.858, 0.979, 1.283, 2.230, 1.385, 0.510, 1.206, 1.604, -9.964)
    word_share: float = 0.35  # coverage mix: word channel ...
    char_share: float = 0.15  # ... single characters; character bigrams get the rest (0.5)
    question_weight: float = 3.0
    keywords_weight: float = 3.0
    answer_weight: float = 0.3
    k1: float = 1.2
    b: float = 0.5
    unknown_idf_factor: float = 0.2  # in "base": an unknown query term counts this share of the maximal IDF
    evidence_scale: float = 0.1  # in "base": matched mass at which the evidence factor reaches 63%

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, got {self.threshold}")
        if len(self.calibration) != len(FEATURES) + 1:
            raise ValueError(f"calibration needs {len(FEATURES) + 1} numbers (one per feature, then the bias)")
        if min(self.word_share, self.char_share) < 0.0 or self.word_share + self.char_share > 1.0:
            raise ValueError("word_share and char_share must be >= 0 and sum to at most 1")
        for name in ("question_weight", "keywords_weight", "answer_weight", "k1"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0.0 <= self.b <= 1.0 or not 0.0 <= self.unknown_idf_factor <= 1.0:
            raise ValueError("b and unknown_idf_factor must be within 0..1")
        if self.evidence_scale <= 0:
            raise ValueError("evidence_scale must be positive")


@dataclass(frozen=True, slots=True)
class DocTerms:
    """Terms of one entry per field (question, keywords, answer) and channel."""

    words: tuple[list[str], list[str], list[str]]
    grams: tuple[list[str], list[str], list[str]]
    phrases: tuple[str, ...] = ()  # keywords, synonym-folded and joined (see ``KnowledgeBase``)
    head: str = ""  # question and keywords, folded and joined: where a phrase's IDF is counted


@dataclass(frozen=True, slots=True)
class QueryTerms:
    words: list[str]  # content words, expanded and folded
    grams: list[str]
    content: frozenset[str]  # multi-character content words, folded, not expanded
    text: str = ""  # every word, synonym-folded and joined: where keyword phrases are looked up
    content_chars: tuple[bool, ...] = ()  # per character of ``text``: inside a content word?


@dataclass(slots=True)
class Channel:
    """Postings of one term channel: term -> (entry indices, IDF-weighted saturated tf)."""

    postings: dict[str, tuple[IntArray, FloatArray]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    unknown_idf: float = 0.0

    def match(self, terms: Iterable[str], n_docs: int) -> tuple[FloatArray, float]:
        """Matched IDF mass per entry and the query's total IDF mass."""
        mass = np.zeros(n_docs)
        total = 0.0
        for term in set(terms):
            posting = self.postings.get(term)
            if posting is None:
                total += self.unknown_idf
                continue
            total += self.idf[term]
            idx, weight = posting
            mass[idx] += weight
        return mass, total

    def coverage(self, terms: Iterable[str], n_docs: int) -> tuple[FloatArray, FloatArray]:
        mass, total = self.match(terms, n_docs)
        return mass / total if total > 0 else mass, mass


def build_channel(
    docs: Sequence[Sequence[Sequence[str]]], weights: Sequence[float], k1: float, b: float, unknown_factor: float
) -> Channel:
    """BM25F over ``docs[d][f]`` (terms of field f of entry d) with per-field ``weights``."""
    n_docs = len(docs)
    n_fields = len(weights)
    avg_len = [max(1.0, sum(len(doc[f]) for doc in docs) / max(1, n_docs)) for f in range(n_fields)]
    pseudo_tf: dict[str, dict[int, float]] = defaultdict(dict)
    for d, doc in enumerate(docs):
        combined: dict[str, float] = defaultdict(float)
        for f in range(n_fields):
            if weights[f] <= 0:
                continue
            norm = 1.0 - b + b * len(doc[f]) / avg_len[f]
            for term, tf in Counter(doc[f]).items():
                combined[term] += weights[f] * tf / norm
        for term, value in combined.items():
            pseudo_tf[term][d] = value
    # IDF in units of the maximal IDF (a term found in no entry): masses and coverages then
    # mean the same for a 30-entry and a 3000-entry knowledge base
    max_idf = _idf(0, max(1, n_docs))
    channel = Channel(unknown_idf=unknown_factor)
    for term, per_doc in pseudo_tf.items():
        idf = _idf(len(per_doc), n_docs) / max_idf
        idx = np.fromiter(per_doc.keys(), dtype=np.intp, count=len(per_doc))
        tfs = np.fromiter(per_doc.values(), dtype=np.float64, count=len(per_doc))
        channel.postings[term] = (idx, idf * tfs / (k1 + tfs))
        channel.idf[term] = idf
    return channel


def _idf(df: int, n_docs: int) -> float:
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def chars_of(grams: Sequence[str]) -> list[str]:
    """Single characters of a bigram sequence (each character once per position)."""
    if not grams:
        return []
    return [g[0] for g in grams] + [grams[-1][-1]]


class PhraseIndex:
    """Exact keyword phrases (2+ characters) -> entries, with an IDF per phrase."""

    def __init__(self, docs: Sequence[DocTerms]) -> None:
        owners: dict[str, set[int]] = defaultdict(set)
        for d, doc in enumerate(docs):
            for phrase in doc.phrases:
                if len(phrase) > 1:
                    owners[phrase].add(d)
        self.max_len = max(map(len, owners), default=0)
        self.entries: dict[str, IntArray] = {p: np.array(sorted(ds), dtype=np.intp) for p, ds in owners.items()}
        # a phrase is as specific as the number of entries whose question or keywords contain it
        df: Counter[str] = Counter()
        for doc in docs:
            df.update({p for p in self._substrings(doc.head) if p in owners})
        n_docs = max(1, len(docs))
        max_idf = _idf(0, n_docs)
        self.idf: dict[str, float] = {p: _idf(max(df[p], len(ds)), n_docs) / max_idf for p, ds in owners.items()}

    def _substrings(self, text: str) -> Iterator[str]:
        for i in range(len(text) - 1):
            for n in range(2, min(self.max_len, len(text) - i) + 1):
                yield text[i : i + n]

    def features(self, q: QueryTerms, n_docs: int) -> tuple[FloatArray, FloatArray]:
        """Per entry: share of the content characters of ``q.text`` covered by its phrases, best phrase IDF."""
        text = q.text
        weight = np.array(q.content_chars, dtype=np.float64)
        covered: dict[int, npt.NDArray[np.bool_]] = {}
        best = np.zeros(n_docs)
        for i in range(len(text) - 1):
            for n in range(2, min(self.max_len, len(text) - i) + 1):
                phrase = text[i : i + n]
                idx = self.entries.get(phrase)
                if idx is None:
                    continue
                best[idx] = np.maximum(best[idx], self.idf[phrase])
                for d in idx.tolist():
                    mask = covered.get(d)
                    if mask is None:
                        mask = covered[d] = np.zeros(len(text), dtype=np.bool_)
                    mask[i : i + n] = True
        cover = np.zeros(n_docs)
        total = float(weight.sum())
        if total > 0:
            for d, mask in covered.items():
                cover[d] = float(weight[mask].sum()) / total
        return cover, best


class Index:
    """All channels of a knowledge base; ``features``/``scores`` are vectorised over entries."""

    def __init__(self, docs: Sequence[DocTerms], config: RankerConfig) -> None:
        cfg = config
        self.config = cfg
        self.n_docs = len(docs)
        weights = (cfg.question_weight, cfg.keywords_weight, cfg.answer_weight)
        head = (cfg.question_weight, cfg.keywords_weight, 0.0)
        words = [d.words for d in docs]
        grams = [d.grams for d in docs]
        chars = [tuple(chars_of(f) for f in d.grams) for d in docs]
        self.words = build_channel(words, weights, cfg.k1, cfg.b, cfg.unknown_idf_factor)
        self.grams = build_channel(grams, weights, cfg.k1, cfg.b, cfg.unknown_idf_factor)
        self.chars = build_channel(chars, weights, cfg.k1, cfg.b, cfg.unknown_idf_factor)
        self.head_words = build_channel(words, head, cfg.k1, cfg.b, 1.0)
        self.head_grams = build_channel(grams, head, cfg.k1, cfg.b, 1.0)
        presence: dict[str, list[int]] = defaultdict(list)
        for d, doc in enumerate(docs):
            for term in {t for t in (*doc.words[0], *doc.words[1]) if len(t) > 1}:
                presence[term].append(d)
        self.head_presence = {t: np.array(ix, dtype=np.intp) for t, ix in presence.items()}
        self.phrases = PhraseIndex(docs)
        self._coef = np.array(cfg.calibration[:-1], dtype=np.float64)
        self._bias = float(cfg.calibration[-1])

    def features(self, q: QueryTerms) -> FloatArray:
        """Feature matrix (entries x ``FEATURES``) for one query."""
        cfg = self.config
        n = self.n_docs
        word_cov, word_mass = self.words.coverage(q.words, n)
        gram_cov, gram_mass = self.grams.coverage(q.grams, n)
        char_cov, char_mass = self.chars.coverage(chars_of(q.grams), n)
        gram_share = 1.0 - cfg.word_share - cfg.char_share
        cover = cfg.word_share * word_cov + gram_share * gram_cov + cfg.char_share * char_cov
        mass = cfg.word_share * word_mass + gram_share * gram_mass + cfg.char_share * char_mass
        base = cover * (1.0 - np.exp(-mass / cfg.evidence_scale))
        head_words, _ = self.head_words.coverage(q.words, n)
        head_grams, _ = self.head_grams.coverage(q.grams, n)
        matches = np.zeros(n)
        unknown = 0
        for term in q.content:
            idx = self.head_presence.get(term)
            if idx is not None:
                matches[idx] += 1.0
            if term not in self.words.postings:
                unknown += 1
        out = np.empty((n, len(FEATURES)))
        out[:, 0] = base
        out[:, 1] = head_words
        out[:, 2] = head_grams
        out[:, 3] = np.log1p(MASS_SCALE * word_mass)
        out[:, 4] = matches
        out[:, 5] = min(unknown, UNKNOWN_CAP)
        out[:, 6], out[:, 7] = self.phrases.features(q, n)
        return out

    def scores(self, q: QueryTerms) -> FloatArray:
        """Calibrated score in 0..1 of every entry."""
        if self.n_docs == 0 or not (q.words or q.grams):
            return np.zeros(self.n_docs)
        logits = self.features(q) @ self._coef + self._bias
        result: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))
        return result
