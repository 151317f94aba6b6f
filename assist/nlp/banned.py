"""Banned phrases on the agent's channel (``data/banned.toml``) with compliant wording."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assist.nlp.data import DEFAULT_DATA_DIR, DataError, load_toml
from assist.nlp.matcher import Entry, PhraseMatcher
from assist.nlp.timelimits import fill, time_limits
from assist.protocol.events import Span

# {deadline} and {return_visit} of a suggestion: empathy.toml's time limits (assist.nlp.timelimits)
UNKNOWN_DEPARTMENT = "相关"  # default of banned.toml's unknown_department: 此事由相关部门主办
CRISIS_SUGGESTION = "请您先不要挂电话,我一直在这里,我马上为您转接{number}。"  # banned.toml crisis_suggestion


PROMISE_KINDS = frozenset({"模糊承诺", "绝对承诺"})  # the classes a standard time commitment answers
TONE_KINDS = frozenset({"指责顶撞", "情绪命令", "禁用语"})  # the classes an empathy line (情绪承接) answers

@dataclass(frozen=True, slots=True)
class BannedRule:
    id: str
    category: str
    suggestion: str
    secondary: bool = False  # reported only where no earlier rule already covers the phrase
    crisis_only: bool = False  # a lapse only in a crisis (您先挂了马上打110: a caller in danger is transferred)
    not_told: bool = False  # a number said in its words is neither told nor transferred (``sent_away``)
    # words right after the phrase that make it compliant (我也不晓得…帮你记下来派给人社: an honest limit, an action)
    unless_after: tuple[re.Pattern[str], ...] = ()
    # words in the sentence before it that make it someone else's (按照规定,承办单位应该…: a rule's hedge)
    unless_before: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True, slots=True)
class BannedHit:
    """One banned phrase said by the agent."""

    rule: str
    category: str
    span: Span
    suggestion: str
    fuzzy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "span": self.span.text, "suggestion": self.suggestion,
                "category": self.category, "start": self.span.start, "end": self.span.end, "fuzzy": self.fuzzy}


class BannedList:
    """Compiled banned-phrase rules; ``find`` reports each rule at most once per span."""

    def __init__(
        self,
        rules: list[tuple[BannedRule, Entry[int]]],
        *,
        skip_quoted: bool = True,
        reported: Sequence[re.Pattern[str]] = (),
        unknown_department: str = UNKNOWN_DEPARTMENT,
        crisis_suggestion: str = CRISIS_SUGGESTION,
        learned: dict[str, str] | None = None,
        compliant: Sequence[re.Pattern[str]] = (),
        deescalation: Sequence[re.Pattern[str]] = (),
        deescalation_categories: Sequence[str] = (),
        crisis_calming: Sequence[re.Pattern[str]] = (),
        negated: Sequence[re.Pattern[str]] = (),
        negated_categories: Sequence[str] = (),
        standard: Sequence[re.Pattern[str]] = (),
        learned_cues: dict[str, tuple[re.Pattern[str], ...]] | None = None,
        learned_excused: dict[str, tuple[re.Pattern[str], ...]] | None = None,
    ) -> None:
        self.rules = tuple(r for r, _ in rules)
        self.skip_quoted = skip_quoted
        self.reported = tuple(reported)
        self.unknown_department = unknown_department
        self.crisis_suggestion = crisis_suggestion
        self.learned = learned or {}
        self.compliant = tuple(compliant)  # promises the learned model must not flag: a time limit, or declined
        self.deescalation = tuple(deescalation)  # 请您冷静…不要冲动: the protocol when the caller threatens harm
        self.deescalation_categories = frozenset(deescalation_categories)  # the rules' categories it may cover
        self.crisis_calming = tuple(crisis_calming)  # 您先别慌 to a caller in danger: in a crisis, no 情绪命令
        self.negated = tuple(negated)  # 我不能向您保证… / 我没法替部门打包票: a promise declined
        self.negated_categories = frozenset(negated_categories)
        self.standard = tuple(standard)  # standard wording and filler: never a learned warning (还有其他问题吗)
        self.learned_cues = learned_cues or {}  # a class's words, one of which a learned warning of it needs
        # ... unless what follows each of them at once makes it compliant (不知道 + 我马上给您联系街道: an action)
        self.learned_excused = learned_excused or {}
        # the words of the rules marked not_told (您先挂了马上打110: the caller sent to dial alone): a number said in
        # them is neither told nor the transfer (``assist.nlp.referral.told``: the live pin and the report)
        self.sent_away = tuple(p for r, e in rules if r.not_told for p in e.patterns)
        self._matcher: PhraseMatcher[int] = PhraseMatcher([e for _, e in rules])

    @classmethod
    def beside(cls, path: Path) -> BannedList:
        """The banned.toml in the directory of ``path`` (a centre's data directory, beside its referrals.toml), else
        the shipped one: the rules a referral table and the training report read next to their own files."""
        own = path.parent / "banned.toml"
        return cls.load(own if own.exists() else DEFAULT_DATA_DIR / "banned.toml")

    @classmethod
    def load(cls, path: Path) -> BannedList:
        doc = load_toml(path)
        doc.check_keys({"define", "rule", "skip_quoted", "reported", "unknown_department", "crisis_suggestion",
                        "learned", "compliant", "deescalation", "deescalation_categories", "crisis_calming", "negated",
                        "negated_categories", "standard", "learned_cues", "learned_excused"})
        defines = doc.defines()
        limits = time_limits(path)
        rules: list[tuple[BannedRule, Entry[int]]] = []
        seen: set[str] = set()
        for i, entry in enumerate(doc.tables("rule")):
            entry.check_keys({"id", "category", "suggestion", "words", "patterns", "not_in", "fuzzy", "secondary",
                              "crisis_only", "not_told", "unless_after", "unless_before"})
            rule = BannedRule(entry.text("id"), entry.text("category"), fill(entry.text("suggestion"), limits),
                              entry.boolean("secondary", False), entry.boolean("crisis_only", False),
                              entry.boolean("not_told", False), entry.regex_list("unless_after", defines),
                              entry.regex_list("unless_before", defines))
            if rule.id in seen:
                raise entry.error(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            words, patterns = entry.texts("words"), entry.regex_list("patterns", defines)
            if not words and not patterns:
                raise entry.error("needs 'words' or 'patterns'")
            if rule.not_told and words:
                raise entry.error("'not_told' takes 'patterns' only (the words around a number)")
            try:
                rule.suggestion.format(department="")
            except (KeyError, IndexError, ValueError) as exc:
                raise entry.error(f"'suggestion' may only use {{department}}, {{deadline}}, {{return_visit}}: "
                                  f"{exc}") from exc
            rules.append((rule, Entry(i, words, patterns, entry.texts("not_in"), entry.boolean("fuzzy", True))))
        unknown = doc.text("unknown_department", UNKNOWN_DEPARTMENT, required=False)
        crisis = doc.text("crisis_suggestion", CRISIS_SUGGESTION, required=False)
        try:
            crisis.format(number="")
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(path, "crisis_suggestion", f"may only use {{number}}: {exc}") from exc
        reported = doc.regex_list("reported", defines)
        table = doc.table("learned", required=False)
        learned = {kind: fill(table.text(kind), limits) for kind in table.raw}
        for kind, wording in learned.items():
            try:
                wording.format(department="")
            except (KeyError, IndexError, ValueError) as exc:
                raise table.error(f"{kind!r} may only use {{department}}: {exc}") from exc
        cue_table = doc.table("learned_cues", required=False)
        excused_table = doc.table("learned_excused", required=False)
        if unknown_kinds := set(excused_table.raw) - set(cue_table.raw):
            raise excused_table.error(f"no [learned_cues] for {sorted(unknown_kinds)}: an excuse follows a cue")
        return cls(rules, skip_quoted=doc.boolean("skip_quoted", True), reported=reported,
                   unknown_department=unknown, crisis_suggestion=crisis, learned=learned,
                   compliant=doc.regex_list("compliant", defines),
                   deescalation=doc.regex_list("deescalation", defines),
                   deescalation_categories=doc.texts("deescalation_categories"),
                   crisis_calming=doc.regex_list("crisis_calming", defines),
                   negated=doc.regex_list("negated", defines), negated_categories=doc.texts("negated_categories"),
                   standard=doc.regex_list("standard", defines),
                   learned_cues={kind: cue_table.regex_list(kind, defines) for kind in cue_table.raw},
                   learned_excused={kind: excused_table.regex_list(kind, defines) for kind in excused_table.raw})

    def learned_hit(self, text: str, kind: str | None, *, department: str | None = None,
                    crisis: tuple[str, ...] | None = None, threat: bool = False) -> BannedHit | None:
        """The warning for an operator utterance the learned model reads as banned wording of ``kind``:
        the whole utterance (the model does not locate the phrase), unless all of it is reported speech
        or the model reads a promise (``PROMISE_KINDS``) and it states one of the centre's standard
        commitments (``compliant``: a concrete time limit).  Another class is warned as read:
        三个工作日内给您回复,你们这种人就是事多 is still scolding."""
        if not text.strip() or any(s == 0 and e >= len(text.rstrip(".!?")) for s, e in self._reported(text)):
            return None
        if any(p.search(text) for p in self.standard):
            return None  # 好的还有其他问题吗 / 这个情况我了解了 / 嗯那个呃就是这样子啊: standard wording or filler
        cues = self.learned_cues.get(kind or "")
        excused = self.learned_excused.get(kind or "", ())
        if cues and all(any(e.match(text, m.end()) for e in excused) for p in cues for m in p.finditer(text)):
            # 推诿 read in 好的 无房职工租房是可以提取公积金的: no word of sending the caller away; 推脱不知 read in
            # 俺这边不知道那个公告贴没贴 俺马上给您联系街道: each word of it followed by an action (blind v22)
            return None
        if kind in PROMISE_KINDS and any(p.search(text) for p in self.compliant):
            return None  # a promise read as vague or absolute, but it states a standard time limit or declines one
        if threat and self._deescalating(text):
            return None  # 请您冷静一下千万不要冲动 to a caller threatening harm: the protocol, not a lapse
        fallback = self.learned.get("default", "我非常理解您的心情,我立即为您转办并跟踪进度。")
        wording = self.learned.get(kind or "", fallback)
        return BannedHit(rule="learned", category=kind or "禁用语", span=Span(text, 0, len(text)),
                         suggestion=self._suggestion(wording, department, crisis))

    def find(
        self, text: str, *, department: str | None = None, crisis: tuple[str, ...] | None = None,
        threat: bool = False,
    ) -> list[BannedHit]:
        """Banned phrases in the agent's (normalised) ``text``, in order of position.

        ``crisis``: the crisis numbers of the call when a critical signal fired (may be empty);
        then every alternative is the crisis one (keep the caller on the line, transfer), not the
        routine wording (这个问题我帮您查询确认后给您回复 does not fit a caller in danger).
        ``threat``: the caller threatened to hurt someone; then a hit of ``deescalation_categories``
        (情绪命令) inside ``deescalation`` wording (请您冷静一下, 千万不要冲动) is the protocol, not a lapse;
        so is one inside ``crisis_calming`` wording (您先别慌) in any crisis (``crisis`` is not None)."""
        out: list[BannedHit] = []
        calm = [m.span() for p in self.deescalation for m in p.finditer(text)] if threat else []
        if crisis is not None:  # a critical signal fired: reassuring the caller (您先别慌) is the rescue's
            calm += [m.span() for p in self.crisis_calming for m in p.finditer(text)]
        seen: set[tuple[int, int, int]] = set()
        quoted = self._reported(text)
        for hit in self._matcher.find(text, longest_only=False):
            if any(s <= hit.start and hit.end <= e for s, e in quoted):
                continue  # reported speech: 您是说工作人员回了您一句"哦"
            marker = (hit.key, hit.start, hit.end)
            if marker in seen:
                continue
            seen.add(marker)
            rule = self.rules[hit.key]
            if rule.crisis_only and crisis is None:
                continue
            if any(p.match(text, hit.end) for p in rule.unless_after):
                continue  # an honest limit followed by an action: 我也说不准,我把您的问题提交给税务部门
            if rule.unless_before and any(  # the sentence before the hit, ⟨, the hit (banned.toml define RULE)
                    p.search(f"{re.split(r'[.!?;]', text[:hit.start])[-1]}⟨{text[hit.start:hit.end]}")
                    for p in rule.unless_before):
                continue  # a rule's or a unit's hedge: 按照规定,承办单位应该在五个工作日内答复您
            if rule.category in self.deescalation_categories and any(s <= hit.start and hit.end <= e for s, e in calm):
                continue
            if rule.category in self.negated_categories and self._declined(text, hit.start):
                continue
            overlap = next((i for i, h in enumerate(out)
                            if h.rule == rule.id and h.span.start < hit.end and hit.start < h.span.end), None)
            if overlap is not None:  # one phrase matched by several triggers: report the union once
                old = out[overlap]
                start, end = min(old.span.start, hit.start), max(old.span.end, hit.end)
                out[overlap] = BannedHit(old.rule, old.category, Span(text[start:end], start, end), old.suggestion,
                                         old.fuzzy and hit.fuzzy)
                continue
            out.append(BannedHit(
                rule=rule.id,
                category=rule.category,
                span=Span(hit.text, hit.start, hit.end),
                suggestion=self._suggestion(rule.suggestion, department, crisis),
                fuzzy=hit.fuzzy,
            ))
        return self._one_rule_per_phrase(out)

    def _one_rule_per_phrase(self, hits: list[BannedHit]) -> list[BannedHit]:
        """A ``secondary`` rule's hit is dropped where an earlier-listed rule covers the same phrase."""
        if len(hits) < 2:
            return hits
        order = {r.id: i for i, r in enumerate(self.rules)}
        secondary = {r.id for r in self.rules if r.secondary}
        kept: list[BannedHit] = []
        for h in sorted(hits, key=lambda h: order[h.rule]):
            if h.rule not in secondary or all(
                    k.rule == h.rule or h.span.end <= k.span.start or k.span.end <= h.span.start for k in kept):
                kept.append(h)
        return sorted(kept, key=lambda h: (h.span.start, order[h.rule]))

    def _declined(self, text: str, start: int) -> bool:
        """The clause before ``start`` ends by declining the promise (我不能向您保证, 我没法替部门)."""
        before = re.split(r"[,.!?;]", text[:start])[-1]
        return any(p.search(before) for p in self.negated)

    def _deescalating(self, text: str) -> bool:
        return any(p.search(text) for p in self.deescalation)

    def _reported(self, text: str) -> list[tuple[int, int]]:
        """Ranges of reported speech in ``text``: quoted, or the operator repeating the caller's words."""
        quoted = _quoted(text) if self.skip_quoted else []
        return quoted + [m.span() for p in self.reported for m in p.finditer(text)]

    def _suggestion(self, wording: str, department: str | None, crisis: tuple[str, ...] | None) -> str:
        if crisis is not None:
            return self.crisis_suggestion.format(number="/".join(crisis) if crisis else "110")
        return wording.format(department=department or self.unknown_department)


def _quoted(text: str) -> list[tuple[int, int]]:
    """Ranges between pairs of double quotes (normalised text has ASCII quotes)."""
    marks = [i for i, ch in enumerate(text) if ch == '"']
    return [(marks[i], marks[i + 1] + 1) for i in range(0, len(marks) - 1, 2)]
