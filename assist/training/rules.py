"""The training report's cue phrases (``assist/nlp/data/training.toml``), loaded strictly.

``TrainingRules.load(path=None)`` reads and validates the file (a ``DataError``
names the file and the entry to fix).  ``Cue.find(text)`` looks for a phrase or
pattern in normalised text; ``TrainingRules.normalize`` is the normaliser the
analysis engine uses (``data/normalize.toml``), so the report reads utterances
the way the prompts did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, DataError, Table, load_toml
from assist.nlp.normalize import Normalizer

DEFAULT_RULES = DEFAULT_DATA_DIR / "training.toml"
STEP_COUNT = 3  # seed 004: 情绪承接 → 责任表态 → 行动承诺


@dataclass(frozen=True, slots=True)
class Match:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Cue:
    """Literal phrases and regular expressions; the earliest match wins."""

    words: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    def find(self, text: str) -> Match | None:
        matches = self.find_all(text)
        return matches[0] if matches else None

    def find_all(self, text: str) -> list[Match]:
        """Every match, in text order (literals and patterns may overlap)."""
        out = []
        for word in self.words:
            i = text.find(word)
            while i >= 0:
                out.append(Match(word, i, i + len(word)))
                i = text.find(word, i + 1)
        for pattern in self.patterns:
            out.extend(Match(m.group(0), m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start())
        return sorted(out, key=lambda m: (m.start, -m.end, m.text))


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
class EmpathyStep:
    """One of the three steps.  With ``require``/``reject`` a cue counts only when a
    ``require`` pattern and no ``reject`` pattern match within ``window`` characters of it."""

    name: str
    example: str
    cue: Cue
    require: tuple[re.Pattern[str], ...] = ()
    require_note: str = ""
    reject: tuple[re.Pattern[str], ...] = ()
    reject_note: str = ""
    window: int = 16


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
        steps = tuple(_step(t, defines) for t in _entries(empathy, "step"))
        if len(steps) != STEP_COUNT:
            raise empathy.error(f"needs exactly {STEP_COUNT} [[empathy.step]] (情绪承接, 责任表态, 行动承诺), "
                                f"found {len(steps)}")
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise empathy.error(f"step names must differ: {', '.join(names)}")
        normalizer = Normalizer.load(normalize_path or DEFAULT_DATA_DIR / "normalize.toml")
        return cls(opening, closing, min_intensity, steps, normalizer, path)

    def normalize(self, text: str) -> str:
        return self.normalizer(text).text


def _entries(table: Table, key: str) -> list[Table]:
    """``table.tables(key)`` named with their full path in errors (``opening.part[2] (报热线名)``)."""
    return [Table(t.path, f"{table.where}.{t.where}", t.raw) for t in table.tables(key)]


def _cue(table: Table, defines: Mapping[str, str]) -> Cue:
    words = table.texts("words")
    patterns = table.regex_list("patterns", defines) if table.has("patterns") else ()
    if not words and not patterns:
        raise table.error("needs 'words' or 'patterns' (or both)")
    return Cue(words, patterns)


def _greeting(table: Table, defines: Mapping[str, str]) -> GreetingRule:
    table.check_keys({"within_seconds", "example", "part"})
    parts = []
    for t in _entries(table, "part"):
        t.check_keys({"name", "words", "patterns"})
        parts.append(GreetingPart(t.text("name"), _cue(t, defines)))
    if not parts:
        raise table.error("needs at least one [[part]]")
    return GreetingRule(table.number("within_seconds", lo=1.0, hi=3600.0), table.text("example"), tuple(parts))


def _step(table: Table, defines: Mapping[str, str]) -> EmpathyStep:
    table.check_keys({"name", "example", "words", "patterns", "require", "require_note", "reject", "reject_note",
                      "window"})
    require = table.regex_list("require", defines) if table.has("require") else ()
    reject = table.regex_list("reject", defines) if table.has("reject") else ()
    if require and not table.has("require_note"):
        raise table.error("'require' needs a 'require_note' (shown when the cue comes without it)")
    if reject and not table.has("reject_note"):
        raise table.error("'reject' needs a 'reject_note' (shown when the cue comes with it)")
    window = table.number("window", 16, lo=0, hi=200)
    if window != int(window):
        raise table.error("'window' must be a whole number of characters")
    return EmpathyStep(
        name=table.text("name"),
        example=table.text("example"),
        cue=_cue(table, defines),
        require=require,
        require_note=table.text("require_note", "", required=False),
        reject=reject,
        reject_note=table.text("reject_note", "", required=False),
        window=int(window),
    )


__all__ = ["DEFAULT_RULES", "Cue", "DataError", "EmpathyStep", "GreetingRule", "Match", "TrainingRules"]
