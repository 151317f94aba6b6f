"""Text normalisation for recognizer output and typed input, with an offset map.

``normalize(text)`` returns a ``Normalized`` whose ``text`` is:

* half-width, lower-case: full-width ASCII (``ＡＢＣ１２３``) and ideographic space become
  ASCII, Latin letters are lower-cased (``KTV`` → ``ktv``);
  Chinese punctuation becomes its ASCII counterpart (``，。！？：；、`` → ``,.!?:;,``;
  ``“”「」`` → ``"``, ``…`` → ``...``).  Punctuation is *kept* (it marks clauses
  and ``!!!`` is an intensity cue);
* simplified: traditional characters converted with OpenCC ``t2s``;
* unspaced: whitespace next to a CJK character is removed (Vosk writes
  ``我 要 投诉``), and so is whitespace inside a number written one digit a word (``拨打 1 2 0``: a
  transcript-source call splits typed text into characters); other whitespace runs become one space;
  ends are trimmed;
* digits: runs of three or more Chinese digit characters
  (``幺三八``, ``一二三四五``, ``幺幺零``) become ASCII digits (``138``, ``12345``,
  ``110``); shorter runs (``一二线``, ``三五个``) and runs touching ``十百千万亿``
  (``一五一十``) are left alone;
* optionally corrected: a replacement table (``data/normalize.toml``) fixes known
  conversion or recognition slips (``著急`` → ``着急``).

``starts[i]``/``ends[i]`` give, for character ``i`` of ``text``, the half-open
range of input characters it came from, so ``source_span(s, e)`` maps a span
reported on the normalised text back onto the input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DataError, load_toml
from assist.text import CHINESE_DIGITS, LONE_DIGIT_GAP, SPOKEN_DIGITS, is_cjk

_PUNCT = {
    "\u3000": " ", "。": ".", "、": ",", "，": ",", "！": "!", "？": "?", "：": ":", "；": ";",
    "“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"',
    "【": "[", "】": "]", "《": '"', "》": '"', "〈": '"', "〉": '"', "…": "...", "—": "-",
    "～": "~", "\u00a0": " ",
}
_DIGIT_RUN = re.compile(r"(?<![十百千万亿])[" + CHINESE_DIGITS + "0-9]{3,}(?![十百千万亿])")
MIN_DIGIT_RUN = 3




@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, per character, the input range it came from."""

    text: str
    source: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Input offsets ``[s, e)`` of the normalised span ``[start, end)``."""
        if not self.text or start >= end:
            pos = self.starts[start] if start < len(self.starts) else len(self.source)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


@functools.cache
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    converter = _t2s()
    out: str = converter.convert(text)  # type: ignore[attr-defined]
    return out


Chars = list[tuple[str, int, int]]  # (character, input start, input end)


def _fold(text: str) -> Chars:
    chars: Chars = []
    for i, ch in enumerate(text):
        code = ord(ch)
        rep = chr(code - 0xFEE0) if 0xFF01 <= code <= 0xFF5E else _PUNCT.get(ch, ch)
        if ch.isspace() and rep == ch:
            rep = " "
        elif rep.isascii():
            rep = rep.lower()
        for r in rep:
            chars.append((r, i, i + 1))
    return chars


def _simplify(chars: Chars) -> Chars:
    text = "".join(c for c, _, _ in chars)
    if text.isascii():
        return chars
    converted = _to_simplified(text)
    if len(converted) != len(text):  # a phrase conversion changed the length: go char by char
        converted = "".join(_to_simplified(c) if len(_to_simplified(c)) == 1 else c for c, _, _ in chars)
    return [(n, s, e) for n, (_, s, e) in zip(converted, chars, strict=True)]


def _replace(chars: Chars, pattern: re.Pattern[str] | None, table: Mapping[str, str]) -> Chars:
    if pattern is None:
        return chars
    text = "".join(c for c, _, _ in chars)
    out: Chars = []
    pos = 0
    for m in pattern.finditer(text):
        out.extend(chars[pos:m.start()])
        start, end = chars[m.start()][1], chars[m.end() - 1][2]
        out.extend((r, start, end) for r in table[m.group()])
        pos = m.end()
    out.extend(chars[pos:])
    return out


def _despace(chars: Chars) -> Chars:
    out: Chars = []
    n = len(chars)
    # spaces inside a number written one digit a word (拨打 1 2 0: a transcript-source call splits typed text)
    joined = {k for m in LONE_DIGIT_GAP.finditer("".join(c for c, _, _ in chars)) for k in range(m.start(), m.end())}
    i = 0
    while i < n:
        ch = chars[i][0]
        if ch != " ":
            out.append(chars[i])
            i += 1
            continue
        j = i
        while j < n and chars[j][0] == " ":
            j += 1
        before = out[-1][0] if out else ""
        after = chars[j][0] if j < n else ""
        if before and after and not is_cjk(before) and not is_cjk(after) and i not in joined:
            out.append(chars[i])
        i = j
    return out


def _digits(chars: Chars) -> Chars:
    text = "".join(c for c, _, _ in chars)
    if not any(c in CHINESE_DIGITS for c in text):
        return chars
    out = list(chars)
    for m in _DIGIT_RUN.finditer(text):
        if not any(c in CHINESE_DIGITS for c in m.group()):
            continue
        for k in range(m.start(), m.end()):
            c, s, e = out[k]
            out[k] = (SPOKEN_DIGITS.get(c, c), s, e)
    return out


def compile_replacements(table: Mapping[str, str]) -> re.Pattern[str] | None:
    """One alternation (longest first) over the keys of a replacement table."""
    if not table:
        return None
    keys = sorted(table, key=len, reverse=True)
    return re.compile("|".join(re.escape(k) for k in keys))


def normalize(
    text: str,
    replacements: Mapping[str, str] | None = None,
    *,
    _compiled: re.Pattern[str] | None = None,
) -> Normalized:
    """Normalise ``text`` (see the module docstring); ``replacements`` are applied last."""
    table = replacements or {}
    pattern = _compiled if _compiled is not None else compile_replacements(table)
    chars = _fold(text)
    chars = _simplify(chars)
    chars = _despace(chars)
    while chars and chars[0][0] == " ":
        chars.pop(0)
    while chars and chars[-1][0] == " ":
        chars.pop()
    chars = _digits(chars)
    chars = _replace(chars, pattern, table)
    return Normalized(
        text="".join(c for c, _, _ in chars),
        source=text,
        starts=tuple(s for _, s, _ in chars),
        ends=tuple(e for _, _, e in chars),
    )


class Normalizer:
    """``normalize`` with the replacement table of ``data/normalize.toml`` compiled once."""

    def __init__(self, replacements: Mapping[str, str] | None = None) -> None:
        self.replacements: dict[str, str] = dict(replacements or {})
        self._pattern = compile_replacements(self.replacements)

    @classmethod
    def load(cls, path: Path) -> Normalizer:
        doc = load_toml(path)
        doc.check_keys({"replace"})
        table = doc.table("replace", required=False)
        replacements: dict[str, str] = {}
        for key, value in table.raw.items():
            if not key or not isinstance(value, str) or not value:
                raise DataError(path, f"replace.{key}", "each replacement must map a non-empty text to one")
            replacements[key] = value
        return cls(replacements)

    def __call__(self, text: str) -> Normalized:
        return normalize(text, self.replacements, _compiled=self._pattern)
