"""A call given as (role, words) lines: the crisis tiers each caller line got, or the call through live assist."""

from __future__ import annotations

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import Role
from assist.protocol.events import Event, Transcript


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


def live_call(analyzer: Analyzer, lines: list[tuple[str, str]], call_id: str = "c") -> tuple[LiveAssist, list[Event]]:
    """A call given as ("caller" | "agent", words) final lines, 4 s apart, through live assist: it and its events."""
    live = LiveAssist(call_id, f"agent-{call_id}", analyzer, context_factory=CallContext)
    events: list[Event] = []
    for i, (role, text) in enumerate(lines):
        events += live.on_transcript(Transcript(call_id, role, f"u{i}", True, text, i * 4.0, i * 4.0 + 3.0))
    return live, events
