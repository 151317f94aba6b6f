"""Personal-data redaction: mainland ID-card, mobile and bank-card numbers.

``Redactor().redact(text)`` finds the numbers and masks them, whether they are
written as digits (``138 1234 5678``), as spoken Chinese numerals
(``幺三八一二三四五六七八``) or as Vosk writes them, one character per word
(``幺 三 八 一 二 ...``), or any mix.  The whole span of the number (spoken
characters and separators included) is replaced by one mask in Arabic digits:

* mobile (11 digits ``1[3-9]...``): ``138****5678``
* ID card, 18 characters with a valid ISO 7064 MOD 11-2 check character and a
  plausible birth date: ``110101********123X``; legacy 15 digits: ``110101*****0123``
* bank card (16 to 19 digits passing the Luhn check): ``6222 **** **** 1234``
  (one ``*`` per hidden digit, grouped by four)

Numbers that fail these checks (a wrong ID check character, 12345, a date, a sum
of money, a 6-digit code, a landline) are left as they are.  See docs/storage.md.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from assist.text import SPOKEN_DIGITS

KINDS: Final[tuple[str, ...]] = ("id_card", "mobile", "bank_card")

_DIGIT_VALUE: Final[dict[str, str]] = SPOKEN_DIGITS
_CHECK_CHARS: Final[str] = "Xx叉Ｘｘ"
_SEPARATORS: Final[str] = " \t\u3000\u00a0-－"
_ARABIC: Final[frozenset[str]] = frozenset(ch for ch in _DIGIT_VALUE if ch.isdigit())

_D = "[" + "".join(_DIGIT_VALUE) + "]"
_S = "[" + re.escape(_SEPARATORS) + "]{0,2}"
# One compiled pattern finds every candidate: a run of at least 11 digit characters
# (Arabic or spoken), optionally separated, optionally ending with an ID check letter.
_CANDIDATE: Final[re.Pattern[str]] = re.compile(f"{_D}(?:{_S}{_D}){{10,}}(?:{_S}[{_CHECK_CHARS}])?")

# First two digits of a mainland resident ID (province level), plus 71/81/82/83
# (Taiwan, Hong Kong, Macao residents' permits).
_PROVINCES: Final[frozenset[str]] = frozenset(
    str(code)
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 83))
    for code in range(first, last + 1)
)
_ID_WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final[str] = "10X98765432"
_MOBILE_PREFIXES: Final[tuple[str, ...]] = ("0086", "86", "0")
_EDGE_FILLER: Final[int] = 2  # spoken numerals glued to a number: 一直, 一下, 两个 ...
# Partials: a digit run still growing (at the end of the text) is masked from this many digits on, one
# anywhere else from PARTIAL_RUN on (a recogniser may still split or revise it); only the first
# PARTIAL_SHOWN digits stay, which every mask shows anyway.
PARTIAL_TAIL: Final[int] = 4
PARTIAL_RUN: Final[int] = 7
PARTIAL_SHOWN: Final[int] = 3
_ANY_RUN: Final[re.Pattern[str]] = re.compile(f"{_D}(?:{_S}{_D})*(?:{_S}[{_CHECK_CHARS}])?")


@dataclass(frozen=True, slots=True)
class Finding:
    """One masked number: ``kind`` and its ``[start, end)`` character span in the input text."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Redacted:
    """Masked ``text``; ``original`` is the input only when originals are kept and something was found."""

    text: str
    findings: tuple[Finding, ...]
    original: str | None = None


