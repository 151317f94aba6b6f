"""Homophone-tolerant phrase matching through toneless pinyin.

Only *candidate windows* are checked: a window of the phrase's length is a
candidate when at least half of its characters (and at least 2) already match
literally.  Each differing character must share a toneless reading with the
phrase character (``我不直到`` for ``我不知道``: 直/知 → zhi, 到/道 → dao).
Phrases shorter than 3 characters are never matched fuzzily (too ambiguous).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin, pinyin

MIN_FUZZY_LENGTH = 3
MIN_LITERAL = 2
_CACHE_LIMIT = 20000


class PinyinFuzzy:
    """Index of phrases for pinyin matching; holds a bounded per-instance reading cache."""

    def __init__(self, phrases: Iterable[tuple[str, int]]) -> None:
        self._phrases: list[tuple[str, int, tuple[str, ...], int]] = []
        self._by_char: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._readings: dict[str, frozenset[str]] = {}
        for phrase, key in phrases:
            if len(phrase) < MIN_FUZZY_LENGTH or not all("\u4e00" <= c <= "\u9fff" for c in phrase):
                continue
            sounds = tuple(lazy_pinyin(phrase, style=Style.NORMAL))
            if len(sounds) != len(phrase):
                continue
            allowed = len(phrase) - max(MIN_LITERAL, math.ceil(len(phrase) / 2))
            pid = len(self._phrases)
            self._phrases.append((phrase, key, sounds, allowed))
            for offset, ch in enumerate(phrase):
                self._by_char[ch].append((pid, offset))

    def readings(self, ch: str) -> frozenset[str]:
        """All toneless readings of one character (cached)."""
        got = self._readings.get(ch)
        if got is None:
            if len(self._readings) >= _CACHE_LIMIT:
                self._readings.clear()
            got = frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])
            self._readings[ch] = got
        return got

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """``(key, start, end)`` of every phrase that matches ``text`` by sound
        (exact literal occurrences included)."""
        if not self._phrases:
            return []
        votes: dict[tuple[int, int], int] = defaultdict(int)
        by_char = self._by_char
        for pos, ch in enumerate(text):
            for pid, offset in by_char.get(ch, ()):
                votes[(pid, pos - offset)] += 1
        out: list[tuple[int, int, int]] = []
        n = len(text)
        for (pid, start), count in votes.items():
            phrase, key, sounds, allowed = self._phrases[pid]
            length = len(phrase)
            if start < 0 or start + length > n or count < MIN_LITERAL or length - count > allowed:
                continue
            if all(text[start + j] == phrase[j] or sounds[j] in self.readings(text[start + j])
                   for j in range(length)):
                out.append((key, start, start + length))
        return out
