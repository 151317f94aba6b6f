"""Turn typed Chinese into the text a speech recognizer would write for it.

Used by the evaluation bench (``bench/nlp_eval.py``) to check that the analysis engine
copes with recognizer output, not only with tidy typed text.  A Vosk-style recognizer
writes words separated by spaces, no punctuation, and numbers as spoken Chinese:

- phone-like digit strings are read digit by digit: ``12345`` -> ``一 二 三 四 五``
  (five or more digits, a leading zero, a 3-digit ``1xx`` service number such as 110/120,
  digits after a Latin letter as in plates ``京B12345``, years ``2024年``, rooms ``302室``);
- quantities are read as numbers: ``300元`` -> ``三百 元``, ``2个`` -> ``两 个``,
  ``2000多`` -> ``两千 多``, ``3.5`` -> ``三点五``, ``50%`` -> ``百分之 五十``;
- clock times ``8:30`` -> ``八 点 三十``.

Everything else is segmented with an isolated ``jieba.Tokenizer`` (no HMM, so unknown
names fall apart into characters as in a lexicon-based recognizer), full-width
characters are folded to half-width, Latin letters lower-cased and punctuation dropped.
The output is deterministic.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from typing import Any

__all__ = ["RecognizerStyler", "default_styler", "to_recognizer_style"]

_DIGIT_NAMES = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
# Characters after which a digit string is a quantity (a measure word or unit), e.g. 300元, 3号楼.
_QUANTITY_FOLLOWERS = frozenset(
    "元块角毛分万千百亿个岁度米里斤公吨克升平方寸尺亩号楼层路站条期次天年月日周时点秒人户家台辆件"
    "位名多余栋单间套张趟遍回倍项所座把只头本瓶盒袋包箱根支双对份批道届级"
)
# After these a 2 is an ordinal or a name (二号, 二楼, 二月), not 两.
_ORDINAL_FOLLOWERS = frozenset("号楼层路站期届级月日")
_SPOKEN_AS_DIGITS_AFTER = frozenset("室")  # 302室 -> 三零二 室
_NUMBER = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?!\d)|(?P<num>\d+(?:\.\d+)?)(?P<pct>%)?")
_JIEBA_LOCK = threading.Lock()


def to_half_width(text: str) -> str:
    """Fold full-width ASCII variants (U+FF01..U+FF5E) and the ideographic space to half-width."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _is_separator(token: str) -> bool:
    """True for tokens made only of punctuation, symbols, spaces or control characters."""
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in token)


def _digits(s: str) -> list[str]:
    return [_DIGIT_NAMES[d] for d in s if d in _DIGIT_NAMES]


def _quantity(s: str, next_char: str, prev_char: str = "") -> str:
    """Spoken form of a quantity: 300 -> 三百, 2 (before a measure word) -> 两, 2000 -> 两千."""
    import cn2an  # imported lazily: importing this module stays cheap

    spoken = str(cn2an.an2cn(s, "low"))
    if s == "2":
        ordinal = prev_char == "第" or next_char in _ORDINAL_FOLLOWERS
        return "两" if next_char in _QUANTITY_FOLLOWERS and not ordinal else spoken
    if len(spoken) > 1 and spoken[0] == "二" and spoken[1] in "百千万亿":
        return "两" + spoken[1:]
    return spoken


def _reads_digit_by_digit(num: str, prev_char: str, next_char: str) -> bool:
    if "." in num:
        return False
    if len(num) > 1 and num.startswith("0"):
        return True
    if prev_char.isascii() and prev_char.isalpha():
        return True
    if len(num) == 4 and next_char == "年":
        return True
    if next_char in _SPOKEN_AS_DIGITS_AFTER:
        return True
    if next_char in _QUANTITY_FOLLOWERS:
        return False
    if len(num) >= 5:
        return True
    return len(num) == 3 and num.startswith("1")


class RecognizerStyler:
    """Converter with its own jieba dictionary; build once and reuse (construction takes ~1 s)."""

    def __init__(self) -> None:
        import jieba  # heavy import kept out of module import

        self._jieba: Any = jieba.Tokenizer()
        logger = logging.getLogger("jieba")
        with _JIEBA_LOCK:
            level = logger.level
            logger.setLevel(logging.WARNING)
            try:
                self._jieba.initialize()
            finally:
                logger.setLevel(level)

    def _words(self, text: str) -> list[str]:
        return [w for w in self._jieba.lcut(text, HMM=False) if w and not _is_separator(w)]

    def _number_tokens(self, match: re.Match[str], prev_char: str, next_char: str) -> list[str]:
        if match["h"] is not None:
            hour, minute = match["h"], match["m"]
            tokens = [_quantity(str(int(hour)), "点"), "点"]
            if minute != "00":
                tokens.append(("零" + _DIGIT_NAMES[minute[1]]) if minute[0] == "0" else _quantity(minute, ""))
            return tokens
        num = match["num"]
        if match["pct"]:
            return ["百分之", _quantity(num, "")]
        if _reads_digit_by_digit(num, prev_char, next_char):
            return _digits(num)
        return [_quantity(num, next_char, prev_char)]

    def __call__(self, text: str) -> str:
        text = to_half_width(unicodedata.normalize("NFC", text)).lower()
        tokens: list[str] = []
        pos = 0
        for match in _NUMBER.finditer(text):
            start, end = match.span()
            tokens.extend(self._words(text[pos:start]))
            prev_char = text[start - 1] if start > 0 else ""
            next_char = text[end] if end < len(text) else ""
            tokens.extend(self._number_tokens(match, prev_char, next_char))
            pos = end
        tokens.extend(self._words(text[pos:]))
        return " ".join(tokens)


@functools.cache
def default_styler() -> RecognizerStyler:
    """The shared converter (built on first use)."""
    return RecognizerStyler()


def to_recognizer_style(text: str) -> str:
    """Recognizer-style form of typed ``text``: spaced words, spoken numbers, no punctuation."""
    return default_styler()(text)
