"""Knowledge base: strict JSONL/CSV import and thresholded retrieval.

``KnowledgeBase.load(path)`` reads and validates a centre's file (errors name the
line), ``search(text)`` returns the entries whose calibrated score (0..1, an
estimate of the probability that the entry answers the question; see
``assist.nlp.kbindex``) reaches the threshold, best first — [] for off-topic text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assist.nlp.jsonl import JsonLineError, json_lines
from assist.nlp.kbindex import DocTerms, FloatArray, Index, QueryTerms, RankerConfig
from assist.nlp.kbwording import QueryWording
from assist.nlp.synonyms import Thesaurus
from assist.nlp.tokenize import Tokenizer, data_path

__all__ = ["DEFAULT_KB", "KbEntry", "KbError", "KbHit", "KnowledgeBase", "RankerConfig", "read_entries"]

DEFAULT_KB = data_path("kb.jsonl")
FIELDS: tuple[str, ...] = ("id", "question", "answer", "department", "keywords", "source", "updated")
REQUIRED: tuple[str, ...] = ("id", "question", "answer", "department", "source", "updated")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYWORD_SPLIT = re.compile(r"[|;；｜]")



class KbError(ValueError):
    """A knowledge-base file or entry is invalid; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class KbEntry:
    id: str
    question: str
    answer: str
    department: str
    keywords: tuple[str, ...]
    source: str
    updated: str  # ISO date, YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class KbHit:
    id: str
    question: str
    answer: str
    score: float  # 0..1: estimated probability that the entry answers the question
    department: str
    source: str
    updated: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "score": round(self.score, 3),
            "department": self.department,
            "source": self.source,
            "updated": self.updated,
        }


# ----------------------------------------------------------------------------- loading


def validate_entry(record: Mapping[str, Any], where: str) -> KbEntry:
    """Turn one raw record into a ``KbEntry`` or raise ``KbError`` prefixed with ``where``."""
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise KbError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    values: dict[str, str] = {}
    for name in REQUIRED:
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name == "id":
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise KbError(f"{where}: missing field {name!r}")
        if not isinstance(value, str):
            raise KbError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
        values[name] = value.strip()
    if not _ISO_DATE.match(values["updated"]):
        raise KbError(f"{where}: field 'updated' must be an ISO date YYYY-MM-DD, got {values['updated']!r}")
    try:
        date.fromisoformat(values["updated"])
    except ValueError:
        raise KbError(f"{where}: field 'updated' is not a valid date: {values['updated']!r}") from None
    return KbEntry(
        id=values["id"],
        question=values["question"],
        answer=values["answer"],
        department=values["department"],
        keywords=_keywords(record.get("keywords"), where),
        source=values["source"],
        updated=values["updated"],
    )


