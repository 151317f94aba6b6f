"""Pure helpers that turn one analysis into card payloads, apart from the call's state.

- ``lapse_card``: the operator's banned phrases in one utterance are one lapse — one card with all its
  spans (估计问题不大…应该很快), so one flash, one alert and one on the call's count (trial 3, e5); its
  suggestions each once (``distinct_wordings``: trial 4 repeated 这个问题我帮您查询确认后给您回复).
- ``steady_on_partial``: while the words come, a card changes only on a meaningful change (trial 3:
  a knowledge percentage ran 76→90→76→65→96→100 % within one line); the final settles it.
- ``found_span``: where a referral's words stand in the transcript, for the overlay's highlight.
- ``heard_span``: the words that raised a crisis or safety card, marked likewise (trial 4: 被打 was, 汽油 was not).
"""

from __future__ import annotations

from collections.abc import Sequence

from assist.nlp.analysis import Analysis
from assist.nlp.banned import BannedHit
from assist.protocol.events import Span
from assist.protocol.payloads import BannedPayload, EmotionPayload, KnowledgePayload, PromptData

BANNED_JOIN = "…"  # between the banned spans of one utterance on its one card
KB_STEP = 0.05  # on a partial, the same answer's percentage moves only up, and by at least this
EMOTION_STEP = 0.1  # on a partial, an emotion card's level moves only by at least this (its label: on finals)


def lapse_card(hits: Sequence[BannedHit], text: str) -> tuple[BannedPayload, Span | None] | None:
    """One card for the banned phrases ``hits`` of the operator's ``text`` (None without any)."""
    if not hits:
        return None
    said = BANNED_JOIN.join(dict.fromkeys(h.span.text for h in hits if h.span.text)) or hits[0].span.text
    first = min((h.span.start for h in hits if h.span.text), default=None)
    last = max((h.span.end for h in hits if h.span.text), default=None)
    aligned = all(text[h.span.start:h.span.end] == h.span.text for h in hits if h.span.text)
    span: Span | None
    if aligned and first is not None and last is not None and text[first:last]:
        span = Span(text=text[first:last], start=first, end=last)
    elif hits[0].span.text:
        span = Span(text=hits[0].span.text, start=hits[0].span.start, end=hits[0].span.end)
    else:
        span = None
    suggestion = " ".join(distinct_wordings([h.suggestion for h in hits]))
    return BannedPayload(rule="+".join(dict.fromkeys(h.rule for h in hits)), said=said, suggestion=suggestion), span


def distinct_wordings(wordings: Sequence[str]) -> list[str]:
    """The suggestions of one lapse, each said once: one that another contains (这个问题我帮您查询确认后给您回复。
    beside 这个问题我帮您查询确认后给您回复,请您留一个联系方式。) is left out, the rest keep their order."""
    bare = [w.strip().rstrip("。.!?") for w in wordings]
    out: list[str] = []
    for i, w in enumerate(wordings):
        if not bare[i] or bare[i] in bare[:i] or any(j != i and bare[i] != b and bare[i] in b
                                                     for j, b in enumerate(bare)):
            continue
        out.append(w.strip())
    return out


def steady_on_partial(old: PromptData, new: PromptData) -> bool:
    """A partial's ``new`` payload is no meaningful change of the card's ``old`` one."""
    if isinstance(old, KnowledgePayload) and isinstance(new, KnowledgePayload):
        return old.id == new.id and new.score < old.score + KB_STEP
    if isinstance(old, EmotionPayload) and isinstance(new, EmotionPayload):
        return new.label != old.label or abs(new.intensity - old.intensity) < EMOTION_STEP
    return False


def found_span(text: str, words: str) -> Span | None:
    """``words`` as found in ``text`` (at 0 when the recogniser's text does not hold them as such)."""
    if not words:
        return None
    pos = max(text.find(words), 0)
    return Span(text=words, start=pos, end=pos + len(words))


def heard_span(text: str, r: Analysis) -> Span | None:
    """The first words the analysis gives as evidence of a critical sign (the rules' or the quoted cue of a
    model-only sign, ``WeakSigns.heard``), as found in ``text``."""
    spans = r.evidence.get("critical", ())
    return found_span(text, spans[0].text) if spans else None
