"""Evaluation of the NLP analyzer against labelled data (see docs/nlp-evaluation.md).

Data sets (JSONL, one object per line):

- caller utterances ``{"id", "text", "intent", "emotion", "department", "referrals", "critical"}``
- agent utterances ``{"id", "text", "violation", "spans", "kind"}``
- knowledge-base paraphrases ``{"text", "kb_id" (null = no answer expected), "split"}``

``evaluate`` runs an analyzer over them, once on the typed text and once on a
recognizer-style rendering (``assist.nlp.asrstyle``), and returns the figures;
``check_targets`` compares them with the issue's targets.  ``bench/nlp_eval.py`` prints them.
"""

from __future__ import annotations

import json
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assist.protocol.enums import Category, Emotion, Role

INTENTS: tuple[str, ...] = tuple(Category)
EMOTIONS: tuple[str, ...] = tuple(Emotion)
NONE_LABEL = "∅"  # shown when the analyzer returns no label

HELD_OUT = "held-out"  # knowledge paraphrases of every split but "dev"
TYPED = "typed"
ASR = "recognizer"


class DatasetError(ValueError):
    """A labelled data file is malformed; the message names the file and line."""


# ---------------------------------------------------------------- data sets


@dataclass(frozen=True, slots=True)
class CallerCase:
    id: str
    text: str
    intent: str
    emotion: str
    department: str | None
    referrals: tuple[str, ...]
    critical: bool


@dataclass(frozen=True, slots=True)
class AgentCase:
    id: str
    text: str
    violation: bool
    spans: tuple[str, ...]
    kind: str | None


@dataclass(frozen=True, slots=True)
class KbCase:
    id: str
    text: str
    kb_id: str | None
    split: str


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{path}:{lineno}: expected a JSON object")
        rows.append((lineno, obj))
    return rows


