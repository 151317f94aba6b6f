"""On one mixed (mono) channel, the operator reading aloud a wording the service suggested is the operator.

A mono call carries both voices on one channel, so every utterance gets the caller's analysis,
learned heads included.  When the operator reads the amber card's safety question (您现在有没有
伤害自己的打算?), a crisis empathy script (我能感受到您现在很难受…) or a referral script aloud,
those words would raise another safety or crisis card by themselves: the service would be
answering its own suggestion.  ``SuggestedLines`` remembers the wordings shown to the operator on
this call (``note``) and says whose an utterance is (``voice``): on the mixed channel, an utterance
that closely matches one of them is the operator's (``Role.AGENT``: the banned-phrase checks only,
no caller heads, no caller cards, and the standing safety card still waits for the caller's answer).

"Closely" is measured on the letters and digits only (no spaces or punctuation), with edit
distance: the utterance is a piece of a suggested line (one addressed to the caller with 您, or most of
the line: at least ``PIECE_MIN`` letters and ``PIECE_SHARE`` of it) at most ``PIECE`` edits per
character away, or the whole line with
recogniser slips and a few words more or less, at most ``WHOLE`` edits per character of the longer.
A caller answering in the card's own words is not a reading: short pieces (现在不安全, 对方还在身边)
and first-person restatements (我正在遭受暴力) keep the caller's analysis.  Anything else, including the question
with the caller's own words run on after it, keeps the caller's analysis: a missed crisis costs more
than a repeated card.
"""

from __future__ import annotations

from collections import deque

from assist.protocol.enums import Role
from assist.protocol.payloads import (
    BannedPayload,
    CriticalPayload,
    EmpathyPayload,
    PromptData,
    ReferralPayload,
    SafetyPayload,
)

MIN_CHARS = 4  # shorter utterances (嗯, 好的, 是的) are never taken for a reading
PIECE_MIN = 8  # a piece read aloud has at least this many letters ...
PIECE_SHARE = 0.6  # ... and at least this share of the line: 我正在遭受暴力 is the caller, not a piece
PIECE = 0.2  # edits per character of the utterance when it is a piece of a suggested line
WHOLE = 0.25  # edits per character of the longer when it is the whole line, more or less
KEEP = 32  # the latest suggested wordings remembered per call


def letters(text: str) -> str:
    """The text's letters and digits (Chinese characters included), lower case: what is compared."""
    return "".join(ch for ch in text if ch.isalnum()).lower()


def wordings(data: PromptData) -> tuple[str, ...]:
    """What a card suggests the operator say."""
    if isinstance(data, SafetyPayload):
        return (data.question,)
    if isinstance(data, EmpathyPayload):
        return data.steps
    if isinstance(data, ReferralPayload):
        return (data.script,) if data.script else ()
    if isinstance(data, BannedPayload):
        return (data.suggestion,)
    if isinstance(data, CriticalPayload):
        return data.first_aid  # 现场指导 read out on a mixed channel is the operator's (the review of stop 15)
    return ()


def infix_distance(short: str, long: str) -> int:
    """The fewest edits that turn ``short`` into some substring of ``long``."""
    prev = [0] * (len(long) + 1)  # a match may start anywhere in ``long``
    for i, a in enumerate(short, 1):
        cur = [i] + [0] * len(long)
        for j, b in enumerate(long, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return min(prev)  # ... and end anywhere


def distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def echoes(said: str, line: str) -> bool:
    """Is ``said`` (letters only) a reading of ``line`` (letters only)?  Never when ``said`` speaks of
    itself in the first person more than the line does (我正在遭受暴力, 我现在有伤害自己的打算 after
    您现在有没有伤害自己的打算: the caller answering in the card's words)."""
    n = len(said)
    if n < MIN_CHARS or not line or said.count("我") > line.count("我"):
        return False
    chars = set(line)
    if sum(ch not in chars for ch in said) > max(PIECE * n, WHOLE * max(n, len(line))):
        return False  # too many characters the line does not have: no need to align
    piece = "您" in said or n >= max(PIECE_MIN, PIECE_SHARE * len(line))  # addressed to the caller, or most of it
    if piece and n <= len(line) + PIECE * n and infix_distance(said, line) <= PIECE * n:
        return True
    return abs(n - len(line)) <= WHOLE * max(n, len(line)) and distance(said, line) <= WHOLE * max(n, len(line))


class SuggestedLines:
    """The wordings shown to the operator on one call, latest ``KEEP``."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=KEEP)

    def note(self, data: PromptData) -> None:
        for text in wordings(data):
            line = letters(text)
            if len(line) >= MIN_CHARS and line not in self._lines:
                self._lines.append(line)

    def echo(self, text: str) -> bool:
        said = letters(text)
        return any(echoes(said, line) for line in self._lines)

    def voice(self, role: Role, text: str) -> Role:
        """Whose words: on the mixed channel, a reading of a suggested wording is the operator's."""
        return Role.AGENT if role is Role.MIXED and self.echo(text) else role
