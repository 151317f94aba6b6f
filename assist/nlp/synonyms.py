"""Retrieval thesaurus: groups of words a caller uses interchangeably (data/synonyms.txt).

Each non-comment line is one group, canonical word first, separated by spaces.
Every member is folded to its group's canonical word before knowledge-base
matching, so 驾照 in a call meets 驾驶证 in an entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from assist.nlp.tokenize import DictionaryError, Tokenizer, data_path

DEFAULT_SYNONYMS = data_path("synonyms.txt")


class Thesaurus:
    """Word -> canonical word mapping; words not listed map to themselves."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self._map: Mapping[str, str] = MappingProxyType(dict(mapping or {}))

    @classmethod
    def load(cls, path: Path | None = None, tokenizer: Tokenizer | None = None) -> Thesaurus:
        """Read a synonyms file strictly.

        With a ``tokenizer``, every word must segment as a single word (otherwise it
        could never match) — add multi-word phrases to the user dictionary first.
        """
        path = path if path is not None else DEFAULT_SYNONYMS
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise DictionaryError(f"{path}: file not found") from None
        except UnicodeDecodeError as exc:
            raise DictionaryError(f"{path}: not UTF-8 ({exc.reason})") from None
        mapping: dict[str, str] = {}
        where: dict[str, int] = {}
        for lineno, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if len(words) < 2:
                raise DictionaryError(f"{path}:{lineno}: a group needs at least two words, got {line!r}")
            head = words[0]
            for word in words:
                if word in where:
                    raise DictionaryError(
                        f"{path}:{lineno}: {word!r} is already in the group on line {where[word]}"
                    )
                if tokenizer is not None:
                    parts = tokenizer.cut(word)
                    if parts != [word]:
                        raise DictionaryError(
                            f"{path}:{lineno}: {word!r} is segmented as {' / '.join(parts)}; "
                            "add it to the user dictionary or remove it"
                        )
                where[word] = lineno
                mapping[word] = head
        return cls(mapping)

    def canonical(self, word: str) -> str:
        return self._map.get(word, word)

    def fold(self, words: Iterable[str]) -> list[str]:
        return [self._map.get(w, w) for w in words]

    def __len__(self) -> int:
        return len(self._map)
