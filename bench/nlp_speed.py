"""Speed and memory of the analysis engine: rules on partials, the learned path on finals, hybrid search at scale.

    python -m bench.nlp_speed                    # all sections
    python -m bench.nlp_speed --kb-entries 10000 # knowledge-base size for the hybrid search section
    python -m bench.nlp_speed --stages           # also the learned path's stages (rules, encoder, heads, search)

- rules on partials: ``Analyzer.analyze`` on every growing prefix of the training utterances
  (one prefix every 2 characters, as a recognizer's partials grow), plus 2,000-character texts;
- learned path on finals as a live call runs it (``_live_final``) on distinct utterances (no cache hits),
  the encoder limited to 2 threads: the time to the cards, then, for a final longer than the encoder's cut,
  the knowledge search that follows them (a second encoder pass), and the encoder passes per final;
- added resident memory of the encoder + learned model + hybrid index (RSS before/after);
- hybrid knowledge search: a knowledge base of N entries (the shipped entries × place names),
  top-3 with the utterance vector already computed (the classifier encoded it) and with encoding.
Figures go to docs/performance.md and docs/nlp-evaluation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from assist.protocol.enums import Role

if TYPE_CHECKING:
    from assist.nlp.analyzer import Analyzer

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "assist" / "nlp" / "data" / "train" / "caller.jsonl"
PLACES = ("东城", "西城", "南岗", "北湖", "高新", "开发区", "新区", "老城", "滨江", "河西", "城关", "经开", "临港",
          "江北", "江南", "山前", "山后", "湖滨", "桥东", "桥西")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _live_final(analyzer: Analyzer, text: str) -> tuple[float, float]:
    """One caller final as a live call analyses it (``assist.live.listener``): the rules and the learned path
    up to its cards, then, for a final longer than the encoder's cut, its knowledge search; both in ms."""
    from assist.nlp.refine import apply, compute, search_pending

    t0 = time.perf_counter()
    a = analyzer.analyze(Role.CALLER, text)
    refinement = compute(analyzer, a, defer_search=True)
    apply(analyzer, a, refinement, None, None)
    t1 = time.perf_counter()
    if refinement.pending is None:
        return (t1 - t0) * 1000, 0.0
    apply(analyzer, a, search_pending(analyzer, refinement), None, None)
    return (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000


def _stages(analyzer: Analyzer, finals: list[str]) -> None:
    """Median and p95 of each stage of the learned path, and of the whole, on distinct finals."""
    from assist.nlp.features import RuleView
    from assist.nlp.querycap import Encoded
    from assist.nlp.refine import Refinement, apply

    engine, hybrid = analyzer.learned, analyzer.hybrid
    assert engine is not None and hybrid is not None
    names = ("rules", "encoder", "heads + crisis nets", "hybrid search", "apply", "whole")
    stages: dict[str, list[float]] = {n: [] for n in names}
    for text in finals:
        t0 = time.perf_counter()
        a = analyzer.analyze(Role.CALLER, text)
        t1 = time.perf_counter()
        vector = engine.vector(a.normalized.text)
        t2 = time.perf_counter()
        result = engine.predict(a.normalized.text, RuleView.of(a))  # the vector is cached: the heads and nets
        t3 = time.perf_counter()
        encoded = Encoded(engine.query(a.normalized.text), vector) if vector is not None else None
        hits = hybrid.search(a.normalized.text, encoded, limit=analyzer.kb_limit)
        t4 = time.perf_counter()
        apply(analyzer, a, Refinement(result, tuple(hits)), None, None)
        t5 = time.perf_counter()
        for n, ms in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0), strict=True):
            stages[n].append(ms * 1000)
    print(f"stages of the learned path on {len(finals)} other finals: " + "; ".join(
        f"{n} median {statistics.median(v):.2f} / p95 {_pct(v, 0.95):.2f} ms" for n, v in stages.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="speed and memory of the analysis engine")
    p.add_argument("--utterances", type=int, default=300, help="utterances for the learned-path timing")
    p.add_argument("--kb-entries", type=int, default=10000)
    p.add_argument("--stages", action="store_true",
                   help="also time the learned path's stages on other distinct finals (where the p95 goes)")
    args = p.parse_args(argv)

    from assist.nlp.analyzer import Analyzer

    texts = [json.loads(x)["text"] for x in TRAIN.read_text(encoding="utf-8").splitlines() if x.strip()]
    rules = Analyzer.load()
    prefixes = [t[:n] for t in texts[:400] for n in range(2, len(t) + 1, 2)]
    for t in prefixes[:200]:
        rules.analyze(Role.CALLER, t)
    times = []
    for t in prefixes:
        t0 = time.perf_counter()
        rules.analyze(Role.CALLER, t)
        times.append((time.perf_counter() - t0) * 1000)
    long_text = "".join(texts)[:2000]
    long_times = []
    for _ in range(20):
        t0 = time.perf_counter()
        rules.analyze(Role.CALLER, long_text)
        long_times.append((time.perf_counter() - t0) * 1000)
    print(f"rules on {len(prefixes)} partials: median {statistics.median(times):.2f} ms, "
          f"p99 {_pct(times, 0.99):.2f} ms; 2,000-character text: median {statistics.median(long_times):.1f} ms")

    from assist.nlp.kbhybrid import HybridKb
    from assist.nlp.refine import LearnedEngine

    base_rss = _rss_mb()
    t0 = time.perf_counter()
    learned = rules  # the same analyzer with the learned path attached: what the server adds
    learned.learned = LearnedEngine.load()
    encoder = learned.learned.embedder()
    assert encoder is not None and learned.kb is not None
    learned.hybrid = HybridKb(learned.kb, encoder, normalizer=learned.normalizer)
    load_s = time.perf_counter() - t0
    learned.analyze_final(Role.CALLER, "热身")
    rss = _rss_mb() - base_rss
    finals = texts[-args.utterances:]
    ftimes, cards, after = [], [], []
    passes = []  # encoder passes per final (cache misses): a count that does not depend on the machine's load
    for t in finals:
        before = encoder.stats().misses
        card_ms, search_ms = _live_final(learned, t)
        cards.append(card_ms)
        ftimes.append(card_ms + search_ms)
        if search_ms:
            after.append(search_ms)
        passes.append(encoder.stats().misses - before)
    print(f"learned path on {len(finals)} finals, as a live call runs it (encoder, heads, crisis nets, hybrid search; "
          f"2 threads): to the cards median {statistics.median(cards):.1f} ms, p95 {_pct(cards, 0.95):.1f} ms, "
          f"p99 {_pct(cards, 0.99):.1f} ms; the knowledge search after the cards on {len(after)} finals longer than "
          f"the encoder's cut: median {statistics.median(after or [0.0]):.1f} ms, p95 {_pct(after or [0.0], 0.95):.1f} "
          f"ms; the whole final (cards and search) median {statistics.median(ftimes):.1f} ms, p95 "
          f"{_pct(ftimes, 0.95):.1f} ms; encoder passes per final: {sum(passes) / len(passes):.2f} "
          f"(finals encoded more than once: {sum(p > 1 for p in passes)})")
    print(f"added resident memory (encoder + learned model + hybrid index): {rss:.0f} MB; load {load_s:.1f} s")
    if args.stages:
        _stages(learned, texts[-2 * args.utterances:-args.utterances])

    from assist.nlp.embed import load_embedder
    from assist.nlp.kb import KnowledgeBase
    from assist.nlp.querycap import QUERY_CHARS, QUERY_HEAD, Encoded, encoder_text

    assert learned.kb is not None
    emb = load_embedder()
    assert emb is not None
    entries = []
    for i in range(args.kb_entries):
        e = learned.kb.entries[i % len(learned.kb.entries)]
        place = PLACES[(i // len(learned.kb.entries)) % len(PLACES)]
        entries.append(dataclasses.replace(e, id=f"{e.id}-{i}", question=f"{place}{i // 400}区{e.question}"))
    big = KnowledgeBase(entries, learned.kb.tokenizer)
    t0 = time.perf_counter()
    hybrid = HybridKb(big, emb, normalizer=learned.normalizer)
    build_s = time.perf_counter() - t0
    queries = ["公积金要怎么取出来", "医保卡丢了怎么补办", "孩子上学要办什么手续", "今天中午吃什么", "电动车在哪里上牌"]
    reads = [encoder_text(q, big.wording, QUERY_CHARS, QUERY_HEAD) for q in queries]  # as the learned path reads them
    encoded = [Encoded(t, v) for t, v in zip(reads, emb.embed_queries(reads), strict=True)]
    stimes = []
    for _ in range(40):
        for q, enc in zip(queries, encoded, strict=True):
            t0 = time.perf_counter()
            hybrid.search(q, enc, limit=3)
            stimes.append((time.perf_counter() - t0) * 1000)
    etimes = []
    for i, q in enumerate(queries * 4):
        t0 = time.perf_counter()
        hybrid.search(f"{q}{i}", None, limit=3)
        etimes.append((time.perf_counter() - t0) * 1000)
    print(f"hybrid search, {len(entries)} entries (import {build_s:.0f} s, cached afterwards): top-3 median "
          f"{statistics.median(stimes):.1f} ms, p95 {_pct(stimes, 0.95):.1f} ms with the utterance vector; "
          f"with encoding median {statistics.median(etimes):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
