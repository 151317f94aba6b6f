"""``assist calls list|show|export``: the stored call history (see docs/storage.md).

Database: ``--db``, else ``$ASSIST_DB``, else ``var/assist.sqlite3`` in the
repository (``assist.store.db.resolve_db_path``).  Opened read-only: the CLI never
creates, migrates or changes the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from assist.protocol.decode import decode_payload
from assist.protocol.enums import PromptKind
from assist.protocol.payloads import (
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    EmpathyPayload,
    HandlingPayload,
    KnowledgePayload,
    ReferralPayload,
    SafetyPayload,
)
from assist.text import join_cjk

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "calls",
        help="list, show and export stored calls",
        description="Browse the stored call history (texts are stored with personal numbers masked).",
    )
    db_help = "database file (default: $ASSIST_DB or var/assist.sqlite3)"
    parser.add_argument("--db", type=Path, default=None, help=db_help)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    listing = actions.add_parser("list", help="list calls, newest first")
    listing.add_argument("--agent", help="only this agent's calls")
    listing.add_argument("--since", help="calls started since: 2h, 1d, 1w, 2024-05-01, 2024-05-01T08:30")
    listing.add_argument("--until", help="calls started before (same forms as --since)")
    listing.add_argument("--search", metavar="TEXT", help="only calls whose utterances contain TEXT (every word)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many calls (default 50, max 500)")
    listing.add_argument("--json", action="store_true", help="print the result as JSON")
    listing.add_argument("--lang", choices=("zh", "en"), default="zh", help="table labels: zh (default) or en")
    listing.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=db_help)

    show = actions.add_parser("show", help="show one call: utterances, prompts and alerts in order")
    show.add_argument("call_id", metavar="ID")
    show.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=db_help)

    export = actions.add_parser("export", help="export one call as JSON")
    export.add_argument("call_id", metavar="ID")
    export.add_argument("--json", action="store_true", default=True, help="JSON output (the only format)")
    export.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    export.add_argument(
        "--include-originals",
        action="store_true",
        help="add unmasked utterance texts (present only if the server ran with keep_originals)",
    )
    export.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=db_help)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from assist.store.db import resolve_db_path

    path = resolve_db_path(args.db)
    if not path.is_file():
        print(
            f"assist calls: no database at {path}\n"
            "  (the server creates it when it first runs with storage on;"
            " choose another with --db or ASSIST_DB)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return asyncio.run(_run(args, path))


async def _run(args: argparse.Namespace, path: Path) -> int:
    from assist.store.db import NotFound, Store, StoreError
    from assist.store.history import HistoryQueryError, history_query

    try:
        store = await Store.open(path, readonly=True)
    except StoreError as exc:
        print(f"assist calls: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.action == "list":
            params = {
                k: str(v)
                for k, v in (
                    ("agent", args.agent),
                    ("since", args.since),
                    ("until", args.until),
                    ("search", args.search),
                    ("limit", args.limit),
                )
                if v is not None
            }
            try:
                result = await history_query(store, params)
            except HistoryQueryError as exc:
                print(f"assist calls list: {exc}", file=sys.stderr)
                return EXIT_USAGE
            if args.json:
                _dump(result, sys.stdout)
            else:
                from assist.cli.calls_table import Lang, print_list

                print_list(result["calls"], sys.stdout, Lang(args.lang))
            return 0
        try:
            if args.action == "show":
                _print_call(await store.get_call(args.call_id), sys.stdout)
                return 0
            data = await store.export_call(args.call_id, include_originals=args.include_originals)
        except NotFound:
            print(f"assist calls {args.action}: no call {args.call_id!r} in {path}", file=sys.stderr)
            return EXIT_NOT_FOUND
        if args.output is not None:
            with args.output.open("w", encoding="utf-8") as fh:
                _dump(data, fh)
        else:
            _dump(data, sys.stdout)
        return 0
    finally:
        await store.close()


# ---------------------------------------------------------------- formatting


def _dump(data: Any, out: TextIO) -> None:
    json.dump(data, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _clock(seconds: float) -> str:
    minutes, sec = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{sec:04.1f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "open"
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes}m{sec:02d}s"


def _detail(kind: str, obj: object) -> str:
    """A stored prompt's data as the overlay says it (as stored when it does not decode: an older version's)."""
    try:
        d = decode_payload(PromptKind(kind), obj)
    except (ValueError, TypeError):
        return json.dumps(obj, ensure_ascii=False)
    match d:
        case EmotionPayload():
            return f"{d.label} {d.intensity:.0%}"
        case CategoryPayload():
            return f"{d.intent} · 承办 {d.department or '未定'}"
        case ReferralPayload():
            return f"{d.number} {d.name}"
        case KnowledgePayload():
            return f"{d.question} ({d.score:.0%})"
        case EmpathyPayload():
            return f"{d.label} · {d.steps[min(d.stage, len(d.steps) - 1)]}" if d.steps else str(d.label)
        case BannedPayload():
            return f"「{d.said}」→ {d.suggestion}"
        case CriticalPayload():
            fixed = f" · 来电人更正「{d.correction}」" if d.correction else ""
            return f"{d.reason or '危机信号'} [{'/'.join(d.referrals)}]{fixed}"
        case SafetyPayload():
            return f"{d.question} [{'/'.join(d.referrals)}]"
        case HandlingPayload():
            return f"{d.finding}:「{d.said}」→ {d.suggestion}"
        case _:  # a payload kind added later: as stored
            return json.dumps(obj, ensure_ascii=False)


def _print_call(data: dict[str, Any], out: TextIO) -> None:
    call = data["call"]
    out.write(f"call {call['call_id']}  agent {call['agent_id']}  mode {call['mode']}\n")
    out.write(
        f"started {_when(call['started_at'])}  ended {_when(call['ended_at'])}"
        f"  ({call['end_reason'] or 'open'}, {_duration(call['duration'])})"
        + (f"  resumed {call['resumes']}x" if call["resumes"] else "")
        + "\n\n"
    )
    lines: list[tuple[float, int, str]] = []
    for u in data["utterances"]:
        lines.append((u["start"], 0, f"[{_clock(u['start'])}] {u['role']:6} {join_cjk(u['text'])}"))
    for p in data["prompts"]:
        detail = _detail(p["kind"], p["event"].get("data") or {})
        if len(detail) > 90:
            detail = detail[:89] + "…"
        state = "" if p["action"] != "withdraw" else " (withdrawn)"
        lines.append((p["audio_time"], 1, f"           ↳ {p['kind']}{state} {detail}"))
    for a in data["alerts"]:
        ack = "open"
        if a["acknowledged_at"] is not None:
            ack = f"ack by {a['acknowledged_by']} at {_when(a['acknowledged_at'])}"
        lines.append((a["audio_time"], 2, f"           !! {a['severity']} {a['kind']}: {a['message']} [{ack}]"))
    for _, _, line in sorted(lines, key=lambda item: (item[0], item[1])):
        out.write(line + "\n")
    if not lines:
        out.write("(nothing stored for this call)\n")