def _keywords(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = _KEYWORD_SPLIT.split(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        raise KbError(f"{where}: field 'keywords' must be a list of strings or a '|'/';'-separated string")
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def read_entries(path: Path) -> list[KbEntry]:
    """Read and validate a JSONL or CSV knowledge base (chosen by extension)."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise KbError(f"{path}: unsupported knowledge-base format {suffix or '(none)'!r}; use .jsonl or .csv")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KbError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise KbError(f"{path}: not UTF-8 ({exc.reason})") from None
    records = _jsonl_records(path, text) if suffix == ".jsonl" else _csv_records(path, text)
    entries: list[KbEntry] = []
    seen: dict[str, str] = {}
    for where, record in records:
        entry = validate_entry(record, where)
        if entry.id in seen:
            raise KbError(f"{where}: duplicate id {entry.id!r} (first defined at {seen[entry.id]})")
        seen[entry.id] = where
        entries.append(entry)
    if not entries:
        raise KbError(f"{path}: no entries")
    return entries


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        for where, record in json_lines(text, str(path)):
            if not isinstance(record, dict):
                raise KbError(f"{where}: expected a JSON object, got {type(record).__name__}")
            yield where, record
    except JsonLineError as exc:
        raise KbError(f"{exc.where}: invalid JSON ({exc.error.msg} at column {exc.error.colno})") from None


def _csv_records(path: Path, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise KbError(f"{path}:1: empty file, expected header {','.join(FIELDS)}") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise KbError(f"{path}:1: header lacks column(s) {', '.join(missing)}; expected {','.join(FIELDS)}")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise KbError(f"{path}:1: duplicate column(s) {', '.join(duplicated)}")
    start = reader.line_num + 1
    for row in reader:
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise KbError(f"{where}: expected {len(header)} columns, got {len(row)}")
        yield where, dict(zip(header, row, strict=True))


# ----------------------------------------------------------------------------- retrieval


def char_bigrams(words: Sequence[str], stopwords: frozenset[str]) -> list[str]:
    """Character bigrams inside each run of consecutive non-stopwords."""
    grams: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and word not in stopwords:
            run.append(word)
            continue
        text = "".join(run)
        grams.extend(text[i : i + 2] for i in range(len(text) - 1))
        if len(text) == 1:
            grams.append(text)
        run = []
    return grams


class KnowledgeBase:
    """An immutable set of entries with a precomputed retrieval index.

    ``tokenizer`` (built if omitted, ~1 s) can be shared with the rest of the engine;
    ``thesaurus`` defaults to the shipped ``data/synonyms.txt``, ``wording`` (the caller's dialect
    wording as the entries write it, ``kbwording.py``) to the shipped ``data/kb_wording.toml``.
    """

    def __init__(
        self,
        entries: Sequence[KbEntry],
        tokenizer: Tokenizer | None = None,
        config: RankerConfig | None = None,
        thesaurus: Thesaurus | None = None,
        wording: QueryWording | None = None,
    ) -> None:
        seen: set[str] = set()
        for e in entries:
            if e.id in seen:
                raise KbError(f"duplicate id {e.id!r}")
            seen.add(e.id)
        self.entries: tuple[KbEntry, ...] = tuple(entries)
        self.tokenizer = tokenizer if tokenizer is not None else Tokenizer()
        self.config = config if config is not None else RankerConfig()
        self.thesaurus = thesaurus if thesaurus is not None else Thesaurus.load(tokenizer=self.tokenizer)
        self.wording = wording if wording is not None else QueryWording.load()
        self._index = Index([self._doc_terms(e) for e in self.entries], self.config)

    @classmethod
    def load(
        cls,
        path: Path,
        tokenizer: Tokenizer | None = None,
        config: RankerConfig | None = None,
        thesaurus: Thesaurus | None = None,
        wording: QueryWording | None = None,
    ) -> KnowledgeBase:
        """Import a ``.jsonl`` or ``.csv`` knowledge base; raises ``KbError`` naming the bad line."""
        return cls(read_entries(path), tokenizer, config, thesaurus, wording)

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[KbEntry],
        tokenizer: Tokenizer | None = None,
        config: RankerConfig | None = None,
        thesaurus: Thesaurus | None = None,
        wording: QueryWording | None = None,
    ) -> KnowledgeBase:
        return cls(list(entries), tokenizer, config, thesaurus, wording)

    def __len__(self) -> int:
        return len(self.entries)

    def _field_terms(self, text: str) -> tuple[list[str], list[str]]:
        """(content words expanded and folded, character bigrams) of one field."""
        tk = self.tokenizer
        words = tk.cut(text)
        content = [w for w in words if w not in tk.stopwords]
        return self.thesaurus.fold(tk.expand(self.thesaurus.fold(content))), char_bigrams(words, tk.stopwords)

    def _folded(self, text: str) -> str:
        """``text`` segmented, synonym-folded and joined again (驾照到期 -> 驾驶证到期)."""
        return "".join(self.thesaurus.fold(self.tokenizer.cut(text)))

    def _doc_terms(self, e: KbEntry) -> DocTerms:
        question = self._field_terms(e.question)
        answer = self._field_terms(e.answer)
        keywords = [self._field_terms(k) for k in e.keywords]
        phrases = tuple(self._folded(k) for k in e.keywords)
        # keywords are separate phrases: bigrams never run across two of them
        return DocTerms(
            words=(question[0], [w for k in keywords for w in k[0]], answer[0]),
            grams=(question[1], [g for k in keywords for g in k[1]], answer[1]),
            phrases=phrases,
            head="|".join((self._folded(e.question), *phrases)),
        )

    def query_terms(self, text: str) -> QueryTerms:
        """The terms of a caller's text as the index sees them."""
        tk = self.tokenizer
        words = tk.cut(text)
        content = self.thesaurus.fold([w for w in words if w not in tk.stopwords])
        folded = self.thesaurus.fold(words)
        return QueryTerms(
            words=self.thesaurus.fold(tk.expand(content)),
            grams=char_bigrams(words, tk.stopwords),
            content=frozenset(w for w in content if len(w) > 1),
            text="".join(folded),
            content_chars=tuple(
                w not in tk.stopwords for w, f in zip(words, folded, strict=True) for _ in f
            ),
        )

    def features(self, text: str) -> FloatArray:
        """Per-entry ranking features of ``text`` (for calibration, see ``bench.kb_calibrate``)."""
        return self._index.features(self.query_terms(text))

    def scores(self, text: str) -> FloatArray:
        """Score (0..1) of every entry for ``text`` (its dialect wording as the entries write it,
        ``self.wording``), in entry order, before thresholding."""
        return self._index.scores(self.query_terms(self.wording(text)))

    def search(self, text: str, limit: int = 3, min_score: float | None = None) -> list[KbHit]:
        """Best entries for ``text`` scoring at least the threshold, best first; [] when none does."""
        if limit <= 0 or not self.entries:
            return []
        scores = self.scores(text)
        threshold = self.config.threshold if min_score is None else min_score
        order = np.argsort(-scores, kind="stable")[:limit]
        hits: list[KbHit] = []
        for i in order:
            score = float(scores[i])
            if score < threshold or score <= 0.0:
                break
            e = self.entries[int(i)]
            hits.append(KbHit(e.id, e.question, e.answer, score, e.department, e.source, e.updated))
        return hits