def _field(path: Path, lineno: int, obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise DatasetError(f"{path}:{lineno}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise DatasetError(f"{path}:{lineno}: field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _text(path: Path, lineno: int, obj: Mapping[str, Any]) -> str:
    text: str = _field(path, lineno, obj, "text", str)
    if not text.strip():
        raise DatasetError(f"{path}:{lineno}: empty text")
    return text


def load_caller_cases(path: Path) -> list[CallerCase]:
    """Read and validate the labelled caller utterances."""
    cases: list[CallerCase] = []
    for lineno, obj in _read_jsonl(path):
        # "category" is the label's name in the blind sets (tests/data/nlp_eval/blind_v2), "intent" in the older sets
        intent = _field(path, lineno, obj, "intent" if "intent" in obj else "category", str)
        emotion = _field(path, lineno, obj, "emotion", str)
        if intent not in INTENTS:
            raise DatasetError(f"{path}:{lineno}: unknown intent {intent!r}")
        if emotion not in EMOTIONS:
            raise DatasetError(f"{path}:{lineno}: unknown emotion {emotion!r}")
        referrals = [str(n) if isinstance(n, int) else n for n in _field(path, lineno, obj, "referrals", list)]
        if not all(isinstance(n, str) and n.isdigit() for n in referrals):
            raise DatasetError(f"{path}:{lineno}: referrals must be a list of number strings")
        cases.append(
            CallerCase(
                id=_field(path, lineno, obj, "id", str),
                text=_text(path, lineno, obj),
                intent=intent,
                emotion=emotion,
                department=_field(path, lineno, obj, "department", (str, type(None))),
                referrals=tuple(referrals),
                critical=_field(path, lineno, obj, "critical", bool),
            )
        )
    return cases


def load_agent_cases(path: Path) -> list[AgentCase]:
    """Read and validate the labelled operator utterances (spans must occur in the text)."""
    cases: list[AgentCase] = []
    for lineno, obj in _read_jsonl(path):
        text = _text(path, lineno, obj)
        violation = _field(path, lineno, obj, "violation", bool)
        spans = _field(path, lineno, obj, "spans", list)
        if not all(isinstance(s, str) and s and s in text for s in spans):
            raise DatasetError(f"{path}:{lineno}: every span must be a non-empty substring of the text")
        if violation != bool(spans):
            raise DatasetError(f"{path}:{lineno}: a violation needs spans and only a violation has them")
        cases.append(
            AgentCase(
                id=_field(path, lineno, obj, "id", str),
                text=text,
                violation=violation,
                spans=tuple(spans),
                kind=_field(path, lineno, obj, "kind", (str, type(None))),
            )
        )
    return cases


def load_kb_cases(path: Path) -> list[KbCase]:
    """Read the knowledge-base paraphrases (``kb_id`` null: the knowledge base must stay silent)."""
    cases: list[KbCase] = []
    for lineno, obj in _read_jsonl(path):
        split = obj.get("split", "all")
        if not isinstance(split, str):
            raise DatasetError(f"{path}:{lineno}: field 'split' must be a string")
        cases.append(
            KbCase(
                id=str(obj.get("id", f"L{lineno}")),
                text=_text(path, lineno, obj),
                kb_id=_field(path, lineno, obj, "kb_id", (str, type(None))),
                split=split,
            )
        )
    return cases


# ---------------------------------------------------------------- analyzer interface


class AnalysisLike(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class AnalyzerLike(Protocol):
    def analyze(self, role: Role, text: str) -> AnalysisLike: ...


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class LabelStats:
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.support if self.support else None


@dataclass(frozen=True, slots=True)
class Classification:
    """Accuracy, per-label precision/recall and the most frequent confusions."""

    n: int
    correct: int
    labels: dict[str, LabelStats]
    confusions: list[tuple[str, str, int]]

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def classify(pairs: Sequence[tuple[str, str | None]], labels: Sequence[str]) -> Classification:
    """Score (gold, predicted) pairs; a missing prediction counts as wrong."""
    gold_count = Counter(g for g, _ in pairs)
    pred_count = Counter(p for _, p in pairs if p is not None)
    hit_count = Counter(g for g, p in pairs if g == p)
    confusions = Counter((g, p if p is not None else NONE_LABEL) for g, p in pairs if g != p)
    stats = {
        label: LabelStats(gold_count[label], pred_count[label], hit_count[label])
        for label in [*labels, *sorted(set(pred_count) - set(labels))]
    }
    ranked = sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))
    return Classification(
        n=len(pairs),
        correct=sum(hit_count.values()),
        labels=stats,
        confusions=[(g, p, c) for (g, p), c in ranked],
    )


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One disagreement between the labels and the analyzer, for ``--errors``."""

    condition: str
    dataset: str
    id: str
    field: str
    gold: str
    predicted: str
    text: str


@dataclass(frozen=True, slots=True)
class CallerReport:
    intent: Classification
    emotion: Classification
    department_correct: int
    department_n: int
    referral_found: int  # labelled numbers that were suggested
    referral_labelled: int
    referral_items_ok: int  # items with every labelled number suggested
    referral_items: int
    referral_suggested: int  # all suggested numbers
    referral_suggested_labelled: int  # suggested numbers that were labelled
    critical_found: int
    critical_labelled: int
    critical_flagged: int  # crisis card or safety question
    card_found: int  # critical callers given the crisis card itself
    card_flagged: int
    caller_banned: int  # caller utterances with banned-phrase hits (must be 0: banned is agent-only)

    @property
    def department_accuracy(self) -> float | None:
        return ratio(self.department_correct, self.department_n)

    @property
    def referral_recall(self) -> float | None:
        return ratio(self.referral_found, self.referral_labelled)

    @property
    def referral_precision(self) -> float | None:
        return ratio(self.referral_suggested_labelled, self.referral_suggested)

    @property
    def critical_recall(self) -> float | None:
        return ratio(self.critical_found, self.critical_labelled)

    @property
    def critical_precision(self) -> float | None:
        return ratio(self.critical_found, self.critical_flagged)

    @property
    def card_recall(self) -> float | None:
        return ratio(self.card_found, self.critical_labelled)

    @property
    def card_precision(self) -> float | None:
        return ratio(self.card_found, self.card_flagged)


@dataclass(frozen=True, slots=True)
class AgentReport:
    tp: int
    fp: int
    fn: int
    tn: int
    span_hits: int  # banned hits reported by the analyzer
    span_hits_ok: int  # of which overlap a labelled span
    span_found: int  # violating utterances where a hit overlaps a labelled span
    by_kind: dict[str, tuple[int, int]]  # kind -> (flagged, labelled)

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def span_precision(self) -> float | None:
        return ratio(self.span_hits_ok, self.span_hits)

    @property
    def span_recall(self) -> float | None:
        return ratio(self.span_found, self.tp + self.fn)


@dataclass(frozen=True, slots=True)
class KbReport:
    by_split: dict[str, tuple[int, int]]  # split -> (correct, n); "all" included
    positives: tuple[int, int]
    negatives: tuple[int, int]
    target_split: str

    @property
    def top1(self) -> float | None:
        """Top-1 on the target split: ``held-out`` (all splits but ``dev``) when there is a dev split."""
        return self.top1_of(self.target_split)

    def top1_of(self, split: str) -> float | None:
        correct, n = self.by_split.get(split, (0, 0))
        return ratio(correct, n)


@dataclass(frozen=True, slots=True)
class ConditionReport:
    caller: CallerReport
    agent: AgentReport
    kb: KbReport | None
    errors: list[ErrorItem]


@dataclass(frozen=True, slots=True)
class Timing:
    n: int
    median_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class Report:
    conditions: dict[str, ConditionReport]
    timing: Timing
    sizes: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- span matching


def canon(text: str) -> str:
    """Comparison form: lower case, no whitespace, punctuation or symbols."""
    return "".join(ch for ch in text.lower() if unicodedata.category(ch)[0] not in "PSZC")


def _regions(haystack: str, needle: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    if not needle:
        return out
    start = haystack.find(needle)
    while start != -1:
        out.append((start, start + len(needle)))
        start = haystack.find(needle, start + 1)
    return out


def _overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def span_matches(text: str, labelled: Sequence[str], hit: str) -> bool:
    """True when ``hit`` overlaps one of the ``labelled`` spans inside ``text`` (all compared canonically).

    A hit that cannot be located (the analyzer may report a normalised form) counts when it
    contains, or is contained in, a labelled span.
    """
    body, h = canon(text), canon(hit)
    hit_regions = _regions(body, h)
    gold = [canon(s) for s in labelled]
    if not hit_regions:
        return bool(h) and any(h in g or g in h for g in gold if g)
    return any(_overlaps(hit_regions, _regions(body, g)) for g in gold)


# ---------------------------------------------------------------- running


class _Runner:
    """Calls the analyzer and records the time of each ``analyze`` call."""

    def __init__(self, analyzer: AnalyzerLike, learned: bool = False) -> None:
        self.analyzer = analyzer
        self.learned = learned
        self.times_ns: list[int] = []

    def __call__(self, role: str, text: str) -> dict[str, Any]:
        start = time.perf_counter_ns()
        role_ = Role(role)
        final = getattr(self.analyzer, "analyze_final", None)  # rules + learned models, as on a final
        analysis = final(role_, text) if final is not None and self.learned else self.analyzer.analyze(role_, text)
        self.times_ns.append(time.perf_counter_ns() - start)
        out = analysis.to_dict()
        if "critical" not in out:
            out["critical"] = bool(getattr(analysis, "critical", False))
        return out


def _emotion_label(out: Mapping[str, Any]) -> str | None:
    emotion = out.get("emotion")
    if isinstance(emotion, Mapping):
        label = emotion.get("label")
        return label if isinstance(label, str) else None
    return None


def _numbers(out: Mapping[str, Any]) -> set[str]:
    return {str(r.get("number")) for r in out.get("referrals") or [] if isinstance(r, Mapping)}


def _hit_spans(out: Mapping[str, Any]) -> list[str]:
    return [str(b.get("span", "")) for b in out.get("banned") or [] if isinstance(b, Mapping)]


def _run_caller(
    run: _Runner, cases: Sequence[CallerCase], render: Callable[[str], str], cond: str
) -> tuple[CallerReport, list[ErrorItem]]:
    errors: list[ErrorItem] = []
    intents: list[tuple[str, str | None]] = []
    emotions: list[tuple[str, str | None]] = []
    dep_ok = dep_n = ref_found = ref_lab = items_ok = items = sugg = sugg_ok = 0
    crit_found = crit_lab = crit_flag = card_found = card_flag = banned = 0
    for case in cases:
        text = render(case.text)
        out = run("caller", text)

        def err(fieldname: str, gold: str, pred: str, case: CallerCase = case, text: str = text) -> None:
            errors.append(ErrorItem(cond, "caller", case.id, fieldname, gold, pred, text))

        intent, emotion = out.get("intent"), _emotion_label(out)
        intents.append((case.intent, intent if isinstance(intent, str) else None))
        emotions.append((case.emotion, emotion))
        if intent != case.intent:
            err("intent", case.intent, str(intent or NONE_LABEL))
        if emotion != case.emotion:
            err("emotion", case.emotion, emotion or NONE_LABEL)
        if case.department is not None:
            dep_n += 1
            if out.get("department") == case.department:
                dep_ok += 1
            else:
                err("department", case.department, str(out.get("department") or NONE_LABEL))
        numbers = _numbers(out)
        missing = [n for n in case.referrals if n not in numbers]
        ref_lab += len(case.referrals)
        ref_found += len(case.referrals) - len(missing)
        if case.referrals:
            items += 1
            items_ok += not missing
        if missing:
            err("referrals", " ".join(case.referrals), " ".join(sorted(numbers)) or NONE_LABEL)
        sugg += len(numbers)
        sugg_ok += len(numbers & set(case.referrals))
        card = bool(out.get("critical"))
        flagged = card or bool(out.get("safety_question"))  # both tiers put the caller in front of the operator
        crit_flag += flagged
        card_flag += card
        if case.critical:
            crit_lab += 1
            crit_found += flagged
            card_found += card
        if flagged != case.critical:
            err("critical", str(case.critical), str(flagged))
        if _hit_spans(out):
            banned += 1
            err("banned(caller)", "none", " | ".join(_hit_spans(out)))
    report = CallerReport(
        intent=classify(intents, INTENTS),
        emotion=classify(emotions, EMOTIONS),
        department_correct=dep_ok,
        department_n=dep_n,
        referral_found=ref_found,
        referral_labelled=ref_lab,
        referral_items_ok=items_ok,
        referral_items=items,
        referral_suggested=sugg,
        referral_suggested_labelled=sugg_ok,
        critical_found=crit_found,
        critical_labelled=crit_lab,
        critical_flagged=crit_flag,
        card_found=card_found,
        card_flagged=card_flag,
        caller_banned=banned,
    )
    return report, errors


def _run_agent(
    run: _Runner, cases: Sequence[AgentCase], render: Callable[[str], str], cond: str
) -> tuple[AgentReport, list[ErrorItem]]:
    errors: list[ErrorItem] = []
    tp = fp = fn = tn = hits = hits_ok = found = 0
    kinds: dict[str, list[int]] = {}
    for case in cases:
        text = render(case.text)
        spans = [render(s) for s in case.spans]
        hit_spans = _hit_spans(run("agent", text))
        flagged = bool(hit_spans)
        matched = [span_matches(text, spans, h) for h in hit_spans]
        hits += len(hit_spans)
        hits_ok += sum(matched)
        if case.violation:
            kind = kinds.setdefault(case.kind or "?", [0, 0])
            kind[1] += 1
            kind[0] += flagged
            tp += flagged
            fn += not flagged
            found += any(matched)
        else:
            fp += flagged
            tn += not flagged
        if flagged != case.violation or (case.violation and not any(matched)):
            gold = " | ".join(case.spans) if case.violation else "none"
            errors.append(
                ErrorItem(cond, "agent", case.id, "banned", gold, " | ".join(hit_spans) or "none", text)
            )
        elif any(not m for m in matched):
            bad = " | ".join(h for h, m in zip(hit_spans, matched, strict=True) if not m)
            errors.append(ErrorItem(cond, "agent", case.id, "banned-span", " | ".join(case.spans), bad, text))
    report = AgentReport(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        span_hits=hits,
        span_hits_ok=hits_ok,
        span_found=found,
        by_kind={k: (v[0], v[1]) for k, v in sorted(kinds.items())},
    )
    return report, errors


def _run_kb(
    run: _Runner, cases: Sequence[KbCase], render: Callable[[str], str], cond: str
) -> tuple[KbReport, list[ErrorItem]]:
    errors: list[ErrorItem] = []
    by_split: dict[str, list[int]] = {"all": [0, 0]}
    pos = [0, 0]
    neg = [0, 0]
    for case in cases:
        text = render(case.text)
        knowledge = run("caller", text).get("knowledge") or []
        top = str(knowledge[0].get("id")) if knowledge and isinstance(knowledge[0], Mapping) else None
        ok = top == case.kb_id
        for key in {"all", case.split}:
            bucket = by_split.setdefault(key, [0, 0])
            bucket[0] += ok
            bucket[1] += 1
        bucket = pos if case.kb_id is not None else neg
        bucket[0] += ok
        bucket[1] += 1
        if not ok:
            errors.append(ErrorItem(cond, "kb", case.id, "knowledge", str(case.kb_id), str(top), text))
    # The target counts only paraphrases not used for tuning: every split except "dev".
    if "dev" in by_split and len(by_split) > 2:
        held = [v for k, v in by_split.items() if k not in ("all", "dev")]
        by_split[HELD_OUT] = [sum(v[0] for v in held), sum(v[1] for v in held)]
        target = HELD_OUT
    else:
        target = "all"
    report = KbReport(
        by_split={k: (v[0], v[1]) for k, v in sorted(by_split.items())},
        positives=(pos[0], pos[1]),
        negatives=(neg[0], neg[1]),
        target_split=target,
    )
    return report, errors


def evaluate(
    analyzer: AnalyzerLike,
    caller: Sequence[CallerCase],
    agent: Sequence[AgentCase],
    kb: Sequence[KbCase] | None,
    renderers: Mapping[str, Callable[[str], str]],
    warmup: int = 20,
    *,
    learned: bool = False,
) -> Report:
    """Run every data set under each named text rendering (e.g. typed and recognizer-style).
    ``learned``: caller utterances go through ``analyze_final`` (rules + learned models), as finals do."""
    run = _Runner(analyzer, learned)
    for render in renderers.values():  # warm-up: lazy loading and caches are not timed
        for caller_case in list(caller)[:warmup]:
            run("caller", render(caller_case.text))
        for agent_case in list(agent)[:warmup]:
            run("agent", render(agent_case.text))
        for kb_case in list(kb or [])[:warmup]:
            run("caller", render(kb_case.text))
    run.times_ns.clear()
    conditions: dict[str, ConditionReport] = {}
    for cond, render in renderers.items():
        caller_report, caller_errors = _run_caller(run, caller, render, cond)
        agent_report, agent_errors = _run_agent(run, agent, render, cond)
        kb_report, kb_errors = _run_kb(run, kb, render, cond) if kb else (None, [])
        conditions[cond] = ConditionReport(
            caller_report, agent_report, kb_report, [*caller_errors, *agent_errors, *kb_errors]
        )
    times = sorted(t / 1e6 for t in run.times_ns)
    timing = Timing(
        n=len(times),
        median_ms=statistics.median(times) if times else 0.0,
        p99_ms=times[min(len(times) - 1, int(0.99 * len(times)))] if times else 0.0,
        max_ms=times[-1] if times else 0.0,
    )
    sizes = {"caller": len(caller), "agent": len(agent), "kb": len(kb or [])}
    return Report(conditions=conditions, timing=timing, sizes=sizes)


# ---------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    condition: str
    value: float | None
    threshold: float
    passed: bool
    rule: str


# (name, absolute threshold, getter)
ACCURACY_TARGETS: tuple[tuple[str, float, Callable[[ConditionReport], float | None]], ...] = (
    ("category accuracy", 0.90, lambda c: c.caller.intent.accuracy),
    ("emotion accuracy", 0.85, lambda c: c.caller.emotion.accuracy),
    ("banned precision", 0.95, lambda c: c.agent.precision),
    ("banned recall", 0.95, lambda c: c.agent.recall),
    ("referral recall", 0.95, lambda c: c.caller.referral_recall),
    ("knowledge top-1", 0.85, lambda c: c.kb.top1 if c.kb else None),
)
MAX_ASR_DROP = 0.05
SPEED_MEDIAN_MS = 2.0
SPEED_P99_MS = 10.0


def check_targets(report: Report, base: str = TYPED, speed: bool = True) -> list[Target]:
    """Targets of the issue: absolute on ``base``; every other condition within 5 points of ``base``."""
    out: list[Target] = []
    base_report = report.conditions[base]
    for name, threshold, get in ACCURACY_TARGETS:
        base_value = get(base_report)
        if base_value is None:  # e.g. no knowledge-base paraphrases given
            continue
        out.append(Target(name, base, base_value, threshold, base_value >= threshold, f">= {threshold:.0%}"))
        for cond, cond_report in report.conditions.items():
            if cond == base:
                continue
            value = get(cond_report)
            floor = base_value - MAX_ASR_DROP
            passed = value is not None and value >= floor - 1e-9
            out.append(Target(name, cond, value, floor, passed, f">= {base} - {MAX_ASR_DROP * 100:.0f} pts"))
    if speed:
        t = report.timing
        out.append(Target("median ms/utterance", "all", t.median_ms, SPEED_MEDIAN_MS,
                          t.median_ms <= SPEED_MEDIAN_MS, f"<= {SPEED_MEDIAN_MS} ms"))
        out.append(Target("p99 ms/utterance", "all", t.p99_ms, SPEED_P99_MS,
                          t.p99_ms <= SPEED_P99_MS, f"<= {SPEED_P99_MS} ms"))
    return out
