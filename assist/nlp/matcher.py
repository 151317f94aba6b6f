"""Compiled multi-phrase matcher shared by the lexicons.

A ``PhraseMatcher`` holds many ``Entry``s (a key plus literal phrases, regular
expressions and exclusion contexts) and finds all of them in one pass:

* literal phrases: a first-character index + per-length dictionary look-up at
  each position (an Aho-Corasick-like scan, overlapping hits included);
* patterns: each entry's regular expressions (few; compiled at load); a pattern with a group named ``hit``
  (``(?P<hit>…)``) reports that group as its hit, the words before it deciding only whether it matches (the
  clause before a beating may not be past or told: the hit stays the beating, so the timing rules and the
  evidence marks read it as said);
* ``not_in``: a hit is dropped when it lies inside one of the entry's
  exclusion contexts (``跳楼`` inside ``跳楼价``);
* ``fuzzy`` entries are also matched through pinyin (``PinyinFuzzy``), which
  tolerates recognizer homophone slips (``我不直到`` for ``我不知道``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from assist.nlp.pinyin import PinyinFuzzy

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Entry(Generic[K]):
    """One lexicon entry: what to report (``key``) and what triggers it."""

    key: K
    phrases: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    not_in: tuple[str, ...] = ()
    fuzzy: bool = False


HIT_GROUP = "hit"  # a pattern's group reported as its hit (the module docstring)


@dataclass(frozen=True, slots=True)
class Hit(Generic[K]):
    """One occurrence of an entry in the (normalised) text."""

    key: K
    start: int
    end: int
    text: str
    fuzzy: bool = False


class PhraseMatcher(Generic[K]):
    """All entries compiled into look-up tables; ``find`` is a single scan."""

    def __init__(self, entries: Sequence[Entry[K]]) -> None:
        self.entries: tuple[Entry[K], ...] = tuple(entries)
        by_phrase: dict[str, list[int]] = defaultdict(list)
        lengths: dict[str, set[int]] = defaultdict(set)
        fuzzy: list[tuple[str, int]] = []
        for index, entry in enumerate(self.entries):
            for raw in entry.phrases:
                phrase = raw.lower()  # normalised text is lower-case (normalize.py)
                by_phrase[phrase].append(index)
                lengths[phrase[0]].add(len(phrase))
                if entry.fuzzy:
                    fuzzy.append((phrase, index))
        self._by_phrase = {p: tuple(ix) for p, ix in by_phrase.items()}
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        self._patterned = tuple(i for i, e in enumerate(self.entries) if e.patterns)
        self._fuzzy = PinyinFuzzy(fuzzy) if fuzzy else None

    def find(self, text: str, *, longest_only: bool = True) -> list[Hit[K]]:
        """All hits, ordered by position; with ``longest_only`` hits lying inside
        a longer hit are dropped (``满意`` inside ``不满意``)."""
        raw: list[tuple[int, int, int, bool]] = []  # (entry, start, end, fuzzy)
        lengths = self._lengths
        by_phrase = self._by_phrase
        n = len(text)
        for i in range(n):
            ls = lengths.get(text[i])
            if ls is None:
                continue
            for length in ls:
                if i + length <= n:
                    ix = by_phrase.get(text[i:i + length])
                    if ix is not None:
                        raw.extend((e, i, i + length, False) for e in ix)
        for e in self._patterned:
            for pattern in self.entries[e].patterns:
                hit = HIT_GROUP if HIT_GROUP in pattern.groupindex else 0
                for m in pattern.finditer(text):
                    start, end = m.span(hit)
                    if start >= end:  # the group did not take part or took nothing: the whole match is the hit
                        start, end = m.span()
                    if end > start:
                        raw.append((e, start, end, False))
        if self._fuzzy is not None:
            exact = {(e, s) for e, s, _, _ in raw}
            for e, s, end in self._fuzzy.find(text):
                if (e, s) not in exact:
                    raw.append((e, s, end, True))
        hits = [
            Hit(self.entries[e].key, s, end, text[s:end], fz)
            for e, s, end, fz in raw
            if not self._excluded(self.entries[e], text, s, end)
        ]
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        if longest_only and len(hits) > 1:
            hits = drop_contained(hits)
        return dedupe(hits)

    @staticmethod
    def _excluded(entry: Entry[K], text: str, start: int, end: int) -> bool:
        if not entry.not_in:
            return False
        matched = text[start:end]
        for context in entry.not_in:
            offset = context.find(matched)
            while offset >= 0:
                s = start - offset
                if s >= 0 and text.startswith(context, s):
                    return True
                offset = context.find(matched, offset + 1)
        return False


def drop_contained(hits: list[Hit[K]]) -> list[Hit[K]]:
    """Drop hits that lie strictly inside a longer hit (input sorted by start, longest first)."""
    out: list[Hit[K]] = []
    for hit in hits:
        if any(o.start <= hit.start and hit.end <= o.end and (o.end - o.start) > (hit.end - hit.start)
               for o in out):
            continue
        out.append(hit)
    return out


def dedupe(hits: list[Hit[K]]) -> list[Hit[K]]:
    """Drop repeated (key, start, end) hits, keeping order."""
    seen: set[tuple[object, int, int]] = set()
    out: list[Hit[K]] = []
    for hit in hits:
        marker = (hit.key, hit.start, hit.end)
        if marker not in seen:
            seen.add(marker)
            out.append(hit)
    return out
