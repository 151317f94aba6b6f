"""The cue phrases of the three empathy steps (情绪承接 → 责任表态 → 行动承诺), one home for every reader.

``assist/nlp/data/training.toml`` ``[[empathy.step]]`` lists, for each step, the phrases and patterns
that show the operator did it, and for 行动承诺 what must be near the promise (a specific time) and
what must not (a hedge).  The training report judges a call by them (``assist.training.rules`` loads
the whole file); live assist moves the empathy card to the next step when the operator's words did
the current one (``assist.live.prompts``).  Text is the analysis engine's normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, Table, load_toml
from assist.nlp.timelimits import fill, time_limits

TRAINING_FILE = "training.toml"
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
    not_for: frozenset[str] = frozenset()  # the call's categories the report does not ask this step of (咨询)

    def problem(self, text: str, m: Match) -> str | None:
        """Why the cue ``m`` does not count (no specific time near it, a hedge near it), or None if it does."""
        near = text[max(0, m.start - self.window): m.end + self.window]
        for pattern in self.reject:
            hedge = pattern.search(near)
            if hedge:
                return f"「{hedge.group(0)}」{self.reject_note}"
        if self.require and not any(p.search(near) for p in self.require):
            return f"「{m.text}」{self.require_note}"
        return None

    def done_in(self, text: str) -> bool:
        """Whether ``text`` (normalised) does this step: a cue that counts."""
        return any(self.problem(text, m) is None for m in self.cue.find_all(text))


def entries(table: Table, key: str) -> list[Table]:
    """``table.tables(key)`` named with their full path in errors (``opening.part[2] (报热线名)``)."""
    return [Table(t.path, f"{table.where}.{t.where}", t.raw) for t in table.tables(key)]


def cue(table: Table, defines: Mapping[str, str]) -> Cue:
    words = table.texts("words")
    patterns = table.regex_list("patterns", defines) if table.has("patterns") else ()
    if not words and not patterns:
        raise table.error("needs 'words' or 'patterns' (or both)")
    return Cue(words, patterns)


def step(table: Table, defines: Mapping[str, str]) -> EmpathyStep:
    table.check_keys({"name", "example", "words", "patterns", "require", "require_note", "reject", "reject_note",
                      "window", "not_for"})
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
        example=fill(table.text("example"), time_limits()),  # {deadline}: empathy.toml's, as every card
        cue=cue(table, defines),
        require=require,
        require_note=table.text("require_note", "", required=False),
        reject=reject,
        reject_note=table.text("reject_note", "", required=False),
        window=int(window),
        not_for=frozenset(table.texts("not_for")),
    )


def empathy_steps(empathy: Table, defines: Mapping[str, str]) -> tuple[EmpathyStep, ...]:
    """The ``[[empathy.step]]`` entries of ``empathy`` (the ``[empathy]`` table), checked: three, named apart."""
    steps = tuple(step(t, defines) for t in entries(empathy, "step"))
    if len(steps) != STEP_COUNT:
        raise empathy.error(f"needs exactly {STEP_COUNT} [[empathy.step]] (情绪承接, 责任表态, 行动承诺), "
                            f"found {len(steps)}")
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise empathy.error(f"step names must differ: {', '.join(names)}")
    return steps


def load_steps(path: Path | None = None) -> tuple[EmpathyStep, ...]:
    """The empathy steps of ``training.toml`` (default: the shipped file).  Raises ``DataError``."""
    doc = load_toml(path or DEFAULT_DATA_DIR / TRAINING_FILE)
    return empathy_steps(doc.table("empathy"), doc.defines())


@cache
def shipped_steps() -> tuple[EmpathyStep, ...]:
    """The shipped steps, loaded once per process."""
    return load_steps()
