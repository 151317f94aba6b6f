"""``assist analyze``: analyse one utterance, or a JSONL file of utterances.

    assist analyze --role caller "我们小区电梯坏了三天了没人管"
    assist analyze --jsonl calls.jsonl            # lines of {"role": ..., "text": ...}
    cat calls.jsonl | assist analyze --jsonl -
    assist analyze --kb my_kb.csv --role caller "医保怎么报销"

Each result is one JSON object on one line (UTF-8, not escaped).  With ``--jsonl``
the output has one line per input line, in order; a malformed input line gives
``{"line": N, "error": "..."}`` in its place (and on stderr) and the rest goes on;
the exit status is then 1.  Lines may carry ``call_id`` (one CallContext per call,
for escalation across utterances; without it the whole file is one call) and
``utterance_id``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from assist.protocol.enums import Role

if TYPE_CHECKING:
    from assist.nlp.analyzer import Analyzer

ROLE_CHOICES = (Role.CALLER, Role.AGENT, Role.MIXED)


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="analyse utterances: emotion, category, department, referrals, banned phrases",
        description="Analyse one utterance (TEXT) or a JSONL file of {\"role\", \"text\"} lines; "
                    "prints one JSON object per utterance.",
    )
    parser.add_argument("text", nargs="?", help="the utterance (with --role)")
    parser.add_argument("--role", choices=ROLE_CHOICES, default="caller", help="who said it (default: caller)")
    parser.add_argument("--jsonl", metavar="FILE", help="read {\"role\",\"text\"} lines from FILE ('-' = stdin)")
    parser.add_argument("--kb", metavar="FILE", type=Path, help="knowledge base (.jsonl or .csv) to use")
    parser.add_argument("--data", metavar="DIR", type=Path, help="directory of data files (default: built-in)")
    parser.add_argument("--no-kb", action="store_true", help="do not search the knowledge base")
    parser.add_argument("--nlp-model", metavar="DIR", type=Path,
                        help="learned model directory from 'assist train' (default: the shipped model)")
    parser.add_argument("--rules-only", action="store_true", help="rules only: no encoder, no learned model")
    parser.add_argument("--compact", action="store_true", help="leave out the extra keys (evidence, normalized…)")
    parser.set_defaults(func=run)


CONTRACT_KEYS = ("intent", "department", "emotion", "referrals", "banned", "knowledge", "empathy")


def _emit(obj: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _result(analysis: dict[str, Any], compact: bool) -> dict[str, Any]:
    if compact:
        return {k: analysis[k] for k in CONTRACT_KEYS}
    return analysis


def _parse_line(raw: str) -> tuple[Role, str, str | None, str | None]:
    """``(role, text, call_id, utterance_id)`` of one JSONL line; raises ValueError."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object with 'role' and 'text'")
    role, text = obj.get("role"), obj.get("text")
    if not isinstance(role, str) or role not in ROLE_CHOICES:
        raise ValueError(f"'role' must be one of {', '.join(ROLE_CHOICES)}")
    if not isinstance(text, str):
        raise ValueError("'text' must be a string")
    ids = []
    for key in ("call_id", "utterance_id"):
        value = obj.get(key)
        if value is not None and not isinstance(value, (str, int)):
            raise ValueError(f"'{key}' must be a string")
        ids.append(None if value is None else str(value))
    return Role(role), text, ids[0], ids[1]


def run_jsonl(analyzer: Analyzer, lines: TextIO, out: TextIO, err: TextIO, *, compact: bool = False) -> int:
    """Analyse every line of ``lines``; returns the number of malformed lines."""
    from assist.nlp.analyzer import CallContext

    contexts: dict[str | None, CallContext] = {}
    errors = 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            role, text, call_id, utterance_id = _parse_line(raw)
        except ValueError as exc:
            errors += 1
            message = f"line {number}: {exc}"
            _emit({"line": number, "error": message}, out)
            err.write(f"assist analyze: {message}\n")
            continue
        context = contexts.setdefault(call_id, CallContext())
        analysis = analyzer.analyze_final(role, text, context, utterance_id=utterance_id)
        _emit(_result(analysis.to_dict(), compact), out)
        out.flush()
    return errors


def run(args: argparse.Namespace) -> int:
    from assist.nlp.analyzer import Analyzer
    from assist.nlp.data import DataError
    from assist.nlp.kb import KbError
    from assist.nlp.learned import ModelError

    if args.jsonl is None and args.text is None:
        print("assist analyze: give TEXT (with --role) or --jsonl FILE", file=sys.stderr)
        return 2
    if args.jsonl is not None and args.text is not None:
        print("assist analyze: give either TEXT or --jsonl FILE, not both", file=sys.stderr)
        return 2
    try:
        model = None if args.rules_only else args.nlp_model
        analyzer = Analyzer.load(args.data, args.kb, use_kb=not args.no_kb, nlp_model=model,
                                 learned=not args.rules_only and _shipped_model_exists())
    except (DataError, KbError, ModelError, OSError) as exc:
        print(f"assist analyze: {exc}", file=sys.stderr)
        return 2
    if args.text is not None:
        _emit(_result(analyzer.analyze_final(Role(args.role), args.text).to_dict(), args.compact), sys.stdout)
        return 0
    if args.jsonl == "-":
        return 1 if run_jsonl(analyzer, sys.stdin, sys.stdout, sys.stderr, compact=args.compact) else 0
    try:
        with open(args.jsonl, encoding="utf-8", errors="replace") as fh:
            errors = run_jsonl(analyzer, fh, sys.stdout, sys.stderr, compact=args.compact)
    except OSError as exc:
        print(f"assist analyze: cannot read {args.jsonl}: {exc}", file=sys.stderr)
        return 2
    return 1 if errors else 0


def _shipped_model_exists() -> bool:
    from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE

    return (DEFAULT_MODEL_DIR / MODEL_FILE).is_file()
