"""Chinese text helpers shared by every layer: recognizer spacing and spoken digits.

* ``is_cjk`` — a CJK ideograph (the characters Vosk separates with spaces).
* ``join_cjk`` — Vosk writes ``我 想 问 一下``; people read ``我想问一下``.  Spaces between
  two CJK characters go, spaces next to Latin letters or digits stay (``打 12345 热线``).
* ``SPOKEN_DIGITS`` — a spoken or written digit character and its ASCII digit: Chinese
  numerals as read out in phone and ID numbers (幺 = 1, 洞 = 0, 拐 = 7, 两 = 2) and
  full-width digits.  Privacy masking and the analysis normaliser read the same table.
"""

from __future__ import annotations

import re
from typing import Final

SPOKEN_DIGITS: Final[dict[str, str]] = {
    **{str(d): str(d) for d in range(10)},
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width ０-９
    "零": "0", "〇": "0", "洞": "0",
    "一": "1", "幺": "1",
    "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6",
    "七": "7", "拐": "7",
    "八": "8", "九": "9",
}
CHINESE_DIGITS: Final[str] = "".join(ch for ch in SPOKEN_DIGITS if not ch.isdigit())

_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) +(?=[\u3000-\u9fff\uff00-\uffef])")


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs (the characters that Vosk separates with spaces)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def join_cjk(text: str) -> str:
    """Remove the recognizer's spaces between CJK characters; trim the ends."""
    return _CJK_GAP.sub("", text.strip())
