"""The operator's safety questions (data: ``assist/nlp/data/safety_check.toml``).

One reading of the file for every part that needs to know whether the operator asked about the caller's
safety: live analysis (a weak sign the operator asked about, ``weaksigns.py``), and the training report
(did the operator ask after a safety card, ``assist/training/safety.py``; crisis items that take these
questions, ``assist/training/crisis.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

DEFAULT_SAFETY = DEFAULT_DATA_DIR / "safety_check.toml"


@dataclass(frozen=True, slots=True)
class SafetyRules:
    within_turns: int  # how many operator finals after the caller's words may hold the question (the report)
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def load(cls, path: Path | None = None) -> SafetyRules:
        """Read ``safety_check.toml`` (default: the shipped file).  Raises ``DataError``."""
        doc = load_toml(path or DEFAULT_SAFETY)
        doc.check_keys({"within_turns", "patterns"})
        turns = doc.number("within_turns", 3, lo=1, hi=20)
        if turns != int(turns):
            raise doc.error("'within_turns' must be a whole number of operator utterances")
        patterns = doc.regex_list("patterns")
        if not patterns:
            raise doc.error("'patterns' needs at least one regular expression")
        return cls(int(turns), patterns)

    def asks(self, norm: str) -> re.Match[str] | None:
        """The first safety question in normalised text, or None."""
        return next((m for p in self.patterns if (m := p.search(norm)) and m.end() > m.start()), None)
