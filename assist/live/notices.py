"""Supervisor notices that are not crises (data: ``assist/nlp/data/notices.toml``): words of the caller a
duty supervisor must hear about at once although nobody's life is at risk now.  Each table of the file is
one kind of notice, named by its alert kind (``NOTICE_KINDS``):

- ``collective``: a threat of collective action (拉横幅, 堵门, 集体上访, 去政府门口; trial 3, e5: 只能去总包公司
  门口拉横幅了 got nothing);
- ``petition``: a threat to take the matter over the hotline's head — 信访, 越级上访, the media (trial 5, c: a
  third call about a broken lift, 三天之内没人联系我,我就去信访局, reached nobody).

Each raises one alert of its kind per call, with no crisis card and no emergency number (``alerts.py``).
``Notices.find(norm)`` gives the notices and the words that matched in a caller's normalised final."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, Table, load_toml
from assist.protocol.enums import AlertKind, Severity

DEFAULT_NOTICES = DEFAULT_DATA_DIR / "notices.toml"
NOTICE_KINDS = (AlertKind.COLLECTIVE, AlertKind.PETITION)


@dataclass(frozen=True, slots=True)
class NoticeRule:
    kind: AlertKind
    message: str  # {said}: the caller's words
    severity: Severity
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def read(cls, kind: AlertKind, table: Table) -> NoticeRule:
        table.check_keys({"message", "severity", "patterns"})
        message = table.text("message")
        try:
            message.format(said="")
        except (KeyError, IndexError, ValueError) as exc:
            raise table.error(f"'message' may only use {{said}}: {exc}") from exc
        severity = table.text("severity", "warning")
        if severity not in (Severity.WARNING, Severity.INFO):
            raise table.error("'severity' must be \"warning\" or \"info\" (a crisis is a crisis card, not a notice)")
        patterns = table.regex_list("patterns")
        if not patterns:
            raise table.error("'patterns' needs at least one regular expression")
        return cls(kind, message, Severity(severity), patterns)

    def find(self, norm: str) -> str | None:
        """The words of this notice in normalised text, or None."""
        return next((m.group(0) for p in self.patterns if (m := p.search(norm)) and m.group(0)), None)


@dataclass(frozen=True, slots=True)
class Notices:
    rules: tuple[NoticeRule, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> Notices:
        """Read notices.toml: a table per kind of ``NOTICE_KINDS``, each optional.  Raises ``DataError`` naming
        the file and the entry."""
        doc = load_toml(path or DEFAULT_NOTICES)
        doc.check_keys(NOTICE_KINDS)
        return cls(tuple(NoticeRule.read(kind, doc.table(kind)) for kind in NOTICE_KINDS if doc.has(kind)))

    def find(self, norm: str) -> list[tuple[NoticeRule, str]]:
        """Every notice the words of a caller's final call for, with the words that matched."""
        return [(rule, said) for rule in self.rules if (said := rule.find(norm)) is not None]


@cache
def shipped_notices() -> Notices:
    return Notices.load()
