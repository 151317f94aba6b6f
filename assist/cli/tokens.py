"""``assist tokens issue|list|revoke``: manage the server's access tokens.

The token file keeps SHA-256 hashes only; ``issue`` prints the token once.
Path: ``--file``, else ``$ASSIST_TOKENS``, else ``var/tokens.toml`` in the
data directory (``assist.paths``, see docs/security.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assist.paths import TOKENS_ENV, default_token_file

DEFAULT_TTL = "90d"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_ttl(text: str) -> float | None:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → seconds; ``never`` → None (no expiry)."""
    text = text.strip().lower()
    if text in ("never", "none"):
        return None
    match = re.fullmatch(r"(\d+)\s*([smhdw]?)", text)
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"bad ttl {text!r}: use e.g. 30d, 12h, 90m, 3600s or never")
    return float(int(match.group(1)) * _UNITS[match.group(2) or "s"])


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tokens",
        help="issue, list and revoke access tokens",
        description="Manage access tokens (stored as SHA-256 hashes; a token is shown once when issued).",
    )
    parser.add_argument(
        "--file", type=Path, default=None, help=f"token file (default: ${TOKENS_ENV} or var/tokens.toml)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    issue = actions.add_parser("issue", help="issue a token and print it once")
    issue.add_argument("--role", required=True, choices=("agent", "supervisor", "trainer"))
    issue.add_argument("--subject", required=True, help="agent id (role agent) or user name")
    issue.add_argument(
        "--ttl",
        type=parse_ttl,
        default=parse_ttl(DEFAULT_TTL),
        help=f"lifetime, e.g. 30d, 12h, never (default {DEFAULT_TTL})",
    )
    issue.add_argument("--json", action="store_true", help="print the token and its record as JSON")
    issue.add_argument("--file", type=Path, default=argparse.SUPPRESS, help="token file")

    listing = actions.add_parser("list", help="list tokens (ids, roles, subjects, expiry; never the tokens)")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.add_argument("--file", type=Path, default=argparse.SUPPRESS, help="token file")

    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", help="token id, as shown by 'assist tokens list'")
    revoke.add_argument("--file", type=Path, default=argparse.SUPPRESS, help="token file")
    revoke.add_argument("--redis-url", default=os.environ.get("ASSIST_REDIS_URL", ""),
                        help="cluster: also revoke it on every node at once (default $ASSIST_REDIS_URL)")
    parser.set_defaults(func=run)


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def run(args: argparse.Namespace) -> int:
    from assist.web.auth import Role, TokenFileError, TokenStore, locked

    path: Path = args.file or default_token_file()
    try:
        if args.action == "issue":
            with locked(path):
                store = TokenStore.load(path)
                plaintext, record = store.issue(Role(args.role), args.subject, args.ttl)
                store.save()
            if args.json:
                out: dict[str, Any] = {"token": plaintext, **record.to_dict()}
                del out["sha256"]
                print(json.dumps(out, ensure_ascii=False))
            else:
                print(plaintext)
                print(
                    f"id {record.id}, role {record.role.value}, subject {record.subject}, "
                    f"expires {_when(record.expires)}; stored in {path}. "
                    "This token is shown only now.",
                    file=sys.stderr,
                )
            return 0
        if args.action == "list":
            store = TokenStore.load(path)
            now = datetime.now(UTC).timestamp()
            if args.json:
                for rec in store.records:
                    row = rec.to_dict()
                    del row["sha256"]
                    row["active"] = rec.active(now)
                    print(json.dumps(row, ensure_ascii=False))
                return 0
            print(f"{'ID':<10} {'ROLE':<11} {'STATUS':<8} {'CREATED':<21} {'EXPIRES':<21} SUBJECT")
            for rec in store.records:
                status = "revoked" if rec.revoked else ("active" if rec.active(now) else "expired")
                print(
                    f"{rec.id:<10} {rec.role.value:<11} {status:<8} {_when(rec.created):<21} "
                    f"{_when(rec.expires):<21} {rec.subject}"
                )
            return 0
        with locked(path):
            store = TokenStore.load(path)
            try:
                record = store.revoke(args.id)
            except KeyError:
                print(f"assist tokens: no token with id {args.id!r} in {path}", file=sys.stderr)
                return 1
            store.save()
        print(f"revoked {record.id} ({record.role.value} {record.subject})", file=sys.stderr)
        if getattr(args, "redis_url", ""):
            return _revoke_on_floor(args.redis_url, record.id)
        return 0
    except BrokenPipeError:
        raise
    except (TokenFileError, ValueError, OSError) as exc:
        print(f"assist tokens: {exc}", file=sys.stderr)
        return 2


def _revoke_on_floor(url: str, token_id: str) -> int:
    """Publish the revocation to every node of the cluster (assist.web.shared_auth)."""
    import asyncio

    from assist.web.shared_auth import publish_revocation

    try:
        asyncio.run(publish_revocation(url, token_id))
    except Exception as exc:  # reported; the file keeps the revocation
        print(f"assist tokens: revoked in the file, but not on the cluster ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return 1
    print(f"revoked {token_id} on every node ({url.split('@')[-1]})", file=sys.stderr)
    return 0
