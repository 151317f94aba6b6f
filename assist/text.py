"""Chinese text helpers shared by every layer: recognizer spacing and spoken digits.

* ``is_cjk`` — a CJK ideograph (the characters Vosk separates with spaces).
* ``join_cjk`` — Vosk writes ``我 想 问 一下``; people read ``我想问一下``.  Spaces between
  two CJK characters go, and so do the spaces inside a number written one digit a word
  (``1 2 3 4 5`` → ``12345``: a transcript-source call splits typed text into characters; a digit beside a
  longer number, ``3 5000``, keeps its space) and
  next to full-width punctuation (``您好 ， 12345`` → ``您好，12345``); spaces between a CJK
  character and Latin letters or a number stay (``打 12345 热线``), and so does the space between
  two numbers of several digits (``138 1234``).
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
# a space between two lone digits (words of one digit: 1 2 3 4 5); not beside a longer number (欠了 3 5000)
LONE_DIGIT_GAP = re.compile(r"(?<=(?<![0-9])[0-9]) +(?=[0-9](?![0-9]))")
# a space next to full-width punctuation (，。？！、：；…) whatever is on the other side
_PUNCT = r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]"
_PUNCT_GAP = re.compile(rf"(?<={_PUNCT}) +| +(?={_PUNCT})")


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs (the characters that Vosk separates with spaces)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def join_cjk(text: str) -> str:
    """Remove the recognizer's spaces between CJK characters, inside a number spelt one digit a word and next
    to full-width punctuation; trim the ends."""
    return _PUNCT_GAP.sub("", LONE_DIGIT_GAP.sub("", _CJK_GAP.sub("", text.strip())))
