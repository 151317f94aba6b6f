"""The caller's words as a knowledge base writes them: dialect and colloquial wording rewritten before
a knowledge search (``data/kb_wording.toml``).

The knowledge base's entries are written in standard Mandarin (社保怎么缴费？断缴了怎么办？); a caller
in north-eastern dialect says 社保断了仨月了咋整啊.  The lexical rankers (BM25 in ``kbhybrid.py``, and
``kb.py``) do not bridge 仨月 / 咋整 / 厂子黄了, so they see the rewritten query, and so does the hybrid
search's dense score.  The rules read the words as said; the sentence encoder of a learned model reads them
in the wording the model was trained with (its own copy of the table, ``querycap``).

A rewrite never touches a look-alike: words are rewritten whole and in their context only.
``[replace]`` words are rewritten anywhere, so they are long enough to mean one thing (厂子黄了, not
黄了: 香蕉都黄了); ``[ending]`` words only where they close a clause (能补不, not 能补不了);
``[answer]`` words only as the caller's whole answer (要得, not 还要得回来吗); ``keep`` words contain a
rewritten word and are left as said (没多会儿).  The table belongs to the knowledge base that loaded it
(``Analyzer.load`` reads it from its data directory, a deployment's own first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

WORDING_FILE = DEFAULT_DATA_DIR / "kb_wording.toml"
KEYS = ("particles", "openers", "keep", "replace", "ending", "answer")
# what may separate clauses in a normalised utterance (recogniser text has none: its end is the only one)
_BREAK = r"\s,.!?;:，。！？；：、…~～"


@dataclass(frozen=True, slots=True)
class QueryWording:
    """Replacements applied to a knowledge query in one pass, each in its own context (see the module)."""

    replace: tuple[tuple[str, str], ...] = ()
    ending: tuple[tuple[str, str], ...] = ()
    answer: tuple[tuple[str, str], ...] = ()
    keep: tuple[str, ...] = ()
    particles: tuple[str, ...] = ()
    openers: tuple[str, ...] = ()
    _to: dict[str, str] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        to = {k: k for k in self.keep} | dict(self.replace) | dict(self.ending) | dict(self.answer)
        object.__setattr__(self, "_to", to)
        object.__setattr__(self, "_pattern", self._compile() if to else None)

    @classmethod
    def load(cls, path: Path = WORDING_FILE) -> QueryWording:
        """Read and validate ``path``; raises ``DataError`` naming the file and entry."""
        data = load_toml(path)
        data.check_keys(KEYS)
        seen: dict[str, str] = {}

        def pairs(key: str) -> tuple[tuple[str, str], ...]:
            table = data.table(key, required=False)
            out = []
            for word in table.raw:
                if not word.strip():
                    raise table.error("words must be non-empty")
                if word in seen:
                    raise table.error(f"{word!r} is already in [{seen[word]}]")
                seen[word] = key
                out.append((word, table.text(word)))
            return tuple(out)

        keep = data.texts("keep")
        wording = cls(replace=pairs("replace"), ending=pairs("ending"), answer=pairs("answer"), keep=keep,
                      particles=data.texts("particles"), openers=data.texts("openers"))
        for word in keep:
            if word in seen:
                raise data.error(f"'keep': {word!r} is also rewritten in [{seen[word]}]")
            if not any(k in word for k in seen):
                raise data.error(f"'keep': {word!r} contains no rewritten word")
        return wording

    def _compile(self) -> re.Pattern[str]:
        """One alternation, longest word first (a keep word or a longer rewrite wins where it starts)."""
        particles = f"(?:{_alternation(self.particles)})*" if self.particles else ""
        closes = f"(?={particles}(?:[{_BREAK}]|$))"
        # an answer word starts the utterance or a clause, or follows an opener (嗯要得, 那要得嘛)
        starts = "|".join([f"(?<![^{_BREAK}])", *(f"(?<={re.escape(o)})" for o in self.openers)])
        alternatives: list[tuple[str, str]] = [(w, re.escape(w)) for w in self.keep]
        alternatives += [(w, re.escape(w)) for w, _ in self.replace]
        alternatives += [(w, re.escape(w) + closes) for w, _ in self.ending]
        alternatives += [(w, f"(?:{starts}){re.escape(w)}{closes}") for w, _ in self.answer]
        alternatives.sort(key=lambda a: -len(a[0]))
        return re.compile("|".join(p for _, p in alternatives))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._to[m.group(0)], text)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

