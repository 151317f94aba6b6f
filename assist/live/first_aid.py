"""现场指导: the first steps a caller can take while the call is connected to an emergency number.

``first_aid.toml`` lists, per crisis number (120, 119…), first steps and the caller's words that call for
them (胸口闷…出了一身冷汗: sit down, do not walk).  ``CallAid`` notes the entries heard in the caller's
utterances of a call (partials and finals, before the crisis or after); ``CallAid.steps(numbers)`` gives,
for each number on the crisis card in its order, the first entry of the file heard with that number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

FIRST_AID_FILE = "first_aid.toml"


@dataclass(frozen=True, slots=True)
class AidEntry:
    name: str
    number: str
    patterns: tuple[re.Pattern[str], ...]
    say: str

    def heard(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)


@cache
def shipped_aid(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[AidEntry, ...]:
    """The entries of ``first_aid.toml``, in priority order (loaded once per process)."""
    doc = load_toml(data_dir / FIRST_AID_FILE)
    doc.check_keys({"entry"})
    entries = []
    for entry in doc.tables("entry"):
        entry.check_keys({"name", "number", "patterns", "say"})
        patterns = entry.regex_list("patterns")
        if not patterns:
            raise entry.error("needs at least one pattern")
        entries.append(AidEntry(entry.text("name"), entry.text("number"), patterns, entry.text("say")))
    return tuple(entries)


@dataclass
class CallAid:
    """The first-aid entries the caller's words called for in one call."""

    entries: tuple[AidEntry, ...] = field(default_factory=shipped_aid)
    heard: set[str] = field(default_factory=set)  # names of the entries heard

    def hear(self, text: str) -> None:
        """Note the entries ``text`` (a caller's normalised utterance) calls for."""
        self.heard.update(e.name for e in self.entries if e.name not in self.heard and e.heard(text))

    def steps(self, numbers: tuple[str, ...]) -> tuple[str, ...]:
        """What to read out for a crisis card naming ``numbers``: per number, in the card's order, the first
        entry heard for it."""
        out = []
        for number in numbers:
            entry = next((e for e in self.entries if e.number == number and e.name in self.heard), None)
            if entry is not None and entry.say not in out:
                out.append(entry.say)
        return tuple(out)
