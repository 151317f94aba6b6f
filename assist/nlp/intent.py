"""Request category (建议 一般诉求 求助 投诉举报 咨询 表扬) and handling department.

Weighted cue scoring from ``data/intent.toml`` and ``data/departments.toml``;
the scoring and tie-breaking rules are documented at the top of those files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assist.events import Span
from assist.nlp.data import DataError, load_toml
from assist.nlp.matcher import Entry, PhraseMatcher
from assist.nlp.negation import Negation

CATEGORIES: tuple[str, ...] = ("建议", "一般诉求", "求助", "投诉举报", "咨询", "表扬")
DEPARTMENTS: tuple[str, ...] = (
    "住建", "城管", "市场监管", "人社", "公安", "交通", "卫健", "教育", "生态环境", "水务", "供电", "燃气",
    "供热", "民政", "医保", "自然资源", "农业农村", "文旅", "税务", "应急管理", "通信管理", "司法", "街道社区", "信访",
)


@dataclass(frozen=True, slots=True)
class _Weighted:
    name: str
    weight: float
    negatable: bool = False


@dataclass(frozen=True, slots=True)
class Scored:
    """The winner of a weighted vote (or ``None``), with its evidence and all scores."""

    name: str | None
    evidence: tuple[Span, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def _vote(
    matcher: PhraseMatcher[_Weighted], text: str, priority: tuple[str, ...], min_score: float,
    negation: Negation | None = None,
) -> Scored:
    scores: dict[str, float] = {}
    evidence: dict[str, list[Span]] = {}
    for hit in matcher.find(text):
        if hit.key.negatable and negation is not None and negation.negated(text, hit.start):
            continue  # 我不是来投诉的 / 没什么不满意的
        scores[hit.key.name] = scores.get(hit.key.name, 0.0) + hit.key.weight
        evidence.setdefault(hit.key.name, []).append(Span(hit.text, hit.start, hit.end))
    rounded = {k: round(v, 3) for k, v in scores.items()}
    if not scores:
        return Scored(None, (), rounded)
    order = {name: i for i, name in enumerate(priority)}
    best = max(scores, key=lambda name: (scores[name], -order.get(name, len(order))))
    if scores[best] < min_score:
        return Scored(None, (), rounded)
    return Scored(best, tuple(evidence[best]), rounded)


class IntentModel:
    """Compiled category cues and department topics."""

    def __init__(
        self,
        cues: list[Entry[_Weighted]],
        priority: tuple[str, ...],
        min_score: float,
        fallback: str | None,
        topics: list[Entry[_Weighted]],
        departments: tuple[str, ...],
        department_min_score: float,
        negation: Negation | None = None,
    ) -> None:
        self._cues: PhraseMatcher[_Weighted] = PhraseMatcher(cues)
        self._topics: PhraseMatcher[_Weighted] = PhraseMatcher(topics)
        self.priority = priority
        self.min_score = min_score
        self.fallback = fallback
        self.departments = departments
        self.department_min_score = department_min_score
        self.negation = negation

    @classmethod
    def load(cls, intent_path: Path, departments_path: Path, negation: Negation | None = None) -> IntentModel:
        """Load both files; ``negation`` (from emotion.toml) cancels negated cues."""
        doc = load_toml(intent_path)
        doc.check_keys({"priority", "min_score", "fallback", "cue"})
        priority = doc.choices("priority", CATEGORIES)
        if sorted(priority) != sorted(CATEGORIES):
            raise doc.error(f"'priority' must list each of {' '.join(CATEGORIES)} once")
        fallback = doc.choice("fallback", CATEGORIES) if doc.has("fallback") else None
        cues = []
        for entry in doc.tables("cue"):
            entry.check_keys({"category", "weight", "words", "patterns", "not_in", "negatable"})
            key = _Weighted(entry.choice("category", CATEGORIES), entry.number("weight", lo=0.0, hi=10.0),
                            entry.boolean("negatable", True))
            words, patterns = entry.texts("words"), entry.regex_list("patterns")
            if not words and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            cues.append(Entry(key, words, patterns, entry.texts("not_in")))

        deps = load_toml(departments_path)
        deps.check_keys({"canonical", "min_score", "topic"})
        canonical = deps.texts("canonical", required=True)
        unknown = sorted(set(canonical) - set(DEPARTMENTS))
        if unknown:
            raise DataError(departments_path, "canonical",
                            f"not a contract department name: {' '.join(unknown)}")
        topics = []
        for entry in deps.tables("topic"):
            entry.check_keys({"department", "weight", "words", "patterns", "not_in"})
            key = _Weighted(entry.choice("department", canonical), entry.number("weight", lo=0.0, hi=10.0))
            words, patterns = entry.texts("words"), entry.regex_list("patterns")
            if not words and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            topics.append(Entry(key, words, patterns, entry.texts("not_in")))
        return cls(
            cues, priority, doc.number("min_score", 0.5, lo=0.0, hi=100.0), fallback,
            topics, canonical, deps.number("min_score", 0.5, lo=0.0, hi=100.0), negation,
        )

    def category(self, text: str, *, department: str | None = None) -> Scored:
        """The request category; ``fallback`` when only a department was recognised."""
        result = _vote(self._cues, text, self.priority, self.min_score, self.negation)
        if result.name is None and department is not None and self.fallback is not None:
            return Scored(self.fallback, (), result.scores)
        return result

    def department(self, text: str) -> Scored:
        return _vote(self._topics, text, self.departments, self.department_min_score)
