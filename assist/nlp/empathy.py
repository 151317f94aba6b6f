"""Three-step empathy scripts (情绪承接 → 责任表态 → 行动承诺) from ``data/empathy.toml``.

Numbers in a script are filled by what they are for, each named with its own wording from
``referrals.toml``: ``{referral}``/``{referral_name}`` an emergency number of the call (the first
urgent one offered, else ``[defaults] emergency``), ``{support}``/``{support_name}`` the
psychological support line (``[defaults] support``, 12356) — never 110 as a 心理援助热线.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import Table, load_toml
from assist.nlp.emotion import EMOTION_LABELS
from assist.nlp.intent import CATEGORIES
from assist.nlp.referral import ReferralTable

STEPS: tuple[str, ...] = ("step1", "step2", "step3")
PLACEHOLDERS = frozenset({"department", "deadline", "return_visit", "referral", "referral_name", "support",
                          "support_name"})


@dataclass(frozen=True, slots=True)
class Script:
    text: str
    emotions: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    department: bool | None = None
    critical: bool | None = None
    kinds: tuple[str, ...] = ()  # the call's kind of danger is one of these (referrals.toml [crisis_kinds])
    urgent: bool | None = None  # a matter to handle at once (急办)

    def applies(self, emotion: str, intent: str | None, department: str | None, critical: bool,
                kind: str | None = None, urgent: bool = False) -> bool:
        return (
            (not self.emotions or emotion in self.emotions)
            and (self.urgent is None or self.urgent == urgent)
            and (not self.kinds or kind in self.kinds)
            and (not self.intents or intent in self.intents)
            and (self.department is None or self.department == (department is not None))
            and (self.critical is None or self.critical == critical)
        )


def _script(entry: Table) -> Script:
    entry.check_keys({"text", "emotion", "intent", "department", "critical", "kind", "urgent"})
    text = entry.text("text")
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    unknown = names - PLACEHOLDERS
    if unknown:
        raise entry.error(f"unknown placeholder(s) {', '.join(sorted(unknown))}; "
                          f"allowed: {', '.join(sorted(PLACEHOLDERS))}")
    return Script(
        text=text,
        emotions=entry.choices("emotion", EMOTION_LABELS),
        intents=entry.choices("intent", CATEGORIES),
        department=entry.boolean("department") if entry.has("department") else None,
        critical=entry.boolean("critical") if entry.has("critical") else None,
        kinds=entry.texts("kind"),
        urgent=entry.boolean("urgent") if entry.has("urgent") else None,
    )


class EmpathyScripts:
    """Chooses and fills one script per step."""

    def __init__(self, steps: tuple[tuple[Script, ...], ...], defaults: dict[str, str],
                 emotions: tuple[str, ...], intents: tuple[str, ...], min_intensity: float,
                 referrals: ReferralTable | None = None, urgent: tuple[re.Pattern[str], ...] = ()) -> None:
        self.steps = steps
        self.defaults = defaults
        self.emotions = emotions
        self.intents = intents
        self.min_intensity = min_intensity
        self.referrals = referrals  # the numbers' names and which are urgent (None: the numbers as given)
        self.urgent_words = urgent  # [when] urgent: a matter to handle at once (急办: a burst main, ice)

    @classmethod
    def load(cls, path: Path, referrals: ReferralTable | None = None) -> EmpathyScripts:
        """Read ``empathy.toml``; with ``referrals`` (the referral table) scripts name each number by it."""
        doc = load_toml(path)
        doc.check_keys({"defaults", "when", *STEPS})
        d = doc.table("defaults")
        d.check_keys({"deadline", "return_visit", "department", "suffix", "emergency", "support"})
        defaults = {k: d.text(k) for k in ("deadline", "return_visit", "department")}
        defaults["suffix"] = d.text("suffix", required=False)
        defaults["emergency"] = d.text("emergency", "110", required=False)
        defaults["support"] = d.text("support", "12356", required=False)
        when = doc.table("when")
        when.check_keys({"emotions", "intents", "min_intensity", "urgent"})
        steps = []
        for step in STEPS:
            scripts = tuple(_script(e) for e in doc.tables(step))
            if not any(s == Script(s.text) for s in scripts):
                raise doc.error(f"[[{step}]] needs a default entry (one without conditions)")
            steps.append(scripts)
        return cls(tuple(steps), defaults, when.choices("emotions", EMOTION_LABELS),
                   when.choices("intents", CATEGORIES), when.number("min_intensity", 0.0, lo=0.0, hi=1.0), referrals,
                   when.regex_list("urgent"))

    def urgent_matter(self, text: str) -> bool:
        """``text`` (normalised) tells of a hazard to handle at once ([when] urgent: 水管爆了, 结冰, 井盖没了)."""
        return any(p.search(text) for p in self.urgent_words)

    def wanted(self, emotion: str, intensity: float, intent: str | None, critical: bool) -> bool:
        return critical or (emotion in self.emotions and intensity >= self.min_intensity) or intent in self.intents

    def scripts(
        self,
        *,
        emotion: str,
        intensity: float,
        intent: str | None,
        department: str | None,
        critical: bool = False,
        referrals: Sequence[str] = (),
        kind: str | None = None,
        urgent: bool = False,
    ) -> list[str]:
        """Three filled scripts, or [] when the caller needs none.  ``referrals``: the numbers offered
        (the call's crisis numbers first); ``{referral}`` is the first urgent one of them.  ``kind``: the
        call's kind of danger (自伤自杀, 暴力, 被困…), for the entries with a ``kind`` condition.  ``urgent``:
        a matter to handle at once (`urgent_matter`'s words, an emergency number with a safety question)."""
        if not self.wanted(emotion, intensity, intent, critical or urgent):
            return []
        emergency = self.emergency(referrals)
        support = self.defaults["support"]
        values = {
            "department": f"{department}{self.defaults['suffix']}" if department else self.defaults["department"],
            "deadline": self.defaults["deadline"],
            "return_visit": self.defaults["return_visit"],
            "referral": emergency,
            "referral_name": self.name(emergency),
            "support": support,
            "support_name": self.name(support),
        }
        out = []
        for scripts in self.steps:
            chosen = next(s for s in scripts if s.applies(emotion, intent, department, critical, kind, urgent))
            out.append(chosen.text.format(**values))
        return out

    def emergency(self, numbers: Sequence[str]) -> str:
        """The emergency number a script names: the first urgent one of ``numbers``, else the default (110).
        Without the referral table, the first of ``numbers``."""
        table = self.referrals
        if table is None:
            return numbers[0] if numbers else self.defaults["emergency"]
        return next((n for n in numbers if (info := table.rows.get(n)) is not None and info.urgent),
                    self.defaults["emergency"])

    def name(self, number: str) -> str:
        """``number``'s own wording in ``referrals.toml`` (公安报警电话, 心理援助热线); "" without the table."""
        info = self.referrals.rows.get(number) if self.referrals is not None else None
        return info.name if info is not None else ""
