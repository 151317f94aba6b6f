"""A danger the caller takes back, and the operator's confirmation (crisis_kinds.toml ``[corrections]``).

New-user trial 12: a caller said 着火了, then 不是着火 是烧纸; the red card stayed to the end of the call, the
operator's correct routine handling was nudged, and the end line asked for a call-back for 119.  A caller's word
alone ends nothing (a caller may be wrong, or made to say 没事: the kinds where that is the risk, 暴力, 自伤自杀,
扬言伤人 and 走失, have no corrections at all).  So:

1. a caller's final that takes back a danger of the call's kind (and raises no danger itself) becomes the crisis's
   pending correction, shown on the crisis card (``CriticalPayload.correction``);
2. the OPERATOR confirms it — restating it (好的 只是烧纸 没有着火), or asking it back (确认一下 没有着火是吧) and the
   caller answering yes (对对 没事了) — and the crisis stands down (``CallCrisis.stand_down``); an operator line that
   transfers or tells the crisis number confirms nothing;
3. a critical reading after it voids the correction; after a stand-down it is a new crisis.

``hear`` decides; ``LiveAssist`` shows the correction, or withdraws the crisis cards and raises the ``stood_down``
alert.
"""

from __future__ import annotations

from enum import StrEnum

from assist.live.crisis import CallCrisis
from assist.nlp.crisis_rules import CrisisRules
from assist.protocol.enums import Role


class Heard(StrEnum):
    """What one final did to the crisis's correction."""

    NOTHING = "nothing"
    SHOWN = "shown"  # the caller's correction is new: the crisis cards show it
    ASKED = "asked"  # the operator asked it back: the caller's yes will confirm it
    CONFIRMED = "confirmed"  # the operator confirmed it: stand the crisis down


def hear(crisis: CallCrisis, criteria: CrisisRules, role: Role, text: str) -> tuple[Heard, str]:
    """One final (``text`` normalised, on a stereo channel) of a call whose crisis stands, raising no danger itself:
    what it does to the correction, with the words that did it (the correction shown, or the confirmation)."""
    fixes = crisis.kinds.corrections
    if not crisis.active:
        return Heard.NOTHING, ""
    if role is Role.CALLER:
        if crisis.confirming and fixes.affirms(text):
            return Heard.CONFIRMED, f"{crisis.correction}?「{text}」"
        crisis.confirming = False
        said = crisis.corrected(text)
        return (Heard.SHOWN, said) if said is not None else (Heard.NOTHING, "")
    if role is not Role.AGENT or crisis.correction is None or fixes.words(crisis.kind, text) is None:
        return Heard.NOTHING, ""
    if criteria.transfers(text, crisis.numbers, crisis.kind_names):
        return Heard.NOTHING, ""  # 您确定不是着火吗 我还是帮您转119: the danger is handed on, not stood down
    if fixes.asks(text):
        crisis.confirming = True  # 确认一下 没有着火是吧: the caller's yes confirms it
        return Heard.ASKED, text
    return Heard.CONFIRMED, text
