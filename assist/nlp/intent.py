"""Request category (建议 一般诉求 求助 投诉举报 咨询 表扬) and handling department.

Weighted cue scoring from ``data/intent.toml`` and ``data/departments.toml``;
the scoring and tie-breaking rules are documented at the top of those files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assist.nlp.data import DataError, load_toml
from assist.nlp.matcher import Entry, PhraseMatcher
from assist.nlp.negation import Negation, clause_before
from assist.protocol.enums import Category
from assist.protocol.events import Span

CATEGORIES: tuple[str, ...] = tuple(Category)
# Situations recognised by the other lexicons that may vote for a category ([signals] in intent.toml):
# "critical" = self-harm or despair (emotion.toml [[critical]]), "emergency" = an emergency in progress
# (a critical trigger of referrals.toml), "urgent" = any urgent number suggested (110/119/120/122),
# "referral:NUMBER" = that referral number suggested (referral:12348: a dispute outside the remit).
SIGNALS: tuple[str, ...] = ("critical", "emergency", "urgent")
_REFERRAL_SIGNAL = re.compile(r"^referral:[0-9]{3,8}$")
DEPARTMENTS: tuple[str, ...] = (
    "住建", "城管", "市场监管", "人社", "公安", "交通", "卫健", "教育", "生态环境", "水务", "供电", "燃气",
    "供热", "民政", "医保", "自然资源", "农业农村", "文旅", "税务", "应急管理", "通信管理", "司法", "街道社区", "信访",
)


@dataclass(frozen=True, slots=True)
class _Weighted:
    name: str
    weight: float
    negatable: bool = False
    once: int | None = None  # entries with an id here count at most once per utterance


@dataclass(frozen=True, slots=True)
class History:
    """Cues of ``categories`` that only retell a problem count ``factor`` times ([history]):
    in a clause opened by a ``past`` word (上次反映的漏水…) or anywhere once the utterance
    says the problem was solved (``resolved``: …第二天就修好了); cues of ``solved_categories``
    only in the latter case (我之前投诉过…现在解决了, 谢谢)."""

    categories: tuple[str, ...] = ()
    past: tuple[str, ...] = ()
    resolved: tuple[re.Pattern[str], ...] = ()
    factor: float = 1.0
    solved_categories: tuple[str, ...] = ()

    def weight(self, text: str, start: int, category: str, solved: bool) -> float:
        if self.factor >= 1.0:
            return 1.0
        if solved and (category in self.categories or category in self.solved_categories):
            return self.factor
        if category not in self.categories:
            return 1.0
        clause = clause_before(text, start, start)
        return self.factor if any(w in clause for w in self.past) else 1.0

    def solved(self, text: str) -> bool:
        return any(p.search(text) for p in self.resolved)


@dataclass(frozen=True, slots=True)
class Scored:
    """The winner of a weighted vote (or ``None``), with its evidence and all scores."""

    name: str | None
    evidence: tuple[Span, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def _vote(
    matcher: PhraseMatcher[_Weighted], text: str, priority: tuple[str, ...], min_score: float,
    negation: Negation | None = None, extra: Mapping[str, float] | None = None, history: History | None = None,
) -> Scored:
    scores: dict[str, float] = dict(extra or {})
    evidence: dict[str, list[Span]] = {}
    solved = history.solved(text) if history is not None else False
    counted: set[int] = set()
    for hit in matcher.find(text):
        if hit.key.negatable and negation is not None and negation.negated(text, hit.start):
            continue  # 我不是来投诉的 / 没什么不满意的
        if hit.key.once is not None:
            if hit.key.once in counted:
                continue  # 麻烦派人来查一下,处理一下: one request, however it is repeated
            counted.add(hit.key.once)
        factor = history.weight(text, hit.start, hit.key.name, solved) if history is not None else 1.0
        scores[hit.key.name] = scores.get(hit.key.name, 0.0) + hit.key.weight * factor
        evidence.setdefault(hit.key.name, []).append(Span(hit.text, hit.start, hit.end))
    rounded = {k: round(v, 3) for k, v in scores.items()}
    if not scores:
        return Scored(None, (), rounded)
    order = {name: i for i, name in enumerate(priority)}
    best = max(scores, key=lambda name: (scores[name], -order.get(name, len(order))))
    if scores[best] < min_score:
        return Scored(None, (), rounded)
    return Scored(best, tuple(evidence.get(best, ())), rounded)


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
        signals: Mapping[str, _Weighted] | None = None,
        history: History | None = None,
    ) -> None:
        self._cues: PhraseMatcher[_Weighted] = PhraseMatcher(cues)
        self._topics: PhraseMatcher[_Weighted] = PhraseMatcher(topics)
        self.priority = priority
        self.min_score = min_score
        self.fallback = fallback
        self.departments = departments
        self.department_min_score = department_min_score
        self.negation = negation
        self.signals: dict[str, _Weighted] = dict(signals or {})
        self.history = history

    @classmethod
    def load(cls, intent_path: Path, departments_path: Path, negation: Negation | None = None) -> IntentModel:
        """Load both files; ``negation`` (from emotion.toml) cancels negated cues."""
        doc = load_toml(intent_path)
        doc.check_keys({"priority", "min_score", "fallback", "cue", "define", "signals", "history"})
        defines = doc.defines()
        priority = doc.choices("priority", CATEGORIES)
        if sorted(priority) != sorted(CATEGORIES):
            raise doc.error(f"'priority' must list each of {' '.join(CATEGORIES)} once")
        fallback = doc.choice("fallback", CATEGORIES) if doc.has("fallback") else None
        cues = []
        for index, entry in enumerate(doc.tables("cue")):
            entry.check_keys({"category", "weight", "words", "patterns", "not_in", "negatable", "once"})
            key = _Weighted(entry.choice("category", CATEGORIES), entry.number("weight", lo=0.0, hi=10.0),
                            entry.boolean("negatable", True), index if entry.boolean("once") else None)
            words, patterns = entry.texts("words"), entry.regex_list("patterns", defines)
            if not words and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            cues.append(Entry(key, words, patterns, entry.texts("not_in")))

        sig = doc.table("signals", required=False)
        signals: dict[str, _Weighted] = {}
        for name in sig.raw:
            if name not in SIGNALS and not _REFERRAL_SIGNAL.match(name):
                raise sig.error(f"unknown signal {name!r}; known: {' '.join(SIGNALS)} referral:NUMBER")
            item = sig.table(name)
            item.check_keys({"category", "weight"})
            signals[name] = _Weighted(item.choice("category", CATEGORIES), item.number("weight", lo=0.0, hi=10.0))

        hist = doc.table("history", required=False)
        hist.check_keys({"categories", "past", "resolved", "factor", "solved_categories"})
        history = History(hist.choices("categories", CATEGORIES), hist.texts("past"),
                          hist.regex_list("resolved", defines), hist.number("factor", 1.0, lo=0.0, hi=1.0),
                          hist.choices("solved_categories", CATEGORIES))

        deps = load_toml(departments_path)
        deps.check_keys({"canonical", "min_score", "topic", "define"})
        dep_defines = deps.defines()
        canonical = deps.texts("canonical", required=True)
        unknown = sorted(set(canonical) - set(DEPARTMENTS))
        if unknown:
            raise DataError(departments_path, "canonical",
                            f"not a contract department name: {' '.join(unknown)}")
        topics = []
        for entry in deps.tables("topic"):
            entry.check_keys({"department", "weight", "words", "patterns", "not_in"})
            key = _Weighted(entry.choice("department", canonical), entry.number("weight", lo=0.0, hi=10.0))
            words, patterns = entry.texts("words"), entry.regex_list("patterns", dep_defines)
            if not words and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            topics.append(Entry(key, words, patterns, entry.texts("not_in")))
        return cls(
            cues, priority, doc.number("min_score", 0.5, lo=0.0, hi=100.0), fallback,
            topics, canonical, deps.number("min_score", 0.5, lo=0.0, hi=100.0), negation, signals, history,
        )

    def category(self, text: str, *, department: str | None = None, signals: Collection[str] = ()) -> Scored:
        """The request category; ``fallback`` when only a department was recognised.

        ``signals`` (names of ``SIGNALS`` found in the utterance) add the weights of [signals].
        """
        extra: dict[str, float] = {}
        for name in signals:
            weighted = self.signals.get(name)
            if weighted is not None:
                extra[weighted.name] = extra.get(weighted.name, 0.0) + weighted.weight
        result = _vote(self._cues, text, self.priority, self.min_score, self.negation, extra, self.history)
        if result.name is None and department is not None and self.fallback is not None:
            return Scored(self.fallback, (), result.scores)
        return result

    def department(self, text: str) -> Scored:
        return _vote(self._topics, text, self.departments, self.department_min_score)
