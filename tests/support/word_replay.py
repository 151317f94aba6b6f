"""Whole calls through ``LiveAssist`` word by word, as the overlay sees them: a partial per word, then the
final with the learned path (the server's case when the caller does not pause).  Shared by the call-level
coherence tests (tests/live) and the training-report trial tests (tests/training)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assist.live.prompts import LiveAssist
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.decode import decode_events
from assist.protocol.enums import PromptAction, PromptKind
from assist.protocol.events import Event, Prompt, Transcript
from assist.protocol.payloads import CriticalPayload

DATA = Path(__file__).resolve().parents[1] / "data"

Turn = list[tuple[str, bool, list[Event]]]  # (the line's text, final, the events of that transcript)


def call_lines(path: Path) -> list[dict[str, object]]:
    """A call script: one JSON object per line (role, start, end, text with spaces between words)."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


def replay_words(analyzer: Analyzer, name: str, rows: list[dict[str, object]]) -> tuple[LiveAssist, Turn]:
    """``rows`` word by word through a fresh ``LiveAssist`` for call ``name``."""
    live = LiveAssist(name, "a1", analyzer, context_factory=CallContext)
    out: Turn = []
    for i, row in enumerate(rows):
        words = str(row["text"]).split()
        for k in range(1, len(words) + 1):
            final = k == len(words)
            text = "".join(words[:k])
            start = float(str(row["start"]))
            end = float(str(row["end"])) if final else start + 0.3 * k
            t = Transcript(name, str(row["role"]), f"u{i}", final, text, start, end)
            learned = live.learned_for(t) if final else None
            out.append(("".join(words), final, live.on_transcript(t, learned)))
    return live, out


def finals_through_live(lines: list[dict[str, Any]], analyzer: Analyzer) -> list[Event]:
    """A training call's lines as finals through ``LiveAssist`` with the learned path, the transcripts
    included, as the wire carries them (what a training report is built from)."""
    live = LiveAssist("c-trial", "a1", analyzer, mode="training", context_factory=CallContext)
    wire: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for line in lines:
        n = counts.get(line["role"], 0)
        counts[line["role"]] = n + 1
        t = Transcript("c-trial", line["role"], f"{line['role']}-{n}", True, line["text"], line["start"],
                       line["end"])
        wire.append(json.loads(t.to_json()))
        wire.extend(json.loads(e.to_json()) for e in live.on_transcript(t, live.learned_for(t)))
    return decode_events(wire)


def shown(turns: Turn, kind: PromptKind) -> list[tuple[str, bool, Prompt]]:
    """The prompts of ``kind`` shown or updated along the call."""
    return [(line, final, e) for line, final, events in turns for e in events
            if isinstance(e, Prompt) and e.kind == kind and e.action != PromptAction.WITHDRAW]


def critical_cards(turns: Turn) -> list[tuple[str, CriticalPayload]]:
    """The crisis cards shown or updated along the call, with the line that raised each."""
    return [(line, p.data) for line, _, p in shown(turns, PromptKind.CRITICAL) if isinstance(p.data, CriticalPayload)]
