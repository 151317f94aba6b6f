"""Hybrid knowledge search: BM25 and sentence vectors fused, confidence calibrated per knowledge base.

- **BM25** over character 1-2-grams of each entry (question and keywords twice, answer
  once), on the cleaned text (no spaces or punctuation: recognizer output matches typed).
- **Dense**: the cosine between the caller's utterance and the entry's question (+ its
  keywords), both encoded as e5 queries (a symmetric task).  Entry vectors are computed
  at import and cached on disk by content hash (``vectors-<sha256>.npy``).
- **Fusion**: ranking score = cosine + ``BM25_WEIGHT`` × BM25 relative to the best
  possible BM25 of the query.
- **Calibration per knowledge base**: a small logistic regression on [best cosine,
  margin to the second, relative BM25] fitted at import on the knowledge base's own
  questions turned into caller-style paraphrases (positives) and on off-topic caller
  utterances (``data/kb_offtopic.txt``, negatives).  So a knowledge base with only
  question and answer fields gets confident answers, and off-topic questions get nothing.
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

FloatArray = npt.NDArray[np.float64]
OFFTOPIC_FILE = Path(__file__).parent / "data" / "kb_offtopic.txt"
BM25_WEIGHT = 0.15
K1 = 1.2
B = 0.75
THRESHOLD = 0.5
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
class Calibration:
    weights: tuple[float, float, float]
    bias: float

    def probability(self, x: Sequence[float]) -> float:
        z = self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit_logistic(x: FloatArray, y: npt.NDArray[np.int64], l2: float = 1e-2) -> Calibration:
    """Logistic regression by Newton's method (3 features: converges in a few steps)."""
    xb = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + l2 * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + l2 * np.eye(xb.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Calibration((float(w[0]), float(w[1]), float(w[2])), float(w[3]))


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
    """Fused BM25 + dense search over a ``KnowledgeBase``, calibrated on its own questions."""

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
        self.cache = cache if cache is not None else cache_dir()
        self.vectors = self._vectors(heads, self.cache)
        self.calibration = self._calibrate(offtopic if offtopic is not None else _offtopic())

    def _vectors(self, texts: list[str], directory: Path) -> npt.NDArray[np.float32]:
        """Query vectors of ``texts``, from the on-disk cache when the same texts were encoded before."""
        digest = hashlib.sha256("\n".join([self.embedder.name, *texts]).encode()).hexdigest()
        path = directory / f"vectors-{digest}.npy"
        if path.is_file():
            cached = np.load(path)
            if cached.shape == (len(texts), self.embedder.dim):
                loaded: npt.NDArray[np.float32] = cached.astype(np.float32)
                return loaded
        vecs = self.embedder.embed_queries(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vecs)
            tmp.replace(path)
        except OSError:
            pass  # a read-only home: vectors are recomputed next time
        return vecs

    def _features(self, query: str, vector: npt.NDArray[np.float32]) -> tuple[FloatArray, list[float]]:
        cos = self.vectors @ vector if len(self.vectors) else np.zeros(0)
        bm, best = self.bm25.scores(query)
        rel = bm / best if best > 0 else bm
        fused = cos.astype(np.float64) + BM25_WEIGHT * rel
        if fused.size == 0:
            return fused, [0.0, 0.0, 0.0]
        order = np.argsort(-fused, kind="stable")
        top = int(order[0])
        second = float(cos[int(order[1])]) if fused.size > 1 else 0.0
        return fused, [float(cos[top]), float(cos[top]) - second, float(rel[top])]

    def _calibrate(self, offtopic: Sequence[str]) -> Calibration:
        entries = self.kb.entries
        step = max(1, math.ceil(len(entries) / CALIBRATION_ENTRIES))  # a large knowledge base: a sample suffices
        queries = [(p, True) for e in entries[::step] for p in paraphrases(e)]
        queries += [(clean(self.normalizer(t).text), False) for t in offtopic]
        vecs = self._vectors([q for q, _ in queries], self.cache)
        xs: list[list[float]] = []
        ys: list[int] = []
        for (q, positive), v in zip(queries, vecs, strict=True):
            xs.append(self._features(q, v)[1])
            ys.append(1 if positive else 0)
        return fit_logistic(np.array(xs), np.array(ys, dtype=np.int64))

    def search(self, normalized: str, vector: npt.NDArray[np.float32] | None = None, limit: int = 3,
               threshold: float = THRESHOLD) -> list[KbHit]:
        """Best entries with a calibrated probability >= ``threshold``; [] for off-topic text."""
        query = clean(normalized)
        if not query or not self.kb.entries or limit <= 0:
            return []
        if vector is None:
            vector = self.embedder.embed_queries([query])[0]
        fused, top_features = self._features(query, vector)
        p_top = self.calibration.probability(top_features)
        if p_top < threshold:
            return []
        order = np.argsort(-fused, kind="stable")[:limit]
        best = float(fused[order[0]])
        hits: list[KbHit] = []
        for rank, i in enumerate(order):
            # lower ranks: the top probability scaled by how close their fused score is
            score = p_top if rank == 0 else p_top * max(0.0, 1.0 - 4.0 * (best - float(fused[i])))
            if score < threshold:
                break
            e = self.kb.entries[int(i)]
            hits.append(KbHit(e.id, e.question, e.answer, round(score, 4), e.department, e.source, e.updated))
        return hits


def _offtopic() -> list[str]:
    return [line.strip() for line in OFFTOPIC_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
