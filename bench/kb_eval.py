"""Knowledge-base retrieval accuracy and speed on paraphrased caller questions.

    python -m bench.kb_eval [--kb FILE] [--paraphrases FILE] [--split NAME] [--errors] [--json]

For typed text and for recognizer-style text (``assist.nlp.asrstyle``: spaced
words, spoken numbers, no punctuation) and per split (dev = used for tuning, test
= held out) it prints top-1 and top-3 accuracy on answerable questions (a hit
counts only if the thresholded search returns it), the false-positive rate on
unanswerable ones (any hit returned) and the median / p99 time of
``KnowledgeBase.search``.  ``--split dev`` evaluates (and lists the errors of) one
split only, so tuning never shows the held-out questions.  Exit code 0: it
measures, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assist.nlp.kb import DEFAULT_KB, KbHit, KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PARAPHRASES = ROOT / "tests" / "data" / "kb_paraphrases.jsonl"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    kb_id: str | None
    split: str


@dataclass(slots=True)
class Tally:
    positives: int = 0
    top1: int = 0
    top3: int = 0
    negatives: int = 0
    false_positives: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "positives": self.positives,
            "top1": _ratio(self.top1, self.positives),
            "top3": _ratio(self.top3, self.positives),
            "negatives": self.negatives,
            "false_positive_rate": _ratio(self.false_positives, self.negatives),
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def load_cases(path: Path) -> list[Case]:
    """Read ``{"text", "kb_id" (null: no answer expected), "split"}`` lines strictly."""
    cases: list[Case] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        text, kb_id, split = row.get("text"), row.get("kb_id"), row.get("split", "all")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}:{lineno}: 'text' must be a non-empty string")
        if kb_id is not None and not isinstance(kb_id, str):
            raise ValueError(f"{path}:{lineno}: 'kb_id' must be a string or null")
        if not isinstance(split, str):
            raise ValueError(f"{path}:{lineno}: 'split' must be a string")
        cases.append(Case(text, kb_id, split))
    return cases


def evaluate(
    kb: KnowledgeBase, cases: Sequence[Case], transform: Callable[[str], str]
) -> tuple[dict[str, Tally], list[float]]:
    """Tallies per split (plus "all") and the search time of every case in seconds."""
    tallies: dict[str, Tally] = {}
    times: list[float] = []
    for case in cases:
        text = transform(case.text)
        start = time.perf_counter()
        hits: list[KbHit] = kb.search(text, limit=3)
        times.append(time.perf_counter() - start)
        for key in (case.split, "all"):
            t = tallies.setdefault(key, Tally())
            ids = [h.id for h in hits]
            if case.kb_id is None:
                t.negatives += 1
                if hits:
                    t.false_positives += 1
                    t.errors.append(f"unanswerable got {ids[0]} ({hits[0].score:.2f}): {text}")
            else:
                t.positives += 1
                t.top1 += bool(ids) and ids[0] == case.kb_id
                t.top3 += case.kb_id in ids
                if not ids or ids[0] != case.kb_id:
                    got = f"{ids[0]} ({hits[0].score:.2f})" if hits else "nothing"
                    t.errors.append(f"expected {case.kb_id}, got {got}: {text}")
    return tallies, times


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value * 100:5.1f}%"


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB, help="knowledge base (.jsonl/.csv)")
    parser.add_argument("--paraphrases", type=Path, default=DEFAULT_PARAPHRASES, help="labelled questions")
    parser.add_argument("--split", help="evaluate only this split (e.g. dev while tuning)")
    parser.add_argument("--errors", action="store_true", help="list the misses and false positives")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    from assist.nlp.asrstyle import RecognizerStyler

    started = time.perf_counter()
    kb = KnowledgeBase.load(args.kb)
    load_seconds = time.perf_counter() - started
    cases = load_cases(args.paraphrases)
    if args.split is not None:
        cases = [c for c in cases if c.split == args.split]
        if not cases:
            print(f"no questions in split {args.split!r}", file=sys.stderr)
            return 1
    known = {e.id for e in kb.entries}
    unknown = sorted({c.kb_id for c in cases if c.kb_id is not None and c.kb_id not in known})
    if unknown:
        print(f"warning: skipping questions for ids not in {args.kb}: {', '.join(unknown)}", file=sys.stderr)
        cases = [c for c in cases if c.kb_id is None or c.kb_id in known]
    styler = RecognizerStyler()
    conditions: dict[str, Callable[[str], str]] = {"typed": lambda s: s, "recognizer": styler}
    results: dict[str, dict[str, Tally]] = {}
    timings: list[float] = []
    for name, transform in conditions.items():
        tallies, times = evaluate(kb, cases, transform)
        results[name] = tallies
        timings.extend(times)
    for _ in range(4):  # more timing samples; the index is warm by now
        timings.extend(evaluate(kb, cases, lambda s: s)[1])
    median_ms = statistics.median(timings) * 1000
    p99_ms = _percentile(timings, 0.99) * 1000

    if args.json:
        out = {
            "kb": str(args.kb),
            "entries": len(kb),
            "threshold": kb.config.threshold,
            "load_seconds": round(load_seconds, 3),
            "search_ms": {"median": round(median_ms, 3), "p99": round(p99_ms, 3), "samples": len(timings)},
            "conditions": {n: {s: t.as_dict() for s, t in tallies.items()} for n, tallies in results.items()},
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0

    print(f"knowledge base {args.kb}: {len(kb)} entries, threshold {kb.config.threshold:.2f}, "
          f"loaded in {load_seconds:.2f} s")
    print(f"{'condition':<11}{'split':<7}{'answerable':>11}{'top-1':>8}{'top-3':>8}"
          f"{'unanswerable':>14}{'false pos':>11}")
    for name, tallies in results.items():
        for split in sorted(tallies, key=lambda s: (s == "all", s)):
            t = tallies[split]
            print(f"{name:<11}{split:<7}{t.positives:>11}{_pct(_ratio(t.top1, t.positives)):>8}"
                  f"{_pct(_ratio(t.top3, t.positives)):>8}{t.negatives:>14}"
                  f"{_pct(_ratio(t.false_positives, t.negatives)):>11}")
    print(f"search time: median {median_ms:.3f} ms, p99 {p99_ms:.3f} ms ({len(timings)} searches)")
    if args.errors:
        for name, tallies in results.items():
            for line in tallies["all"].errors:
                print(f"[{name}] {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
