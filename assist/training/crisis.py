"""Crisis criteria for the training report (data: ``assist/nlp/data/crisis.toml``).

A call in which a critical signal fired (self-harm, violence, an injury, a fire…) is not judged
by the routine closing and 办结时限 promise but by what a crisis needs: the caller's feelings
taken up, the caller kept on the line, the location asked, the transfer made (the crisis number
said, or 转接/三方).  ``CrisisRules.load()`` reads the items; ``judge(rules, ...)`` checks them
in the operator's words from the caller's critical utterance on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

DEFAULT_CRISIS = DEFAULT_DATA_DIR / "crisis.toml"
SLACK = 1.0  # s: words said just before the critical utterance ended still count


@dataclass(frozen=True, slots=True)
class CrisisRule:
    name: str
    expected: str
    patterns: tuple[re.Pattern[str], ...]
    number: bool


@dataclass(frozen=True, slots=True)
class CrisisRules:
    items: tuple[CrisisRule, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> CrisisRules:
        doc = load_toml(path or DEFAULT_CRISIS)
        doc.check_keys({"item"})
        items = []
        for table in doc.tables("item"):
            table.check_keys({"name", "expected", "patterns", "number"})
            items.append(CrisisRule(table.text("name"), table.text("expected"), table.regex_list("patterns"),
                                    table.boolean("number", False)))
        return cls(tuple(items))


@dataclass(frozen=True, slots=True)
class CrisisItem:
    item: str
    done: bool
    time: float | None
    said: str | None
    expected: str


@dataclass(frozen=True, slots=True)
class CrisisCheck:
    time: float  # when the critical signal came
    numbers: tuple[str, ...]  # the crisis numbers offered (12356, 110…)
    items: tuple[CrisisItem, ...]


@dataclass(frozen=True, slots=True)
class Said:
    """One operator utterance: its display text, its normalised text and when it started."""

    text: str
    norm: str
    start: float
    end: float


def judge(rules: CrisisRules, since: float, numbers: Sequence[str], agent: Sequence[Said]) -> CrisisCheck:
    """The crisis items in the operator's utterances ending after ``since`` (the critical utterance)."""
    after = [u for u in agent if u.end >= since - SLACK]
    number_text = "/".join(numbers) if numbers else "110"
    items = []
    for rule in rules.items:
        hit = next((u for u in after if any(p.search(u.norm) for p in rule.patterns)
                    or (rule.number and any(n in u.norm for n in numbers))), None)
        items.append(CrisisItem(rule.name, hit is not None, None if hit is None else hit.start,
                                None if hit is None else hit.text, rule.expected.format(number=number_text)))
    return CrisisCheck(since, tuple(numbers), tuple(items))
