"""Knowledge top-1 of the hybrid search: shipped paraphrases (keywords / plain) and the RETIRED blind sets v2..v7 only.

    OMP_WAIT_POLICY=passive python -m bench.kb_trial3
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from assist.nlp.analyzer import Analyzer
from assist.nlp.embed import load_embedder
from assist.nlp.kb import KbEntry, KnowledgeBase
from assist.nlp.kbhybrid import HybridKb

ROOT = Path(__file__).resolve().parent.parent
an = Analyzer.load()
emb = load_embedder()
assert an.kb is not None and emb is not None, "needs the knowledge base and the sentence encoder"
kb0 = an.kb
rows = [json.loads(x) for x in (ROOT/"tests/data/kb_paraphrases.jsonl").read_text().splitlines() if x.strip()]
plain = KnowledgeBase([dataclasses.replace(e, keywords=()) for e in kb0.entries], kb0.tokenizer)
def score(h: HybridKb, qs: list[dict[str, Any]]) -> tuple[float, int, int, int, int]:
    ok = ans = ansok = 0
    for r in qs:
        t = an.normalizer(r["text"]).text
        hh = h.search(t)
        good = (bool(hh) and hh[0].id == r["kb_id"]) if r["kb_id"] else not hh
        ok += good
        if r["kb_id"]:
            ans += 1
            ansok += good
    return ok/len(qs), ansok, ans, len(qs)-ans-(ok-ansok), len(qs)-ans
for name, base in (("keywords", kb0), ("plain", plain)):
    h = HybridKb(base, emb, normalizer=an.normalizer)
    for split in ("dev", "held-out"):
        sub = [r for r in rows if (r["split"] == "dev") == (split == "dev")]
        acc, a, n, fp, neg = score(h, sub)
        print(f"shipped {name:9s} {split:8s} {acc:.1%}  answerable {a}/{n}  false+ {fp}/{neg}")
tot = [0,0]
for v in range(2, 8):
    B = ROOT/f"tests/data/nlp_eval/blind_v{v}"
    ents = [json.loads(x) for x in (B/"kb.jsonl").read_text().splitlines() if x.strip()]
    kb = KnowledgeBase([KbEntry(id=e["id"], question=e["question"], answer=e["answer"], department="综合",
                                keywords=(), source="blind", updated="2026-01-01") for e in ents], kb0.tokenizer)
    h = HybridKb(kb, emb, normalizer=an.normalizer)
    qs = [json.loads(x) for x in (B/"kb_queries.jsonl").read_text().splitlines() if x.strip()]
    acc, a, n, fp, neg = score(h, qs)
    tot[0] += round(acc * len(qs))
    tot[1] += len(qs)
    print(f"blind_v{v} {acc:.1%}  answerable {a}/{n}  false+ {fp}/{neg}")
print(f"blind v2-v7 total {tot[0]}/{tot[1]} = {tot[0]/tot[1]:.1%}")