# ------------------------------------------------------------------ validators


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number."""
    return _ID_CHECK[sum((ord(c) - 48) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _plausible_birth(yyyymmdd: str, today: _dt.date) -> bool:
    try:
        born = _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= today


def _id_shaped(s: str, today: _dt.date) -> bool:
    """18 characters with a province code and a plausible birth date (check character not tested)."""
    return len(s) == 18 and s[:17].isdigit() and s[:2] in _PROVINCES and _plausible_birth(s[6:14], today)


def is_id18(s: str, today: _dt.date) -> bool:
    return _id_shaped(s, today) and id_check_char(s[:17]) == s[17]


def is_id15(s: str, today: _dt.date) -> bool:
    return len(s) == 15 and s.isdigit() and s[:2] in _PROVINCES and _plausible_birth("19" + s[6:12], today)


def is_mobile(s: str) -> bool:
    return len(s) == 11 and s[0] == "1" and s[1] in "3456789" and s.isdigit()


def is_bank_card(s: str) -> bool:
    return 16 <= len(s) <= 19 and s.isdigit() and luhn_ok(s)


def mask(kind: str, digits: str) -> str:
    """The mask shown instead of a number (see the module docstring)."""
    if kind == "mobile":
        return digits[:3] + "****" + digits[7:]
    if kind == "id_card":
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
    hidden = len(digits) - 8
    groups = ["*" * min(4, hidden - i) for i in range(0, hidden, 4)]
    return " ".join([digits[:4], *groups, digits[-4:]])


# ------------------------------------------------------------------ redactor


@dataclass(frozen=True, slots=True)
class _Run:
    """A candidate run: normalised digits (``X`` for a check letter) and their source spans."""

    digits: str
    spans: tuple[tuple[int, int], ...]
    spoken: tuple[bool, ...]  # True where the character was a Chinese numeral / check letter
    bounds: frozenset[int]  # digit indices where a separator next to an Arabic digit splits groups


class Redactor:
    """Finds and masks personal numbers; immutable and safe to share between tasks.

    ``keep_originals`` only decides whether ``Redacted.original`` carries the input
    text; ``Redacted.text`` is always masked.
    """

    def __init__(self, keep_originals: bool = False, *, today: _dt.date | None = None) -> None:
        self.keep_originals = keep_originals
        self._today = today or _dt.date.today()

    # ---------------------------------------------------------------- public API

    def redact(self, text: str) -> Redacted:
        """Mask every personal number in ``text``."""
        found = self._scan(text)
        if not found:
            return Redacted(text, ())
        out: list[str] = []
        pos = 0
        findings: list[Finding] = []
        for kind, start, end, digits in found:
            out.append(text[pos:start])
            out.append(mask(kind, digits))
            findings.append(Finding(kind, start, end))
            pos = end
        out.append(text[pos:])
        return Redacted("".join(out), tuple(findings), text if self.keep_originals else None)

    def mask_text(self, text: str) -> str:
        """Masked text only (for logs and dashboards)."""
        return self.redact(text).text if _CANDIDATE.search(text) else text

    def mask_partial(self, text: str) -> str:
        """Mask a partial transcript conservatively: complete numbers as in ``mask_text``, and every
        digit run that could still grow into a mobile, ID or bank-card number (see ``PARTIAL_TAIL``)."""
        text = self.mask_text(text)
        return "".join(piece for piece, _ in self._partial_pieces(text))

    def mask_partial_words(self, words: Sequence[str]) -> list[str]:
        """``mask_partial`` for recogniser words: a word overlapping a masked run becomes ``*``."""
        joined = " ".join(words)
        spans = [span for _, span in self._partial_pieces(self.mask_text(joined)) if span is not None]
        masked = self.redact_words(words)
        pos = 0
        out: list[str] = []
        for w, m in zip(words, masked, strict=True):
            s, e = pos, pos + len(w)
            pos = e + 1
            out.append("*" if any(a < e and s < b for a, b in spans) else m)
        return out

    def _partial_pieces(self, text: str) -> list[tuple[str, tuple[int, int] | None]]:
        """``text`` cut into pieces; masked runs carry their source span."""
        pieces: list[tuple[str, tuple[int, int] | None]] = []
        pos = 0
        end = len(text.rstrip(_SEPARATORS))
        for m in _ANY_RUN.finditer(text):
            run = _parse_run(m.group(), m.start())
            if m.start() > 0 and text[m.start() - 1] == "*":
                continue  # the tail of a number ``mask_text`` already masked
            growing = m.end() >= end
            if len(run.digits) < (PARTIAL_TAIL if growing else PARTIAL_RUN):
                continue
            pieces.append((text[pos : m.start()], None))
            shown = run.digits[:PARTIAL_SHOWN]
            pieces.append((shown + "*" * (len(run.digits) - PARTIAL_SHOWN), (m.start(), m.end())))
            pos = m.end()
        pieces.append((text[pos:], None))
        return pieces

    def find(self, text: str) -> tuple[Finding, ...]:
        return tuple(Finding(kind, start, end) for kind, start, end, _ in self._scan(text))

    def redact_obj(self, value: Any) -> Any:
        """Mask every string inside a JSON-like value (dicts, lists, tuples); keys are kept."""
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, Mapping):
            return {k: self.redact_obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_obj(v) for v in value]
        return value

    def redact_words(self, words: Sequence[str]) -> list[str]:
        """Mask recogniser words: a word overlapping a number is replaced by ``*``.

        The words are joined with spaces (as the recogniser writes them) so a number
        spread over several words is still found.
        """
        offsets: list[tuple[int, int]] = []
        pos = 0
        for w in words:
            offsets.append((pos, pos + len(w)))
            pos += len(w) + 1
        findings = self.find(" ".join(words))
        if not findings:
            return list(words)
        return [
            "*" if any(s < f.end and f.start < e for f in findings) else w
            for w, (s, e) in zip(words, offsets, strict=True)
        ]

    # ---------------------------------------------------------------- internals

    def _scan(self, text: str) -> list[tuple[str, int, int, str]]:
        results: list[tuple[str, int, int, str]] = []
        for m in _CANDIDATE.finditer(text):
            run = _parse_run(m.group(), m.start())
            for kind, i, j in self._cover(run):
                digits = run.digits[i:j]
                results.append((kind, run.spans[i][0], run.spans[j - 1][1], digits))
        return results

    def _matches_at(self, d: str, i: int) -> list[tuple[str, int, int]]:
        """Numbers that start at digit ``i`` (``(kind, start, end)``), most specific first."""
        out: list[tuple[str, int, int]] = []
        if is_id18(d[i : i + 18], self._today):
            out.append(("id_card", i, i + 18))
        for n in (19, 18, 17, 16):
            if n == 18 and _id_shaped(d[i : i + 18], self._today):
                continue  # an ID with a wrong check character is not a bank card
            if i + n <= len(d) and is_bank_card(d[i : i + n]):
                out.append(("bank_card", i, i + n))
        if is_mobile(d[i : i + 11]):
            out.append(("mobile", i, i + 11))
        for p in _MOBILE_PREFIXES:
            if d.startswith(p, i) and is_mobile(d[i + len(p) : i + len(p) + 11]):
                out.append(("mobile", i + len(p), i + len(p) + 11))
        if is_id15(d[i : i + 15], self._today):
            out.append(("id_card", i, i + 15))
        return out

    def _cover(self, run: _Run) -> list[tuple[str, int, int]]:
        """Explain the whole run as numbers plus allowed filler, with the least filler.

        Allowed filler: up to two spoken numerals at either end (一直, 两个 glued to
        the number), a country prefix before a mobile, and whole digit groups set
        apart by a separator next to an Arabic digit (``13812345678 2号楼``).
        Runs that cannot be explained are left alone: that is what keeps ticket
        numbers, order numbers and dates unmasked.
        """
        d, n = run.digits, len(run.digits)
        # best[j] = (filler chars, pieces, previous position, number ending at j or None) for d[:j]
        best: list[tuple[int, int, int, tuple[str, int, int] | None] | None] = [None] * (n + 1)
        best[0] = (0, 0, -1, None)

        def relax(i: int, j: int, cost: int, pieces: int, number: tuple[str, int, int] | None) -> None:
            cur = best[j]
            if cur is None or (cost, pieces) < (cur[0], cur[1]):
                best[j] = (cost, pieces, i, number)

        group_ends = sorted(run.bounds | {n})
        next_end = {start: end for start, end in zip([0, *group_ends], group_ends, strict=False)}
        for i in range(n):
            state = best[i]
            if state is None:
                continue
            cost, pieces = state[0], state[1] + 1
            for kind, s, e in self._matches_at(d, i):
                relax(i, e, cost, pieces, (kind, s, e))
            if i == 0:
                for k in range(1, min(_EDGE_FILLER, n) + 1):
                    if all(run.spoken[:k]):
                        relax(i, k, cost + k, pieces, None)
            if n - i <= _EDGE_FILLER and all(run.spoken[i:]):
                relax(i, n, cost + n - i, pieces, None)
            if i in next_end:  # one whole group as filler (several groups chain)
                j = next_end[i]
                relax(i, j, cost + j - i, pieces, None)
        numbers: list[tuple[str, int, int]] = []
        pos = n
        while pos > 0:
            step = best[pos]
            if step is None:
                return []
            if step[3] is not None:
                numbers.append(step[3])
            pos = step[2]
        return numbers[::-1]


def _parse_run(chunk: str, offset: int) -> _Run:
    digits: list[str] = []
    spans: list[tuple[int, int]] = []
    spoken: list[bool] = []
    bounds: set[int] = set()
    gap = False
    prev_arabic = False
    for k, ch in enumerate(chunk):
        value = _DIGIT_VALUE.get(ch)
        if value is None and ch in _CHECK_CHARS:
            value = "X"
        if value is None:  # separator
            gap = True
            continue
        arabic = ch in _ARABIC
        if gap and digits and (arabic or prev_arabic):
            bounds.add(len(digits))
        gap = False
        prev_arabic = arabic
        digits.append(value)
        spans.append((offset + k, offset + k + 1))
        spoken.append(not arabic)
    return _Run("".join(digits), tuple(spans), tuple(spoken), frozenset(bounds))


class RedactingFilter(logging.Filter):
    """A logging filter that masks personal numbers in every record's message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._redactor.mask_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
