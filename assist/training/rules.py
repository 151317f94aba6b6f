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
class UnansweredRule:
    """知识库有答案而坐席答不知道 (``[unanswered]``): which banned-phrase cards disclaim knowing, and how sure
    the knowledge answer to the caller's question must have been."""

    rules: frozenset[str] = frozenset({"dont_know"})  # banned.toml rule ids
    categories: frozenset[str] = frozenset({"推脱不知"})  # banned.toml categories (a learned hit's too)
    min_score: float = 0.75


@dataclass(frozen=True, slots=True)
class TrainingRules:
    opening: GreetingRule
    closing: GreetingRule
    min_intensity: float
    steps: tuple[EmpathyStep, ...]
    normalizer: Normalizer
    path: Path
    late_turns: int = 1  # 情绪承接 must come within this many operator utterances after the emotion
    unanswered: UnansweredRule = UnansweredRule()

    @classmethod
    def load(cls, path: Path | None = None, normalize_path: Path | None = None) -> TrainingRules:
        """Read ``training.toml`` (default: the shipped file).  Raises ``DataError``."""
        path = path or DEFAULT_RULES
        doc = load_toml(path)
        doc.check_keys({"define", "opening", "closing", "empathy", "unanswered"})
        defines = doc.defines()
        opening = _greeting(doc.table("opening"), defines)
        closing = _greeting(doc.table("closing"), defines)
        empathy = doc.table("empathy")
        empathy.check_keys({"min_intensity", "late_turns", "step"})
        min_intensity = empathy.number("min_intensity", 0.3, lo=0.0, hi=1.0)
        late_turns = int(empathy.number("late_turns", 1, lo=1, hi=20))
        steps = empathy_steps(empathy, defines)
        normalizer = Normalizer.load(normalize_path or DEFAULT_DATA_DIR / "normalize.toml")
        unanswered = UnansweredRule()
        if doc.has("unanswered"):
            table = doc.table("unanswered")
            table.check_keys({"rules", "categories", "min_score"})
            unanswered = UnansweredRule(frozenset(table.texts("rules")), frozenset(table.texts("categories")),
                                        table.number("min_score", 0.75, lo=0.0, hi=1.0))
        return cls(opening, closing, min_intensity, steps, normalizer, path, late_turns, unanswered)

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
           "TrainingRules", "UnansweredRule"]
