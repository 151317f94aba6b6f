"""What the sentence encoder reads of an utterance (``assist.nlp.querycap``): its first and last characters in
the knowledge base's wording, cut alike in ``assist train``, the learned path and the knowledge search, the cut
recorded in the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pytest

import assist.nlp.embed
from assist.cli.train import main
from assist.nlp.analyzer import Analyzer
from assist.nlp.embed import CachedEmbedder, Vectors
from assist.nlp.features import clean
from assist.nlp.kb import KbHit
from assist.nlp.kbhybrid import HybridKb
from assist.nlp.kbwording import WORDING_FILE, QueryWording
from assist.nlp.learned import LearnedModel
from assist.nlp.querycap import QUERY_CHARS, QUERY_HEAD, Encoded, encoder_text, query_text
from assist.nlp.refine import LearnedEngine, compute
from assist.protocol.enums import Role

LONG = "我家那个楼上天天半夜装修吵得孩子没法睡觉我找了物业好几次都没人管后来我实在受不了了真的不想活了"
SHORT = "路灯坏了没人修"


def test_a_long_text_keeps_its_end_or_its_opening_and_end_and_a_short_one_is_unchanged() -> None:
    assert len(LONG) > QUERY_CHARS > len(SHORT) and QUERY_HEAD == 0  # by default the last characters: the danger
    cut = query_text(LONG, QUERY_CHARS, QUERY_HEAD)
    assert len(cut) == QUERY_CHARS and LONG.endswith(cut) and cut.endswith("真的不想活了")
    headed = query_text(LONG, 36, 16)  # --query-head 16: the matter too
    assert headed == LONG[:16] + LONG[-20:] and headed.startswith("我家那个楼上天天半夜装修")
    assert query_text(LONG, 10, 20) == LONG[:10]  # a head longer than the cut: the opening only
    assert query_text(SHORT, QUERY_CHARS, QUERY_HEAD) == SHORT
    assert query_text(LONG[:QUERY_CHARS], QUERY_CHARS, 16) == LONG[:QUERY_CHARS]  # exactly the length
    assert query_text(LONG, 0, 16) == LONG  # 0: the whole utterance (models written before the cap)


def test_the_encoder_reads_the_knowledge_wording_cleaned() -> None:
    wording = QueryWording.load()
    said = "俺这社保断了仨月了，咋整啊？"
    assert encoder_text(said, None, 0) == "俺这社保断了仨月了咋整啊"  # as said, without punctuation
    rewritten = encoder_text(said, wording, 0)
    assert rewritten == clean(wording(said)) and rewritten != "俺这社保断了仨月了咋整啊"
    assert encoder_text("？！", wording, QUERY_CHARS, QUERY_HEAD) == "？！"  # nothing to clean to: as it came


class Recording:
    """A deterministic stand-in encoder that records every text it encodes."""

    name = "recording"
    dim = 8

    def __init__(self) -> None:
        self.texts: list[str] = []

    def _vec(self, texts: Sequence[str]) -> Vectors:
        self.texts += texts
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(8) for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), 8)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._vec(texts)


def _engine(model_dir: Path, encoder: Recording) -> LearnedEngine:
    engine = LearnedEngine.load(model_dir)
    engine._embedder, engine._tried = CachedEmbedder(encoder), True  # the stand-in instead of load_embedder
    return engine


def _train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, str]],
           *flags: str) -> tuple[Path, Recording]:
    """``assist train`` on ``rows`` with the recording stand-in encoder: the model directory and what it encoded."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    trained = Recording()
    monkeypatch.setattr(assist.nlp.embed, "load_embedder", lambda spec, **kw: CachedEmbedder(trained))
    out = tmp_path / "model"
    assert main(["--data", str(data), "--out", str(out), "--encoder", "recording", "--folds", "3", "--quiet",
                 "--min-examples", "3", *flags]) == 0
    return out, trained


