"""Supervisor notices that are not crises (data: ``assist/nlp/data/notices.toml``): a caller's threat of
collective action (拉横幅, 堵门, 集体上访, 去政府门口) raises one ``collective`` alert to the supervisors,
with no crisis card and no emergency number (trial 3, e5: 只能去总包公司门口拉横幅了 got nothing).
``CollectiveRule.find(norm)`` gives the words that matched in a caller's normalised final."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.protocol.enums import Severity

DEFAULT_NOTICES = DEFAULT_DATA_DIR / "notices.toml"


@dataclass(frozen=True, slots=True)
class CollectiveRule:
    message: str  # {said}: the caller's words
    severity: Severity
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def load(cls, path: Path | None = None) -> CollectiveRule:
        """Read ``[collective]`` of notices.toml.  Raises ``DataError`` naming the file and the entry."""
        doc = load_toml(path or DEFAULT_NOTICES)
        doc.check_keys({"collective"})
        table = doc.table("collective")
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
        return cls(message, Severity(severity), patterns)

    def find(self, norm: str) -> str | None:
        """The words of a threat of collective action in normalised text, or None."""
        return next((m.group(0) for p in self.patterns if (m := p.search(norm)) and m.group(0)), None)


@cache
def shipped_collective() -> CollectiveRule:
    return CollectiveRule.load()
