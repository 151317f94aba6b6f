"""Evaluate the NLP analyzer on the labelled sets, typed and recognizer-style.

    python -m bench.nlp_eval [--kb FILE] [--json] [--errors] [--check]

Prints intent/emotion accuracy with per-label precision/recall and the main confusions,
department accuracy, banned-phrase precision/recall (utterance and span level), referral
recall/precision, critical recall, knowledge top-1 on the paraphrases, the speed of
``Analyzer.analyze`` and the issue's targets with PASS/FAIL.  Exit code 0 (it is a
measuring tool) unless ``--check`` is given and a target fails.  See docs/nlp-evaluation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.nlp_evaluation import (
    ASR,
    TYPED,
    Classification,
    ConditionReport,
    KbReport,
    Report,
    Target,
    check_targets,
    evaluate,
    load_agent_cases,
    load_caller_cases,
    load_kb_cases,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DEFAULT_CALLER = DATA / "nlp_eval" / "caller.jsonl"
DEFAULT_AGENT = DATA / "nlp_eval" / "agent.jsonl"
DEFAULT_PARAPHRASES = DATA / "kb_paraphrases.jsonl"
HOLDOUT_CALLER = DATA / "nlp_eval" / "caller_holdout.jsonl"
HOLDOUT_AGENT = DATA / "nlp_eval" / "agent_holdout.jsonl"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _rjust(text: str, width: int) -> str:
    return " " * max(0, width - _width(text)) + text


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _frac(num: int, den: int) -> str:
    return f"{num}/{den}"


def _classification_lines(title: str, by_cond: dict[str, Classification]) -> list[str]:
    conds = list(by_cond)
    first = by_cond[conds[0]]
    lines = [f"{title}: " + "   ".join(f"{c} {_pct(by_cond[c].accuracy)}" for c in conds)]
    head = f"  {'label':<10}{'n':>4}" + "".join(f"  {_rjust(c[:5] + ' P', 8)} {'R':>6}" for c in conds)
    lines.append(head)
    for label, stats in first.labels.items():
        row = f"  {_ljust(label, 10)}{stats.support:>4}"
        for c in conds:
            s = by_cond[c].labels.get(label)
            row += f"  {_pct(s.precision if s else None):>8} {_pct(s.recall if s else None):>6}"
        lines.append(row)
    for c in conds:
        top = ", ".join(f"{g}→{p}×{n}" for g, p, n in by_cond[c].confusions[:6]) or "none"
        lines.append(f"  confusions ({c}): {top}")
    return lines


def _kb_cell(kb: KbReport | None, split: str | None) -> str:
    if kb is None:
        return "n/a"
    if split is None:
        return f"{_frac(*kb.positives)} / {_frac(*kb.negatives)}"
    return f"{_pct(kb.top1_of(split))} ({_frac(*kb.by_split[split])})"


def _kind_cell(kind: str, c: ConditionReport) -> str:
    return _frac(*c.agent.by_kind.get(kind, (0, 0)))


def _kb_split_cell(split: str, c: ConditionReport) -> str:
    return _kb_cell(c.kb, split)


def format_report(report: Report, targets: Sequence[Target], show_errors: bool) -> str:
    conds: dict[str, ConditionReport] = report.conditions
    names = list(conds)
    lines = [
        "NLP evaluation — " + ", ".join(f"{k} {v}" for k, v in report.sizes.items())
        + " items; conditions: " + ", ".join(names),
        "",
    ]
    lines += _classification_lines("Category (intent)", {c: conds[c].caller.intent for c in names})
    lines.append("")
    lines += _classification_lines("Emotion", {c: conds[c].caller.emotion for c in names})
    lines.append("")

    def row(label: str, get: Callable[[ConditionReport], str]) -> None:
        lines.append(f"  {_ljust(label, 34)}" + "".join(_rjust(get(conds[c]), 20) for c in names))

    lines.append(f"  {'':<34}" + "".join(f"{c:>20}" for c in names))
    row("department accuracy", lambda c: f"{_pct(c.caller.department_accuracy)} "
        f"({_frac(c.caller.department_correct, c.caller.department_n)})")
    row("referral recall (numbers)", lambda c: f"{_pct(c.caller.referral_recall)} "
        f"({_frac(c.caller.referral_found, c.caller.referral_labelled)})")
    row("referral items fully covered", lambda c: _frac(c.caller.referral_items_ok, c.caller.referral_items))
    row("referral precision (info)", lambda c: f"{_pct(c.caller.referral_precision)} "
        f"({_frac(c.caller.referral_suggested_labelled, c.caller.referral_suggested)})")
    row("critical recall", lambda c: f"{_pct(c.caller.critical_recall)} "
        f"({_frac(c.caller.critical_found, c.caller.critical_labelled)})")
    row("critical precision (info)", lambda c: f"{_pct(c.caller.critical_precision)} "
        f"({_frac(c.caller.critical_found, c.caller.critical_flagged)})")
    row("  crisis card alone: recall", lambda c: f"{_pct(c.caller.card_recall)} "
        f"({_frac(c.caller.card_found, c.caller.critical_labelled)})")
    row("  crisis card alone: precision", lambda c: f"{_pct(c.caller.card_precision)} "
        f"({_frac(c.caller.card_found, c.caller.card_flagged)})")
    row("banned hits on caller (must be 0)", lambda c: str(c.caller.caller_banned))
    row("banned precision (utterance)", lambda c: f"{_pct(c.agent.precision)} "
        f"({_frac(c.agent.tp, c.agent.tp + c.agent.fp)})")
    row("banned recall (utterance)", lambda c: f"{_pct(c.agent.recall)} "
        f"({_frac(c.agent.tp, c.agent.tp + c.agent.fn)})")
    row("banned span precision", lambda c: f"{_pct(c.agent.span_precision)} "
        f"({_frac(c.agent.span_hits_ok, c.agent.span_hits)})")
    row("banned span recall", lambda c: f"{_pct(c.agent.span_recall)} "
        f"({_frac(c.agent.span_found, c.agent.tp + c.agent.fn)})")
    for kind in conds[names[0]].agent.by_kind:
        row(f"  recall {kind}", functools.partial(_kind_cell, kind))
    first_kb = conds[names[0]].kb
    if first_kb is not None:
        for split in first_kb.by_split:
            row(f"knowledge top-1 [{split}]", functools.partial(_kb_split_cell, split))
        row("  answerable / unanswerable (all)", lambda c: _kb_cell(c.kb, None))
    t = report.timing
    lines += [
        "",
        f"Speed of Analyzer.analyze over {t.n} calls: median {t.median_ms:.3f} ms, p99 {t.p99_ms:.3f} ms, "
        f"max {t.max_ms:.3f} ms",
        "",
        "Targets:",
    ]
    for tg in targets:
        value = f"{tg.value:.3f} ms" if tg.name.endswith("utterance") else _pct(tg.value)
        verdict = "PASS" if tg.passed else "FAIL"
        lines.append(f"  {verdict}  {tg.name:<22} {tg.condition:<11} {value:>10}  ({tg.rule})")
    if show_errors:
        lines += ["", "Errors (condition dataset id field: gold → predicted | text):"]
        for c in names:
            for e in conds[c].errors:
                lines.append(f"  {e.condition:<10} {e.dataset:<6} {e.id:<6} {e.field:<11} "
                             f"{e.gold} → {e.predicted} | {e.text}")
    return "\n".join(lines)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in dir(type(obj)):
            if isinstance(getattr(type(obj), name, None), property):
                out[name] = _jsonable(getattr(obj, name))
        return out
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.nlp_eval", description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=Path, default=None, help="knowledge base file for Analyzer.load")
    parser.add_argument("--data-dir", type=Path, default=None, help="analyzer data directory")
    parser.add_argument("--caller", type=Path, default=DEFAULT_CALLER)
    parser.add_argument("--agent", type=Path, default=DEFAULT_AGENT)
    parser.add_argument("--paraphrases", type=Path, default=DEFAULT_PARAPHRASES)
    parser.add_argument(
        "--holdout", action="store_true",
        help="use the holdout caller/agent sets (generalisation check: never tune rules on them)",
    )
    parser.add_argument("--typed-only", action="store_true", help="skip the recognizer-style condition")
    parser.add_argument("--rules-only", action="store_true",
                        help="the rules alone (partials); default: rules + the shipped learned model, as on finals")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--errors", action="store_true", help="list every misclassified item")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from assist.nlp.analyzer import Analyzer  # heavy: loads data files, jieba
    from assist.nlp.asrstyle import default_styler

    caller = load_caller_cases(HOLDOUT_CALLER if args.holdout else args.caller)
    agent = load_agent_cases(HOLDOUT_AGENT if args.holdout else args.agent)
    kb = load_kb_cases(args.paraphrases) if args.paraphrases.exists() else None
    analyzer = Analyzer.load(data_dir=args.data_dir, kb_path=args.kb, learned=not args.rules_only)
    renderers: dict[str, Callable[[str], str]] = {TYPED: lambda s: s}
    if not args.typed_only:
        renderers[ASR] = default_styler()
    report = evaluate(analyzer, caller, agent, kb, renderers, learned=not args.rules_only)
    targets = check_targets(report)
    if args.json:
        payload = {"report": _jsonable(report), "targets": _jsonable(targets)}
        if not args.errors:
            for cond in payload["report"]["conditions"].values():
                cond.pop("errors", None)
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(format_report(report, targets, args.errors))
    failed = [t for t in targets if not t.passed]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
