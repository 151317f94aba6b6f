"""What the sentence encoder reads of an utterance (``assist.nlp.querycap``): its last characters, cut alike in
``assist train`` and in the learned path, the length recorded in the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import assist.nlp.embed
from assist.cli.train import main
from assist.nlp.analyzer import Analyzer
from assist.nlp.embed import CachedEmbedder, Vectors
from assist.nlp.features import clean
from assist.nlp.learned import LearnedModel
from assist.nlp.querycap import QUERY_CHARS, query_text
from assist.nlp.refine import LearnedEngine
from assist.protocol.enums import Role

LONG = "我家那个楼上天天半夜装修吵得孩子没法睡觉我找了物业好几次都没人管后来我实在受不了了真的不想活了"
SHORT = "路灯坏了没人修"


def test_a_long_text_keeps_its_last_characters_and_a_short_one_is_unchanged() -> None:
    assert len(LONG) > QUERY_CHARS > len(SHORT)
    cut = query_text(LONG, QUERY_CHARS)
    assert len(cut) == QUERY_CHARS and LONG.endswith(cut) and cut.endswith("真的不想活了")
    assert query_text(SHORT, QUERY_CHARS) == SHORT
    assert query_text(LONG[:QUERY_CHARS], QUERY_CHARS) == LONG[:QUERY_CHARS]  # exactly the length: unchanged
    assert query_text(LONG, 0) == LONG  # 0: the whole utterance (models written before the cap)


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


def test_training_and_inference_cut_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"text": t, "category": c} for t, c in [
        (LONG, "求助"), ("楼上装修太吵了半夜都不停我要投诉他们", "投诉举报"), (SHORT, "一般诉求"),
        ("我想问一下公积金怎么提取需要什么材料", "咨询"), ("社保卡丢了去哪补办", "咨询"),
        ("小区门口的垃圾好几天没人清理了都臭了", "一般诉求"), ("我要举报一家饭店用地沟油", "投诉举报"),
        ("我爸走丢了到现在还没找到你们快帮帮忙", "求助"), ("你们上次帮我解决了停水的事谢谢你们", "表扬"),
        ("建议在学校门口多设几个红绿灯", "建议")] * 3]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    trained = Recording()
    monkeypatch.setattr(assist.nlp.embed, "load_embedder", lambda spec, **kw: CachedEmbedder(trained))
    out = tmp_path / "model"
    assert main(["--data", str(data), "--out", str(out), "--encoder", "recording", "--query-chars", "12",
                 "--folds", "3", "--quiet", "--min-examples", "3"]) == 0
    assert json.loads((out / "model.json").read_text(encoding="utf-8"))["query_chars"] == 12
    assert "the last 12 characters" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    analyzer = Analyzer.load(use_kb=False)
    cleaned = clean(analyzer.analyze(Role.CALLER, LONG).normalized.text)
    assert len(cleaned) > 12 and cleaned[-12:] in trained.texts and cleaned not in trained.texts
    assert max(map(len, trained.texts)) == 12 and SHORT in trained.texts  # short ones whole

    served = Recording()
    engine = _engine(out, served)
    assert engine.model.query_chars == 12
    engine.vector(analyzer.analyze(Role.CALLER, LONG).normalized.text)
    assert served.texts == [cleaned[-12:]]  # what training encoded for the same utterance


def test_a_model_written_before_the_cap_reads_whole_utterances(tmp_path: Path) -> None:
    shipped = LearnedModel.load(LearnedEngine.load().model.directory)
    for name in ("vocab.txt", "weights.npz"):
        (tmp_path / name).write_bytes((shipped.directory / name).read_bytes())
    meta = dict(shipped.meta)
    meta.pop("query_chars", None)
    (tmp_path / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    served = Recording()
    served.dim = shipped.dim
    engine = _engine(tmp_path, served)
    assert engine.model.query_chars == 0
    assert engine.query(LONG) == clean(LONG)
