"""Analyse a call given as (role, words) lines through one CallContext: the crisis tiers each caller line got."""

from __future__ import annotations

from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role


def crisis_tiers(analyzer: Analyzer, lines: list[tuple[str, str]]) -> list[tuple[bool, str | None]]:
    """(critical, safety question) of each caller line of a call given as ("caller" | "agent", words)."""
    ctx = CallContext()
    out: list[tuple[bool, str | None]] = []
    for i, (role, text) in enumerate(lines):
        if role == "agent":
            analyzer.analyze(Role.AGENT, text, ctx)
            continue
        a = analyzer.analyze_final(Role.CALLER, text, ctx, utterance_id=f"c{i}")
        out.append((a.critical, a.safety_question))
    return out
