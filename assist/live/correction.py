"""A danger the caller takes back, and the operator's confirmation (crisis_kinds.toml ``[corrections]``).

New-user trial 12: a caller said 着火了, then 不是着火 是烧纸; the red card stayed to the end of the call, the
operator's correct routine handling was nudged, and the end line asked for a call-back for 119.  A caller's word
alone ends nothing (a caller may be wrong, or made to say 没事: the kinds where that is the risk, 暴力, 自伤自杀,
扬言伤人 and 走失, have no corrections at all).  So:

1. a caller's final that explicitly denies a danger of the call's kind (不是着火, 没有煤气味) in a line with no danger
   word, hedge or question, whose words without the denial raise no danger either (不是着火 是楼下有个人躺着不动),
   becomes the crisis's pending correction, shown on the crisis card (``CriticalPayload.correction``) — only while the
   crisis is that one danger and nothing else (``CallCrisis.correctable``: no other danger joined, no 120 or 110);
2. the OPERATOR confirms it: restating the denial with words of acceptance and no doubt (好的 只是烧纸 没有着火就好),
   or asking it back as a tag question (跟您确认一下 没有着火是吧) and the caller answering yes (对对 没事了); any
   other operator line, a transfer or a number told confirms nothing and ends the asking;
3. a caller line with danger words, a hedge or a question, or a critical reading, voids the correction; after a
   stand-down a danger is a new crisis.
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


def hear(crisis: CallCrisis, criteria: CrisisRules, role: Role, text: str, *,
         denies: bool = False) -> tuple[Heard, str]:
    """One final (``text`` normalised, on a stereo channel) of a call whose crisis stands: what it does to the
    correction, with the words that did it (the correction shown, or the confirmation).  ``denies``: a caller's final
    that denies the danger and whose other words raise none (``LiveAssist`` reads them again without the denial)."""
    fixes = crisis.kinds.corrections
    if not crisis.active:
        return Heard.NOTHING, ""
    if role is Role.CALLER:
        if crisis.confirming and crisis.correction is not None and fixes.affirms(text):
            return Heard.CONFIRMED, f"{crisis.asked}」,来电人答「{text}"
        crisis.confirming = False
        said = crisis.corrected(text) if denies else None
        if said is not None:
            return Heard.SHOWN, said
        if crisis.correction is not None and fixes.voids(text):
            crisis.danger_again()  # 那个纸堆旁边的电动车也冒黑烟了: the correction no longer holds
        return Heard.NOTHING, ""
    if role is not Role.AGENT:
        return Heard.NOTHING, ""
    crisis.confirming = False  # any other operator line ends the asking (那楼里有没有人被困住)
    if crisis.correction is None or fixes.denial(crisis.kind, text) is None:
        return Heard.NOTHING, ""
    if criteria.transfers(text, crisis.numbers, crisis.kind_names):
        return Heard.NOTHING, ""  # 就算不是着火 我也帮您转接119: the danger is handed on, not stood down
    if fixes.asks_back(text):
        crisis.confirming, crisis.asked = True, text  # 跟您确认一下 没有着火是吧: the caller's yes confirms it
        return Heard.ASKED, text
    return (Heard.CONFIRMED, text) if fixes.confirms(text) else (Heard.NOTHING, "")
