"""Caller emotion: 愤怒 焦虑 失望 绝望 平静 满意 with an intensity in 0..1.

Data: ``data/emotion.toml`` (keywords, negation, intensifiers, boosts, critical
signals, escalation signs).  Scoring is described in that file and in
docs/analysis.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from assist.nlp.data import DataError, Table, load_toml
from assist.nlp.matcher import Entry, Hit, PhraseMatcher
from assist.nlp.negation import Negation, clause_before
from assist.protocol.enums import Emotion
from assist.protocol.events import Span

EMOTION_LABELS: tuple[str, ...] = tuple(Emotion)
ANGER = Emotion.ANGER


@dataclass(frozen=True, slots=True)
class _Key:
    kind: str  # "keyword" | "critical" | "escalation"
    index: int


@dataclass(frozen=True, slots=True)
class Keyword:
    label: str
    weight: float


@dataclass(frozen=True, slots=True)
class CriticalRule:
    id: str
    label: str
    intensity: float
    reason: str
    referrals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: str
    reason: str
    anger: float


@dataclass(frozen=True, slots=True)
class Boost:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    factor: float
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Signal:
    """A critical signal or escalation sign found in the text."""

    id: str
    reason: str
    span: Span
    referrals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextRules:
    repeat_signals: int = 2
    sustained_anger: float = 0.5
    rising_step: float = 0.2


@dataclass(frozen=True, slots=True)
class Discount:
    """Keywords reported as past (之前…) or overturned (…但是) count ``factor`` times."""

    past: tuple[str, ...] = ()
    contrast: tuple[str, ...] = ()
    factor: float = 1.0


@dataclass(frozen=True, slots=True)
class Report:
    """A critical phrase said ABOUT someone else (孩子跟我说活着没意思): still critical,
    but the caller's own feeling is ``label`` (a worried relative), not despair."""

    patterns: tuple[re.Pattern[str], ...] = ()
    window: int = 40
    label: str | None = None
    intensity: float = 0.8


_SENTENCE_BREAK = re.compile(r"[.!?;]")


def sentence_before(text: str, start: int, window: int) -> str:
    """Up to ``window`` characters before ``start``, cut at the last sentence break (not commas)."""
    pre = text[max(0, start - window):start]
    cut = None
    for m in _SENTENCE_BREAK.finditer(pre):
        cut = m.end()
    return pre[cut:] if cut is not None else pre


