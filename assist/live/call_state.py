"""Call-level decisions with hysteresis: the call's category and handling department.

Each caller utterance gives a hint (its own category and department); the call's value changes
only on clear evidence.  Earlier evidence fades each time the caller says something new
(``RECENCY``), so a call that opens with a quick question and then raises a dispute becomes the
dispute — but only once the new value outweighs the current one by ``SWITCH_MARGIN`` (one passing
remark does not flip the call, two do).  A crisis (a critical signal) makes the call 求助 and
keeps it there.  Praise said while the caller is upset (你们效率真高啊, 真是太负责了) is sarcasm,
not 表扬: it adds no weight to 表扬.

``LiveAssist`` (assist/live/prompts.py) folds every final caller utterance in and reads the
call's category and department from here for ``call_state``; the overlay shows those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from assist.protocol.enums import Category

RECENCY = 0.6  # weight kept by earlier evidence each time the caller says something new
SWITCH_MARGIN = 2.0  # a new value must outweigh the call's current one this many times
UPSET = 0.4  # the call's running negative-emotion level above which praise reads as sarcasm

K = TypeVar("K", Category, str)


@dataclass
class Sticky(Generic[K]):
    """One call-level value with fading evidence and a switching margin."""

    scores: dict[K, float] = field(default_factory=dict)
    current: K | None = None
    pinned: bool = False

    def add(self, key: K, weight: float = 1.0) -> None:
        for k in self.scores:
            self.scores[k] *= RECENCY
        self.scores[key] = self.scores.get(key, 0.0) + weight
        if self.pinned:
            return
        best = max(self.scores, key=lambda k: self.scores[k])
        if self.current is None or (
            best != self.current and self.scores[best] >= SWITCH_MARGIN * self.scores.get(self.current, 0.0)
        ):
            self.current = best

    def pin(self, key: K) -> None:
        """Decide the value for the rest of the call (a crisis is 求助 whatever follows)."""
        self.current = key
        self.pinned = True


@dataclass
class CallTopic:
    """The call's category and department, decided for the whole call."""

    category: Sticky[Category] = field(default_factory=Sticky)
    department: Sticky[str] = field(default_factory=Sticky)

    def fold(
        self,
        intent: Category | None,
        department: str | None,
        *,
        critical: bool,
        upset: float,
        negative_now: bool,
    ) -> None:
        """One final caller utterance: its category and department hints, whether it raised a
        critical signal, the call's running negative-emotion level and its own emotion."""
        if intent is not None:
            sarcasm = intent == Category.PRAISE and (negative_now or upset >= UPSET)
            if not sarcasm:
                self.category.add(intent)
        if department:
            self.department.add(department)
        if critical and not self.category.pinned:
            self.category.pin(Category.HELP)
