"""Negation scope: is a keyword preceded by 不/没有/并不… (fillers like 很/太/是 allowed between)?

Shared by the emotion lexicon (不生气 is not anger) and the category cues
(我不是来投诉的 is not a complaint).  Configured in ``data/emotion.toml`` [negation].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLAUSE_BREAK = re.compile(r"[,.!?;:~\"]")


def clause_before(text: str, start: int, window: int) -> str:
    """Up to ``window`` characters before ``start``, cut at the last clause break."""
    pre = text[max(0, start - window):start]
    cut = None
    for m in CLAUSE_BREAK.finditer(pre):
        cut = m.end()
    return pre[cut:] if cut is not None else pre


@dataclass(frozen=True, slots=True)
class Negation:
    negators: tuple[str, ...]
    fillers: tuple[str, ...]
    window: int = 6
    exceptions: tuple[str, ...] = ()  # words ending like a negation that are not one (特别, 分别)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fillers", tuple(sorted(self.fillers, key=len, reverse=True)))

    def negated(self, text: str, start: int) -> bool:
        """True when the word at ``start`` is in the scope of a negation."""
        pre = clause_before(text, start, self.window)
        for _ in range(5):
            if any(pre.endswith(x) for x in self.exceptions):
                return False
            if any(pre.endswith(n) for n in self.negators):
                return True
            for filler in self.fillers:
                if pre.endswith(filler):
                    pre = pre[: -len(filler)]
                    break
            else:
                return False
        return not any(pre.endswith(x) for x in self.exceptions) and any(pre.endswith(n) for n in self.negators)