@dataclass(frozen=True, slots=True)
class EmotionResult:
    label: str
    intensity: float
    evidence: tuple[Span, ...] = ()
    critical: tuple[Signal, ...] = ()
    escalation: tuple[Signal, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


class EmotionModel:
    """Compiled emotion lexicon; ``analyze(text)`` scores one normalised utterance."""

    def __init__(
        self,
        *,
        labels: tuple[str, ...],
        neutral: str,
        keywords: list[tuple[Keyword, Entry[_Key]]],
        critical: list[tuple[CriticalRule, Entry[_Key]]],
        escalation: list[tuple[EscalationRule, Entry[_Key]]],
        negation: Negation,
        flip: dict[str, str],
        intensifiers: dict[str, float],
        intensifier_window: int,
        boosts: tuple[Boost, ...],
        context: ContextRules,
        discount: Discount | None = None,
        prior: dict[str, tuple[str, float]] | None = None,
        denial: Negation | None = None,
        report: Report | None = None,
    ) -> None:
        self.labels = labels
        self.neutral = neutral
        self.keywords = tuple(k for k, _ in keywords)
        self.critical_rules = tuple(c for c, _ in critical)
        self.escalation_rules = tuple(e for e, _ in escalation)
        entries = [e for _, e in keywords] + [e for _, e in critical] + [e for _, e in escalation]
        self._matcher: PhraseMatcher[_Key] = PhraseMatcher(entries)
        self.negation = negation
        self._flip = flip
        self._intensifiers = tuple(sorted(intensifiers.items(), key=lambda kv: -len(kv[0])))
        self._intensifier_window = intensifier_window
        self._boosts = boosts
        self.context = context
        self.discount = discount or Discount()
        self.prior = prior or {}
        self.denial = denial
        self.report = report or Report()

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path) -> EmotionModel:
        doc = load_toml(path)
        doc.check_keys({"labels", "neutral", "negation", "intensifiers", "boost", "keyword", "critical",
                        "escalation", "context", "discount", "prior", "define", "report"})
        defines = doc.defines()
        labels = doc.choices("labels", EMOTION_LABELS)
        if sorted(labels) != sorted(EMOTION_LABELS):
            raise doc.error(f"'labels' must list each of {' '.join(EMOTION_LABELS)} once (tie-break order)")
        neutral = doc.choice("neutral", labels)

        neg = doc.table("negation")
        neg.check_keys({"negators", "fillers", "window", "flip", "exceptions", "critical_denials",
                        "critical_fillers"})
        flip_table = neg.table("flip", required=False)
        flip: dict[str, str] = {}
        for src, dst in flip_table.raw.items():
            if src not in labels or dst not in labels:
                raise flip_table.error(f"{src!r} = {dst!r}: both sides must be emotion labels")
            flip[src] = dst

        inten = doc.table("intensifiers")
        inten.check_keys({"window", "words"})
        words = inten.table("words")
        intensifiers: dict[str, float] = {}
        for word in words.raw:
            intensifiers[word] = words.number(word, lo=0.1, hi=5.0)

        boosts = []
        for entry in doc.tables("boost", required=False):
            entry.check_keys({"id", "patterns", "factor", "labels"})
            patterns = entry.regex_list("patterns", defines)
            if not patterns:
                raise entry.error("'patterns' must not be empty")
            boosts.append(Boost(entry.text("id"), patterns, entry.number("factor", lo=0.1, hi=5.0),
                                entry.choices("labels", labels)))

        def triggers(entry: Table, key: _Key, fuzzy: bool = False) -> Entry[_Key]:
            phrases = entry.texts("words")
            patterns = entry.regex_list("patterns", defines)
            if not phrases and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            return Entry(key, phrases, patterns, entry.texts("not_in"), fuzzy)

        keywords = []
        for i, entry in enumerate(doc.tables("keyword")):
            entry.check_keys({"label", "weight", "words", "patterns", "not_in"})
            kw = Keyword(entry.choice("label", labels), entry.number("weight", lo=0.0, hi=10.0))
            keywords.append((kw, triggers(entry, _Key("keyword", i))))

        critical = []
        for i, entry in enumerate(doc.tables("critical", required=False)):
            entry.check_keys({"id", "label", "intensity", "reason", "referral", "fuzzy", "words", "patterns",
                              "not_in"})
            raw = entry.raw.get("referral")
            refs = (raw,) if isinstance(raw, str) else entry.texts("referral", required=True)
            if not refs or not all(isinstance(r, str) and r for r in refs):
                raise entry.error("'referral' must be a number or a list of numbers")
            rule = CriticalRule(entry.text("id"), entry.choice("label", labels),
                                entry.number("intensity", lo=0.0, hi=1.0), entry.text("reason"), tuple(refs))
            critical.append((rule, triggers(entry, _Key("critical", i), entry.boolean("fuzzy"))))

        escalation = []
        for i, entry in enumerate(doc.tables("escalation", required=False)):
            entry.check_keys({"id", "reason", "anger", "words", "patterns", "not_in"})
            erule = EscalationRule(entry.text("id"), entry.text("reason"), entry.number("anger", lo=0.0, hi=10.0))
            escalation.append((erule, triggers(entry, _Key("escalation", i))))

        ctx = doc.table("context", required=False)
        ctx.check_keys({"repeat_signals", "sustained_anger", "rising_step"})
        context = ContextRules(
            repeat_signals=int(ctx.number("repeat_signals", 2, lo=1, hi=100)),
            sustained_anger=ctx.number("sustained_anger", 0.5, lo=0.0, hi=1.0),
            rising_step=ctx.number("rising_step", 0.2, lo=0.0, hi=1.0),
        )
        disc = doc.table("discount", required=False)
        disc.check_keys({"past", "contrast", "factor"})
        discount = Discount(disc.texts("past"), disc.texts("contrast"), disc.number("factor", 1.0, lo=0.0, hi=1.0))
        prior_table = doc.table("prior", required=False)
        prior: dict[str, tuple[str, float]] = {}
        for key in prior_table.raw:
            item = prior_table.table(key)
            item.check_keys({"label", "score"})
            prior[key] = (item.choice("label", labels), item.number("score", lo=0.0, hi=10.0))
        rep = doc.table("report", required=False)
        rep.check_keys({"patterns", "window", "label", "intensity"})
        report = Report(
            rep.regex_list("patterns", defines), int(rep.number("window", 40, lo=1, hi=200)),
            rep.choice("label", labels) if rep.has("label") else None, rep.number("intensity", 0.8, lo=0.0, hi=1.0),
        )
        denials = neg.texts("critical_denials")
        denial = Negation(denials, neg.texts("critical_fillers"), int(neg.number("window", 6, lo=1, hi=20)),
                          neg.texts("exceptions")) if denials else None
        ids = [c.id for c, _ in critical] + [e.id for e, _ in escalation]
        if len(ids) != len(set(ids)):
            raise DataError(path, "", "critical/escalation ids must be unique")
        return cls(
            labels=labels, neutral=neutral, keywords=keywords, critical=critical, escalation=escalation,
            negation=Negation(neg.texts("negators", required=True), neg.texts("fillers"),
                              int(neg.number("window", 6, lo=1, hi=20)), neg.texts("exceptions")),
            flip=flip,
            intensifiers=intensifiers, intensifier_window=int(inten.number("window", 4, lo=1, hi=20)),
            boosts=tuple(boosts), context=context, discount=discount, prior=prior, denial=denial, report=report,
        )

    # ------------------------------------------------------------ analysis

    def negated(self, text: str, start: int) -> bool:
        """True when the keyword at ``start`` is in the scope of a negation."""
        return self.negation.negated(text, start)

    def intensifier(self, text: str, start: int) -> float:
        """Factor of the degree word closest before ``start`` (at most 2 characters between)."""
        pre = clause_before(text, start, self._intensifier_window + 2)
        best: tuple[int, float] | None = None
        for word, factor in self._intensifiers:
            pos = pre.rfind(word)
            if pos < 0:
                continue
            gap = len(pre) - (pos + len(word))
            if gap <= 2 and (best is None or gap < best[0]):
                best = (gap, factor)
        return best[1] if best else 1.0

    def _discounted(self, text: str, start: int) -> bool:
        d = self.discount
        if d.factor >= 1.0:
            return False
        clause = clause_before(text, start, start)
        if any(w in clause for w in d.past):
            return True
        return any(text.find(w, start) >= 0 for w in d.contrast)

    def with_prior(self, result: EmotionResult, key: str | None) -> EmotionResult:
        """``result`` or, when no keyword expressed a feeling, the prior of ``key``
        (``"emergency"`` or a request category) from [prior]."""
        if result.scores or result.critical or key is None or key not in self.prior:
            return result
        label, score = self.prior[key]
        return EmotionResult(label, round(_intensity(score), 3), (), (), result.escalation, {label: score})

    def analyze(self, text: str) -> EmotionResult:
        hits = self._resolve(self._matcher.find(text, longest_only=False))
        scores: dict[str, float] = dict.fromkeys(self.labels, 0.0)
        evidence: dict[str, list[Span]] = {label: [] for label in self.labels}
        critical: list[tuple[CriticalRule, Signal]] = []
        own_ids: set[str] = set()  # critical rules said of the caller's own life (not reported)
        escalation: list[Signal] = []
        for hit in hits:
            span = Span(hit.text, hit.start, hit.end)
            key = hit.key
            if key.kind == "critical":
                if self.denial is not None and self.denial.negated(text, hit.start):
                    continue  # 我不会想不开的 / 从没想过自杀: an explicit denial
                rule = self.critical_rules[key.index]
                if all(c.id != rule.id for c, _ in critical):
                    critical.append((rule, Signal(rule.id, rule.reason, span, rule.referrals)))
                if not self._reported(text, hit.start):
                    own_ids.add(rule.id)
                evidence[rule.label].append(span)
            elif key.kind == "escalation":
                erule = self.escalation_rules[key.index]
                if all(s.id != erule.id for s in escalation):
                    escalation.append(Signal(erule.id, erule.reason, span))
                scores[ANGER] += erule.anger
                evidence[ANGER].append(span)
            else:
                kw = self.keywords[key.index]
                label = kw.label
                factor = self.intensifier(text, hit.start)
                if self.negated(text, hit.start):
                    flipped = self._flip.get(label)
                    if flipped is None:
                        continue
                    label, factor = flipped, 1.0  # 不太满意: a softened opposite, not an intensified one
                if self._discounted(text, hit.start):
                    factor *= self.discount.factor
                scores[label] += kw.weight * factor
                evidence[label].append(span)
        for boost in self._boosts:
            if any(p.search(text) for p in boost.patterns):
                for label in boost.labels:
                    scores[label] *= boost.factor
        own = [rule for rule, _ in critical if rule.id in own_ids]
        if own:
            rule = own[0]
            label = rule.label
            intensity = max(rule.intensity, _intensity(scores[label]))
        elif critical and self.report.label is not None:
            label = self.report.label  # only about someone else: the caller is worried for them
            intensity = max(self.report.intensity, _intensity(scores[label]))
        else:
            label, intensity = self.plain_label(scores)
        return EmotionResult(
            label=label,
            intensity=round(intensity, 3),
            evidence=tuple(evidence.get(label, ())),
            critical=tuple(s for _, s in critical),
            escalation=tuple(escalation),
            scores={k: round(v, 3) for k, v in scores.items() if v > 0},
        )

    def plain_label(self, scores: dict[str, float]) -> tuple[str, float]:
        """The label and intensity of keyword ``scores`` alone (no critical rule): the neutral one when none."""
        order = {label: i for i, label in enumerate(self.labels)}
        label = max(self.labels, key=lambda lb: (scores.get(lb, 0.0), -order[lb]))
        if scores.get(label, 0.0) <= 0.0:
            return self.neutral, 0.0
        return label, _intensity(scores[label])

    def _reported(self, text: str, start: int) -> bool:
        """True when the critical phrase at ``start`` reports someone else's words or state."""
        if not self.report.patterns:
            return False
        pre = sentence_before(text, start, self.report.window)
        return any(p.search(pre) for p in self.report.patterns)

    @staticmethod
    def _resolve(hits: list[Hit[_Key]]) -> list[Hit[_Key]]:
        """Keyword hits inside any longer hit are dropped; critical/escalation
        hits only inside a longer hit of the same kind."""
        out = []
        for hit in hits:
            length = hit.end - hit.start
            if any(
                o is not hit and o.start <= hit.start and hit.end <= o.end and (o.end - o.start) > length
                and (hit.key.kind == "keyword" or o.key.kind == hit.key.kind)
                for o in hits
            ):
                continue
            out.append(hit)
        return out


def _intensity(score: float) -> float:
    return 1.0 - math.exp(-max(score, 0.0))
