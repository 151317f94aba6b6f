"""Chinese word segmentation for the hotline domain.

``Tokenizer`` wraps its *own* ``jieba.Tokenizer`` instance (jieba's module-level
tokenizer and its dictionary are never touched), loads the 12345 domain
dictionary ``data/userdict.txt`` and a stopword list ``data/stopwords.txt``.

Input may be typed text or recognizer output ("我 想 把 公积金 提 出来", digits
spoken as 一二三四五): ``prepare`` folds it to one canonical form first — the
engine's ``assist.nlp.normalize.normalize`` (half-width, lower case, simplified,
Chinese digit strings as digits), then NFKC and every space and punctuation mark
removed — so both kinds of input segment identically.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from assist.nlp.normalize import normalize

DATA_PACKAGE = "assist.nlp"


def data_path(name: str) -> Path:
    """Path of a shipped data file in ``assist/nlp/data``."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath("data", name)))


DEFAULT_USERDICT = data_path("userdict.txt")
DEFAULT_STOPWORDS = data_path("stopwords.txt")

# Everything that is not a letter, digit or CJK ideograph separates nothing: it is dropped.
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_USERDICT_LINE = re.compile(r"^(?P<word>\S+)(?:\s+(?P<freq>\d+))?(?:\s+(?P<tag>[A-Za-z]+))?$")
_JIEBA_LOG_LOCK = threading.Lock()


class DictionaryError(ValueError):
    """A dictionary or stopword data file is malformed; the message names file and line."""


@dataclass(frozen=True, slots=True)
class UserWord:
    word: str
    freq: int | None
    tag: str | None


def read_userdict(path: Path) -> list[UserWord]:
    """Parse a jieba-style user dictionary (``word [freq] [tag]``, ``#`` comments) strictly."""
    words: list[UserWord] = []
    for lineno, raw in enumerate(_read_lines(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _USERDICT_LINE.match(line)
        if match is None:
            raise DictionaryError(f"{path}:{lineno}: expected 'word [freq] [tag]', got {line!r}")
        freq = match["freq"]
        words.append(UserWord(match["word"], int(freq) if freq else None, match["tag"]))
    return words


def read_wordlist(path: Path) -> frozenset[str]:
    """Read a one-word-per-line list (``#`` comments, blank lines ignored)."""
    out: set[str] = set()
    for lineno, raw in enumerate(_read_lines(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if any(ch.isspace() for ch in line):
            raise DictionaryError(f"{path}:{lineno}: one word per line expected, got {line!r}")
        out.add(line)
    return frozenset(out)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise DictionaryError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DictionaryError(f"{path}: not UTF-8 ({exc.reason})") from None


def _engine_normalize(text: str) -> str:
    return normalize(text).text


def prepare(text: str, normalizer: Callable[[str], str] = _engine_normalize) -> str:
    """Fold typed or recognizer-style text to the canonical form that is segmented.

    ``normalizer`` (default: ``assist.nlp.normalize.normalize``) gives half-width,
    simplified, lower-case text with Chinese digit strings as digits; then NFKC is
    applied and every character that is not a letter, digit or CJK ideograph is dropped.
    """
    folded = unicodedata.normalize("NFKC", normalizer(text)).lower()
    return _NOT_WORD.sub("", folded)


class Tokenizer:
    """Domain-aware jieba segmentation with an isolated dictionary.

    ``userdict``/``stopwords`` default to the shipped data files.  The jieba prefix
    dictionary is built at construction (about 0.5-1 s, once per process that
    constructs one); construct one ``Tokenizer`` and share it.
    """

    def __init__(
        self,
        userdict: Path | None = None,
        *,
        stopwords: Path | None = None,
        hmm: bool = False,
        normalizer: Callable[[str], str] | None = None,
    ) -> None:
        import jieba  # heavy import kept out of module import

        self.userdict_path = userdict if userdict is not None else DEFAULT_USERDICT
        self.stopwords_path = stopwords if stopwords is not None else DEFAULT_STOPWORDS
        user_words = read_userdict(self.userdict_path)
        self.stopwords: frozenset[str] = read_wordlist(self.stopwords_path)
        self._hmm = hmm
        self._normalizer = normalizer if normalizer is not None else _engine_normalize
        self._jieba: Any = jieba.Tokenizer()
        _quiet_initialize(self._jieba)
        for w in user_words:
            self._jieba.add_word(w.word, w.freq, w.tag)
        self.user_words: frozenset[str] = frozenset(w.word for w in user_words)

    def prepare(self, text: str) -> str:
        """The canonical form of ``text`` that ``cut`` segments (see module ``prepare``)."""
        return prepare(text, self._normalizer)

    def cut(self, text: str) -> list[str]:
        """Words of ``text`` (typed or recognizer-style), without spaces or punctuation."""
        prepared = self.prepare(text)
        if not prepared:
            return []
        return [w for w in self._jieba.lcut(prepared, HMM=self._hmm) if w]

    def word_starts(self, text: str) -> frozenset[int]:
        """Offsets in ``text`` itself (not prepared: a normalised utterance) where a word starts, and its end."""
        starts, at = {len(text)}, 0
        for w in self._jieba.lcut(text, HMM=self._hmm):
            starts.add(at)
            at += len(w)
        return frozenset(starts)

    def terms(self, text: str) -> list[str]:
        """Content words: ``cut`` without stopwords."""
        return [w for w in self.cut(text) if w not in self.stopwords]

    def search_terms(self, text: str) -> list[str]:
        """Content words plus the dictionary words inside long words (住房公积金 -> 住房, 公积金, ...).

        Meant for retrieval: a caller's 住房公积金 still meets an entry's 公积金.
        """
        return self.expand(self.terms(text))

    def expand(self, words: list[str]) -> list[str]:
        """``words`` plus every 2- and 3-character dictionary word inside a longer word."""
        freq: dict[str, int] = self._jieba.FREQ
        out: list[str] = []
        for word in words:
            for n in (2, 3):
                if len(word) > n:
                    out.extend(
                        part
                        for part in (word[i : i + n] for i in range(len(word) - n + 1))
                        if freq.get(part) and part not in self.stopwords
                    )
            out.append(word)
        return out

    def is_stopword(self, word: str) -> bool:
        return word in self.stopwords


def _quiet_initialize(tokenizer: Any) -> None:
    """Build jieba's prefix dictionary without its DEBUG chatter on stderr."""
    logger = logging.getLogger("jieba")
    with _JIEBA_LOG_LOCK:
        previous = logger.level
        logger.setLevel(logging.WARNING)
        try:
            tokenizer.initialize()
        finally:
            logger.setLevel(previous)
