"""How far careful labellers agree: a retired blind set's writer against its second labellers, and the engine against
each of them (category, emotion, department, critical, referral recall).

    OMP_WAIT_POLICY=passive python -m bench.label_agreement            # v19 and v20, with the engine
    python -m bench.label_agreement --no-engine                        # the labellers only

The second labellers' files are tests/data/nlp_eval/relabel/ (README there).  Only retired blind sets are relabelled:
the engine was tuned on them since, so its row for them reads the shipped engine against labels it has seen (their
writers') or not (the second labellers'); the labellers' rows are what the figures of issue 11 are bounded by.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "nlp_eval"
RELABELS = {"v19": ("v19_b",), "v20": ("v20_b", "v20_c")}
Row = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Agreement:
    category: float
    emotion: float
    department: float
    critical_recall: float
    critical_precision: float
    referral_recall: float

    def line(self, name: str) -> str:
        return (f"{name:28s} {self.category:6.1%} {self.emotion:6.1%} {self.department:6.1%} "
                f"{self.critical_recall:6.1%} {self.critical_precision:6.1%} {self.referral_recall:6.1%}")


def load(path: Path) -> dict[str, Row]:
    rows = (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
    return {str(r["id"]): r for r in rows}


def _numbers(row: Row) -> set[str]:
    value = row.get("referrals")
    return {str(n) for n in value} if isinstance(value, list) else set()


def agreement(gold: Mapping[str, Row], other: Mapping[str, Row]) -> Agreement:
    """``other`` read against ``gold`` (recall and precision of its critical flags, recall of gold's numbers)."""
    ids = [i for i in gold if i in other]

    def same(key: str) -> float:
        return sum(gold[i].get(key) == other[i].get(key) for i in ids) / max(1, len(ids))

    at_risk = [i for i in ids if gold[i].get("critical")]
    flagged = [i for i in ids if other[i].get("critical")]
    given = sum(len(_numbers(gold[i])) for i in ids)
    kept = sum(len(_numbers(gold[i]) & _numbers(other[i])) for i in ids)
    return Agreement(same("category"), same("emotion"), same("department"),
                     sum(bool(other[i].get("critical")) for i in at_risk) / max(1, len(at_risk)),
                     sum(bool(gold[i].get("critical")) for i in flagged) / max(1, len(flagged)),
                     kept / max(1, given))


def engine_rows(texts: Mapping[str, Row]) -> dict[str, Row]:
    """The shipped engine's reading of each text (a raised card or a safety question counts as critical)."""
    from assist.nlp.analyzer import Analyzer
    from assist.protocol.enums import Role

    analyzer = Analyzer.load(learned=True)
    out: dict[str, Row] = {}
    for i, row in texts.items():
        a = analyzer.analyze_final(Role.CALLER, str(row["text"]))
        out[i] = {"category": a.intent, "emotion": a.emotion.label if a.emotion else "平静",
                  "department": a.department, "critical": bool(a.critical or a.safety_question),
                  "referrals": sorted({r.number for r in a.referrals})}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="agreement of a blind set's writer, its second labellers and the engine")
    p.add_argument("--no-engine", action="store_true", help="the labellers only")
    args = p.parse_args(argv)
    print(f"{'read against → by':28s} {'categ':>6s} {'emotion':>6s} {'dept':>6s} {'crit R':>6s} {'crit P':>6s} "
          f"{'ref R':>6s}")
    for version, names in RELABELS.items():
        writer = load(EVAL / f"blind_{version}" / "caller.jsonl")
        others = {name: load(EVAL / "relabel" / f"{name}.jsonl") for name in names}
        for name, labels in others.items():
            print(agreement(writer, labels).line(f"{version} writer → {name}"))
        for a, b in itertools.pairwise(names):
            print(agreement(others[a], others[b]).line(f"{version} {a} → {b}"))
        if not args.no_engine:
            engine = engine_rows(writer)
            print(agreement(writer, engine).line(f"{version} writer → engine"))
            for name, labels in others.items():
                print(agreement(labels, engine).line(f"{version} {name} → engine"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
