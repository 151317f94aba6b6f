"""Hybrid knowledge search: BM25 and sentence vectors fused, confidence calibrated per knowledge base.

- **BM25** over character 1-2-grams of each entry (question and keywords twice, answer
  once), on the cleaned text (no spaces or punctuation: recognizer output matches typed).
- **Dense**: the cosine between the caller's utterance and the entry's question (+ its
  keywords), both encoded as e5 queries, plus the cosine with the entry's answer encoded
  as an e5 passage (callers describe their situation in the answer's words, not the
  question's).  Both are summed into one vector per entry, so a search is one matrix
  product.  Entry vectors are computed at import and cached on disk by content hash
  (``vectors-<sha256>.npy``).
- **Dialect wording** (``kbwording.py``, 俺…咋整 → 我…怎么办) rewrites the query of both rankers, and the
  dense score reads all of it.  A model trained to read utterances in that wording (the shipped one,
  ``querycap``) passes its vector in: one encoder pass for a final its cut leaves whole (up to 40
  characters).  A longer final is encoded whole a second time: a cut (its first 16 + last 20 characters)
  lost the matter of a caller who greets first (trial 4, f6: 你好我是阳光花园的业主…电梯坏了… went to
  供暖), docs/performance.md.
- **Fusion**: ranking score = dense + ``BM25_WEIGHT`` × BM25 relative to the best
  possible BM25 of the query.
- **Confidence calibrated per knowledge base, per entry** (``Gate``): at import, the
  knowledge base's own questions are turned into caller-style paraphrases, and every
  entry's dense score is computed for the paraphrases of *other* entries and for
  off-topic caller utterances (``data/kb_offtopic.txt``): that is the entry's null
  distribution, what it meets when it is not the answer.  A query is answered by entry j
  when its dense score beats the 97th percentile of the other entries' paraphrases and
  the 90th of the off-topic utterances on j (probability 0.5 there).
  No positive examples are needed: generated paraphrases copy the question's words and
  are far easier than real spoken ones, so a gate fitted on them as positives demanded
  lexical overlap that real callers do not give, and abstained.  Entries with close
  neighbours (身份证 / 社保卡 丢了) get a higher bar than isolated ones.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assist.nlp.embed import Embedder
from assist.nlp.features import clean
from assist.nlp.kb import KbEntry, KbHit, KnowledgeBase
from assist.nlp.normalize import Normalizer
from assist.nlp.querycap import Encoded

FloatArray = npt.NDArray[np.float64]
OFFTOPIC_FILE = Path(__file__).parent / "data" / "kb_offtopic.txt"
BM25_WEIGHT = 0.15
K1 = 1.2
B = 0.75
THRESHOLD = 0.5
TIE_WINDOW = 0.01  # fused scores this close to the first: a clearly more probable entry goes first
TIE_MARGIN = 0.1  # ... when its gate probability is at least this much higher
ANSWER_WEIGHT = 1.0  # the answer (encoded as a passage) counts as much as the question in the dense score
NULL_QUANTILE = 0.97  # an entry answers when its score beats 97% of other entries' paraphrases
SCALE_FACTOR = 0.5  # the gate's logistic slope: half the typical spread of an entry's null scores
OFFTOPIC_QUANTILE = 0.9  # ... and 90% of the off-topic utterances
NULL_CHUNK = 2000  # entries per block when computing the null distributions
CALIBRATION_ENTRIES = 300  # entries whose paraphrases calibrate the confidence (evenly sampled beyond that)
_PREFIXES = ("请问", "我想问一下", "你好我想咨询一下", "那个就是想问问")
_SUFFIXES = ("", "要带什么材料", "在哪里办", "怎么弄")
_CLAUSE = re.compile(r"[,，。;；:：!！?？]")
_QUESTION_WORDS = ("怎么", "如何", "怎样", "哪里", "什么", "吗", "呢", "么", "可以", "能否", "能不能", "是否")


def cache_dir() -> Path:
    base = os.environ.get("ASSIST_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "assist")
    return Path(base) / "kb-vectors"


def _grams(text: str) -> list[str]:
    return list(text) + [text[i:i + 2] for i in range(len(text) - 1)]


class Bm25:
    """Okapi BM25 over character 1-2-grams; posting lists as numpy arrays."""

    def __init__(self, docs: Sequence[str]) -> None:
        self.n = len(docs)
        lengths = np.array([max(1, len(_grams(d))) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if self.n else 1.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, d in enumerate(docs):
            for g, count in Counter(_grams(d)).items():
                postings[g].append((i, count))
        self.idf: dict[str, float] = {}
        self.post: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = {}
        for g, items in postings.items():
            df = len(items)
            idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
            ids = np.array([i for i, _ in items], dtype=np.int64)
            tf = np.array([t for _, t in items], dtype=np.float64)
            weight = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[ids] / avg))
            self.idf[g] = idf
            self.post[g] = (ids, weight)

    def scores(self, query: str) -> tuple[FloatArray, float]:
        """(BM25 of every doc, the query's best possible score: sum of idf × (K1+1))."""
        out = np.zeros(self.n, dtype=np.float64)
        best = 0.0
        for g in set(_grams(query)):
            p = self.post.get(g)
            if p is None:
                continue
            out[p[0]] += p[1]  # a posting list holds each document once
            best += self.idf[g] * (K1 + 1)
        return out, best


@dataclass(frozen=True, slots=True)
class Gate:
    """Per-entry confidence: a query's dense score against the entry's own null distribution.

    ``null[j]`` is the ``NULL_QUANTILE`` quantile of the dense scores that entry j gets from
    calibration queries that are *not* about it (other entries' generated paraphrases and
    off-topic utterances); ``scale`` is the spread of those scores.  A query whose dense score
    on entry j exceeds ``null[j]`` is more like a question about j than what j usually meets:
    probability ``sigmoid((score - null[j]) / scale)``, 0.5 exactly at the null quantile.
    """

    null: FloatArray
    scale: float

    def probability(self, entry: int, dense: float) -> float:
        z = (dense - float(self.null[entry])) / self.scale
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def entry_nulls(scores: FloatArray, owner: npt.NDArray[np.int64], quantile: float = 0.95) -> FloatArray:
    """Per column j: the ``quantile`` of ``scores[:, j]`` over the rows whose owner is not j.

    ``scores``: calibration queries x entries; ``owner``: the entry each query was generated
    from (-1: off-topic).  Exact: a query's own entry is left out of that entry's null."""
    masked = scores.copy()
    rows = np.flatnonzero(owner >= 0)
    masked[rows, owner[rows]] = -np.inf
    own_count = np.bincount(owner[rows], minlength=scores.shape[1])
    valid = scores.shape[0] - own_count  # queries not about entry j
    # the k-th largest valid value, k = ceil((1 - quantile) * valid); -inf rows sort last
    k = np.maximum(1, np.ceil((1.0 - quantile) * valid).astype(np.int64))
    ordered = -np.sort(-masked, axis=0)
    out: FloatArray = ordered[np.minimum(k, scores.shape[0]) - 1, np.arange(scores.shape[1])].astype(np.float64)
    return out


def paraphrases(entry: KbEntry) -> list[str]:
    """Caller-style variants of an entry's question (generated; no model needed)."""
    core = clean(entry.question)
    stem = core
    for word in _QUESTION_WORDS:
        stem = stem.replace(word, "")
    out = [core]
    for i, prefix in enumerate(_PREFIXES):
        out.append(prefix + (stem if i % 2 else core) + _SUFFIXES[i % len(_SUFFIXES)])
    if entry.keywords:
        out.append("".join(entry.keywords[:3]) + "这个事怎么办")
    # harder positives, as real callers put it: part of the question only, or the matter
    # described in the answer's words
    if len(stem) >= 6:
        out.append("我想问" + stem[: (len(stem) * 2) // 3])
        out.append(stem[len(stem) // 3:] + "这个怎么办")
    first = clean(_CLAUSE.split(entry.answer, maxsplit=1)[0])[:24]
    if len(first) >= 6:
        out.append("我想了解一下" + first)
    return list(dict.fromkeys(t for t in out if t))


class HybridKb:
    """Fused BM25 + dense search over a ``KnowledgeBase``, its gate calibrated on its own questions."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, *, normalizer: Normalizer | None = None,
                 cache: Path | None = None, offtopic: Sequence[str] | None = None) -> None:
        self.kb = kb
        self.embedder = embedder
        self.normalizer = normalizer or Normalizer()
        entries = kb.entries
        docs = [clean(self.normalizer(f"{e.question}{''.join(e.keywords)}{e.question}{e.answer}").text)
                for e in entries]
        self.bm25 = Bm25(docs)
        heads = [clean(self.normalizer(f"{e.question} {' '.join(e.keywords)}").text) for e in entries]
        answers = [clean(self.normalizer(e.answer).text) for e in entries]
        self.cache = cache if cache is not None else cache_dir()
        # dense score = cos(query, question) + cos(query, answer as a passage): one matrix product
        self.vectors = (self._vectors(heads, self.cache)
                        + ANSWER_WEIGHT * self._vectors(answers, self.cache, passages=True)).astype(np.float32)
        self.gate = self._calibrate(offtopic if offtopic is not None else _offtopic())

    def _vectors(self, texts: list[str], directory: Path, *, passages: bool = False) -> npt.NDArray[np.float32]:
        """Vectors of ``texts`` (e5 queries, or passages), from the on-disk cache when encoded before."""
        kind = ["passage"] if passages else []
        digest = hashlib.sha256("\n".join([self.embedder.name, *kind, *texts]).encode()).hexdigest()
        path = directory / f"vectors-{digest}.npy"
        if path.is_file():
            cached = np.load(path)
            if cached.shape == (len(texts), self.embedder.dim):
                loaded: npt.NDArray[np.float32] = cached.astype(np.float32)
                return loaded
        if not texts:
            vecs = np.zeros((0, self.embedder.dim), np.float32)
        else:
            vecs = self.embedder.embed_passages(texts) if passages else self.embedder.embed_queries(texts)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vecs)
            tmp.replace(path)
        except OSError:
            pass  # a read-only home: vectors are recomputed next time
        return vecs

    def _scores(self, query: str, vector: npt.NDArray[np.float32]) -> tuple[FloatArray, FloatArray]:
        """(fused ranking score, dense score) of every entry."""
        dense = (self.vectors @ vector).astype(np.float64) if len(self.vectors) else np.zeros(0)
        bm, best = self.bm25.scores(query)
        rel = bm / best if best > 0 else bm
        return dense + BM25_WEIGHT * rel, dense

    def _calibrate(self, offtopic: Sequence[str]) -> Gate:
        """Null distribution of every entry's dense score, from queries that are not about it."""
        entries = self.kb.entries
        step = max(1, math.ceil(len(entries) / CALIBRATION_ENTRIES))  # a large knowledge base: a sample suffices
        texts: list[str] = []
        owners: list[int] = []
        for j in range(0, len(entries), step):
            for p in paraphrases(entries[j]):
                texts.append(clean(self.normalizer(p).text))
                owners.append(j)
        for t in offtopic:
            texts.append(clean(self.normalizer(t).text))
            owners.append(-1)
        vecs = self._vectors(texts, self.cache)
        owner = np.array(owners, dtype=np.int64)
        null = np.zeros(len(entries), dtype=np.float64)
        spread: list[float] = []
        for lo in range(0, len(entries), NULL_CHUNK):  # bounded memory for a large knowledge base
            hi = min(len(entries), lo + NULL_CHUNK)
            scores = (vecs @ self.vectors[lo:hi].T).astype(np.float64)
            local = np.where((owner >= lo) & (owner < hi), owner - lo, -1)
            para = owner >= 0
            null[lo:hi] = entry_nulls(scores[para], local[para], NULL_QUANTILE)
            if not para.all():  # off-topic utterances: a bar of their own (they are few)
                off = entry_nulls(scores[~para], local[~para], OFFTOPIC_QUANTILE)
                null[lo:hi] = np.maximum(null[lo:hi], off)
            spread.append(float(scores.std(axis=0).mean()) * (hi - lo))
        scale = max(1e-3, sum(spread) / max(1, len(entries)) * SCALE_FACTOR)
        return Gate(null, scale)

    def _query(self, normalized: str) -> str:
        """What the search reads of an utterance: dialect wording as the entries write it (俺…咋整 → 我…怎么办), read
        before the punctuation goes."""
        return clean(self.kb.wording(normalized))

    def reuses(self, normalized: str, encoded: Encoded) -> bool:
        """Whether ``search(normalized, encoded)`` reuses ``encoded``'s vector (no encoder pass of its own)."""
        return encoded.text == self._query(normalized)

    def search(self, normalized: str, encoded: Encoded | None = None, limit: int = 3,
               threshold: float = THRESHOLD) -> list[KbHit]:
        """Best entries whose gate probability is >= ``threshold``, best first; [] for off-topic text.

        The dense score reads the whole utterance as the entries write it (俺这社保断了仨月了咋整啊 found its
        entry only so: trial 3's e4); ``encoded`` (the learned path's vector and the text it read) is reused
        when it read just that, so a final the encoder's cut left whole is encoded once."""
        query = self._query(normalized)
        if not query or not self.kb.entries or limit <= 0:
            return []
        vector = encoded.vector if encoded is not None and encoded.text == query \
            else self.embedder.embed_queries([query])[0]
        fused, dense = self._scores(query, vector)
        order = [int(i) for i in np.argsort(-fused, kind="stable")[:limit]]
        prob = {i: self.gate.probability(i, float(dense[i])) for i in order}  # each entry against its own null
        # a near tie in ranking (trial 3, e6: 拖椅子 shares 拖 with 拖欠工资, 0.007 ahead of 噪音扰民) is
        # decided by the calibrated probability
        near = [i for i in order[1:] if fused[order[0]] - fused[i] <= TIE_WINDOW
                and prob[i] >= prob[order[0]] + TIE_MARGIN]
        if near:
            best = max(near, key=prob.__getitem__)
            order = [best] + [i for i in order if i != best]
        hits: list[KbHit] = []
        ceiling = 1.0
        for i in order:
            score = min(ceiling, prob[i])  # never more confident than a better-ranked hit
            if score < threshold:
                break
            ceiling = score
            e = self.kb.entries[i]
            hits.append(KbHit(e.id, e.question, e.answer, round(score, 4), e.department, e.source, e.updated))
        return hits


def _offtopic() -> list[str]:
    return [line.strip() for line in OFFTOPIC_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
