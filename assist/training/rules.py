"""The training report's cue phrases (``assist/nlp/data/training.toml``), loaded strictly.

``TrainingRules.load(path=None)`` reads and validates the file (a ``DataError``
names the file and the entry to fix).  The empathy steps' cues are ``assist.nlp.stepcues``'s (live
assist reads them too).  ``Cue.find(text)`` looks for a phrase or
pattern in normalised text; ``TrainingRules.normalize`` is the normaliser the
analysis engine uses (``data/normalize.toml``), so the report reads utterances
the way the prompts did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, DataError, Table, load_toml
from assist.nlp.normalize import Normalizer
from assist.nlp.stepcues import STEP_COUNT, Cue, EmpathyStep, Match, cue, empathy_steps, entries

DEFAULT_RULES = DEFAULT_DATA_DIR / "training.toml"


@dataclass(frozen=True, slots=True)
class GreetingPart:
    name: str
    cue: Cue


@dataclass(frozen=True, slots=True)
class GreetingRule:
    """A standard greeting: every part must be said within ``within_seconds``."""

    within_seconds: float
    example: str
    parts: tuple[GreetingPart, ...]


@dataclass(frozen=True, slots=True)
class TrainingRules:
    opening: GreetingRule
    closing: GreetingRule
    min_intensity: float
    steps: tuple[EmpathyStep, ...]
    normalizer: Normalizer
    path: Path

    @classmethod
    def load(cls, path: Path | None = None, normalize_path: Path | None = None) -> TrainingRules:
        """Read ``training.toml`` (default: the shipped file).  Raises ``DataError``."""
        path = path or DEFAULT_RULES
        doc = load_toml(path)
        doc.check_keys({"define", "opening", "closing", "empathy"})
        defines = doc.defines()
        opening = _greeting(doc.table("opening"), defines)
        closing = _greeting(doc.table("closing"), defines)
        empathy = doc.table("empathy")
        empathy.check_keys({"min_intensity", "step"})
        min_intensity = empathy.number("min_intensity", 0.3, lo=0.0, hi=1.0)
        steps = empathy_steps(empathy, defines)
        normalizer = Normalizer.load(normalize_path or DEFAULT_DATA_DIR / "normalize.toml")
        return cls(opening, closing, min_intensity, steps, normalizer, path)

    def normalize(self, text: str) -> str:
        return self.normalizer(text).text


def _greeting(table: Table, defines: Mapping[str, str]) -> GreetingRule:
    table.check_keys({"within_seconds", "example", "part"})
    parts = []
    for t in entries(table, "part"):
        t.check_keys({"name", "words", "patterns"})
        parts.append(GreetingPart(t.text("name"), cue(t, defines)))
    if not parts:
        raise table.error("needs at least one [[part]]")
    return GreetingRule(table.number("within_seconds", lo=1.0, hi=3600.0), table.text("example"), tuple(parts))


__all__ = ["DEFAULT_RULES", "STEP_COUNT", "Cue", "DataError", "EmpathyStep", "GreetingRule", "Match",
           "TrainingRules"]