def test_training_and_inference_cut_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"text": t, "category": c} for t, c in [
        (LONG, "求助"), ("楼上装修太吵了半夜都不停我要投诉他们", "投诉举报"), (SHORT, "一般诉求"),
        ("我想问一下公积金怎么提取需要什么材料", "咨询"), ("社保卡丢了去哪补办", "咨询"),
        ("小区门口的垃圾好几天没人清理了都臭了", "一般诉求"), ("我要举报一家饭店用地沟油", "投诉举报"),
        ("我爸走丢了到现在还没找到你们快帮帮忙", "求助"), ("你们上次帮我解决了停水的事谢谢你们", "表扬"),
        ("建议在学校门口多设几个红绿灯", "建议")] * 3]
    out, trained = _train(tmp_path, monkeypatch, rows, "--query-chars", "12", "--query-head", "4")
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert (meta["query_chars"], meta["query_head"], meta["query_wording"]) == (12, 4, "kb_wording.toml")
    assert (out / "kb_wording.toml").read_bytes() == WORDING_FILE.read_bytes()  # the table it read in, beside it
    assert "12 characters in the knowledge base's wording (the first 4 and the last 8)" in \
        (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    analyzer = Analyzer.load(use_kb=False)
    cleaned = clean(analyzer.analyze(Role.CALLER, LONG).normalized.text)
    assert len(cleaned) > 12 and cleaned[:4] + cleaned[-8:] in trained.texts and cleaned not in trained.texts
    assert max(map(len, trained.texts)) == 12 and SHORT in trained.texts  # short ones whole

    served = Recording()
    engine = _engine(out, served)
    assert (engine.model.query_chars, engine.model.query_head) == (12, 4)
    assert engine.model.wording_file == out / "kb_wording.toml"
    engine.vector(analyzer.analyze(Role.CALLER, LONG).normalized.text)
    assert served.texts == [cleaned[:4] + cleaned[-8:]]  # what training encoded for the same utterance


def test_training_and_inference_read_dialect_in_the_knowledge_wording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One vector for the heads and the knowledge search: both read 咋整 as the entries write it."""
    dialect = "俺这社保断了仨月了咋整啊"
    rows = [{"text": t, "category": c} for t, c in [
        (dialect, "咨询"), ("楼上装修太吵了半夜都不停我要投诉他们", "投诉举报"), (SHORT, "一般诉求"),
        ("我要举报一家饭店用地沟油", "投诉举报"), ("小区门口的垃圾好几天没人清理了", "一般诉求"),
        ("社保卡丢了去哪补办", "咨询")] * 3]
    out, trained = _train(tmp_path, monkeypatch, rows)
    rewritten = clean(QueryWording.load()(dialect))
    assert rewritten != dialect and rewritten in trained.texts and dialect not in trained.texts
    served = Recording()
    _engine(out, served).vector(dialect)
    assert served.texts == [rewritten]
    # the model reads in its own copy of the table: a centre's later edit does not change what it reads
    (out / "kb_wording.toml").write_text("", encoding="utf-8")
    served = Recording()
    _engine(out, served).vector(dialect)
    assert served.texts == [dialect]


def test_a_model_written_before_the_cap_reads_whole_utterances(tmp_path: Path) -> None:
    shipped = LearnedModel.load(LearnedEngine.load().model.directory)
    for name in ("vocab.txt", "weights.npz"):
        (tmp_path / name).write_bytes((shipped.directory / name).read_bytes())
    meta = dict(shipped.meta)
    for key in ("query_chars", "query_head", "query_wording", "query_wording_sha256"):
        meta.pop(key, None)
    (tmp_path / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    served = Recording()
    served.dim = shipped.dim
    engine = _engine(tmp_path, served)
    assert engine.model.query_chars == 0 and engine.model.query_head == 0 and engine.wording is None
    assert engine.model.wording_file is None
    assert engine.query(LONG) == clean(LONG)
    assert engine.query("俺这社保断了仨月了咋整啊") == "俺这社保断了仨月了咋整啊"  # as said, as it was trained


def test_the_learned_path_hands_the_search_the_vector_and_the_text_it_read() -> None:
    """The search reuses the learned path's vector only for the text it was read from: the pair must match."""
    analyzer = Analyzer.load(learned=True)
    engine = analyzer.learned
    assert engine is not None and engine.available
    seen: list[Encoded | None] = []

    class Spy:
        def search(self, normalized: str, encoded: Encoded | None = None, limit: int = 3) -> list[KbHit]:
            seen.append(encoded)
            return []

    analyzer.hybrid = cast(HybridKb, Spy())
    for text in ("俺这社保断了仨月了咋整啊", LONG):
        a = analyzer.analyze(Role.CALLER, text)
        compute(analyzer, a)
        got = seen[-1]
        assert got is not None and got.text == engine.query(a.normalized.text)
        vector = engine.vector(a.normalized.text)
        assert vector is not None and np.array_equal(got.vector, vector)
