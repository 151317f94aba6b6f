"""The caller's words as a knowledge base writes them: dialect and colloquial wording rewritten before
a knowledge search (``data/kb_wording.toml``).

The knowledge base's entries are written in standard Mandarin (社保怎么缴费？断缴了怎么办？); a caller
in north-eastern dialect says 社保断了仨月了咋整啊.  Neither the lexical ranker (``kb.py``) nor the
sentence encoder (``kbhybrid.py``) bridges 仨 / 咋整 / 厂子黄了, so the search sees the rewritten
query.  Only the knowledge search does: the other analyses read the words as said.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WORDING_FILE = Path(__file__).parent / "data" / "kb_wording.toml"


@dataclass(frozen=True, slots=True)
class QueryWording:
    """Replacements applied to a knowledge query, longest first, in one pass."""

    table: tuple[tuple[str, str], ...] = ()

    @classmethod
    def load(cls, path: Path = WORDING_FILE) -> QueryWording:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        pairs = data.get("replace", {})
        if not isinstance(pairs, dict) or not all(isinstance(k, str) and isinstance(v, str) and k
                                                  for k, v in pairs.items()):
            raise ValueError(f"{path}: [replace] must map non-empty words to words")
        return cls(tuple(sorted(pairs.items(), key=lambda kv: -len(kv[0]))))

    def __call__(self, text: str) -> str:
        if not self.table or not text:
            return text
        return _pattern(self.table).sub(lambda m: dict(self.table)[m.group(0)], text)


@cache
def _pattern(table: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(k) for k, _ in table))


@cache
def shipped_wording() -> QueryWording:
    return QueryWording.load()
