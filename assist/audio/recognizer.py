"""Streaming speech recognizers: the interface, the real Vosk one, and a scripted test double.

INTERFACE CONTRACT:

- ``Hypothesis``: one recognizer result, partial or final, times in seconds
  relative to the samples fed to *this* recognizer (since it was created).
- ``StreamRecognizer`` protocol: ``accept(pcm: bytes) -> list[Hypothesis]`` takes
  s16le mono at ``sample_rate`` and returns zero or more results (at most one
  partial, the latest, after any finals); ``flush() -> list[Hypothesis]`` forces
  the final result of what was fed (end of speech or end of call) and leaves the
  recognizer usable.  Empty finals are never returned.  Not thread-safe: one
  worker thread at a time per recognizer.
- ``RecognizerFactory`` protocol: ``name``, ``sample_rate`` and ``create()``;
  ``VoskModelFactory(model_dir)`` loads one ``vosk.Model`` and creates one
  ``KaldiRecognizer`` per channel sharing it.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assist.audio.models import ModelError, check_model_dir, model_sample_rate
from assist.protocol.events import Word

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hypothesis:
    final: bool
    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()


class StreamRecognizer(Protocol):
    sample_rate: int

    def accept(self, pcm: bytes) -> list[Hypothesis]: ...

    def flush(self) -> list[Hypothesis]: ...


class RecognizerFactory(Protocol):
    name: str
    sample_rate: int

    def create(self) -> StreamRecognizer: ...


def _hypothesis(
    final: bool, text: str, raw_words: Sequence[dict[str, Any]], fed_s: float, offset_s: float = 0.0
) -> Hypothesis:
    """Build a hypothesis from Vosk's JSON words (``offset_s`` subtracted), clamped to the audio fed so far."""
    words: list[Word] = []
    last = 0.0
    for raw in raw_words:
        start = min(max(float(raw.get("start", last + offset_s)) - offset_s, last), fed_s)
        end = min(max(float(raw.get("end", start + offset_s)) - offset_s, start), fed_s)
        words.append(Word(str(raw.get("word", "")), start, end, float(raw.get("conf", 1.0))))
        last = end
    if words:
        return Hypothesis(final, text, words[0].start, words[-1].end, tuple(words))
    return Hypothesis(final, text, fed_s, fed_s, ())


class VoskRecognizer:
    """One Kaldi recognizer (one channel) over a shared ``vosk.Model``."""

    def __init__(self, model: Any, sample_rate: int) -> None:
        import vosk

        self.sample_rate = sample_rate
        self._rec = vosk.KaldiRecognizer(model, float(sample_rate))
        self._rec.SetWords(True)
        # No word times in partials: Vosk then aligns the partial lattice to words, which holds
        # every word back until it is complete and costs ~1.5 s of latency.  Finals carry word times.
        self._rec.SetPartialWords(False)
        self._fed = 0
        self._base = 0  # samples fed before the last reset(): Vosk's times go on counting across resets
        self._utterance_start = 0  # samples fed when the current utterance began (after the last final)
        self._last_partial = ""

    def reset(self) -> None:
        """Forget everything fed so far (for reuse by another call), keeping the graph's warm caches.

        ``FinalResult`` ends the utterance and makes Vosk rebuild its feature pipeline and decoder
        on the next audio (measured: audio cut mid-utterance then leaves no trace in what follows);
        ``Reset()`` alone keeps the unfinished features, which leaked words into the next audio.
        Times start again at 0: Vosk counts on from its creation, so the samples fed so far become
        the offset subtracted from every word time.
        """
        self._rec.FinalResult()
        self._rec.Reset()
        self._base += self._fed
        self._fed = 0
        self._utterance_start = 0
        self._last_partial = ""

    @property
    def fed_seconds(self) -> float:
        return self._fed / self.sample_rate

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        if len(pcm) % 2:
            raise ValueError("pcm must be whole 16-bit samples")
        if not pcm:
            return []
        self._fed += len(pcm) // 2
        if self._rec.AcceptWaveform(pcm):
            return self._final(self._rec.Result())
        partial = json.loads(self._rec.PartialResult())
        text = str(partial.get("partial", "")).strip()
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        return [Hypothesis(False, text, self._utterance_start / self.sample_rate, self.fed_seconds, ())]

    def flush(self) -> list[Hypothesis]:
        return self._final(self._rec.FinalResult())

    def _final(self, raw: str) -> list[Hypothesis]:
        self._last_partial = ""
        self._utterance_start = self._fed
        result = json.loads(raw)
        text = str(result.get("text", "")).strip()
        if not text:
            return []
        offset = self._base / self.sample_rate
        return [_hypothesis(True, text, result.get("result", []), self.fed_seconds, offset)]


def _model_name(model_dir: Path) -> str:
    resolved = model_dir.resolve()
    return resolved.parent.name if resolved.name == "model" else resolved.name


def _without_dither(model_dir: Path, into: Path) -> Path | None:
    """A view of ``model_dir`` whose MFCC config turns Kaldi's dithering off, or None if not possible.

    Kaldi adds random dither noise to every frame before computing features, from
    a process-wide random generator: the same audio then decodes differently on
    every run.  Training replays and evaluations need the same transcript each time,
    so the model is loaded through a folder of symbolic links that differs only in
    ``conf/mfcc.conf`` (``--dither=0``).  Nothing in the model itself is changed.
    """
    conf = model_dir / "conf"
    mfcc = conf / "mfcc.conf"
    if not mfcc.is_file():
        return None
    try:
        (into / "conf").mkdir(parents=True)
        for entry in model_dir.iterdir():
            if entry.name != "conf":
                (into / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        for entry in conf.iterdir():
            if entry.name != "mfcc.conf":
                (into / "conf" / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        lines = [ln for ln in mfcc.read_text(encoding="utf-8").splitlines() if not ln.strip().startswith("--dither")]
        (into / "conf" / "mfcc.conf").write_text("\n".join([*lines, "--dither=0.0"]) + "\n", encoding="utf-8")
    except OSError as exc:  # e.g. no symlinks on this file system
        log.warning("cannot turn off dithering for %s (%s): transcripts may vary between runs", model_dir, exc)
        return None
    return into


class VoskModelFactory:
    """Loads one Vosk model; ``create()`` gives a recognizer per channel sharing it.

    ``deterministic`` (default) loads the model with feature dithering off, so the
    same audio always gives the same transcript (see ``_without_dither``).
    """

    def __init__(self, model_dir: Path, *, deterministic: bool = True) -> None:
        check = check_model_dir(model_dir)
        if not check.ok:
            raise ModelError(f"{model_dir} is not a usable Vosk model: {'; '.join(check.problems)}")
        import vosk

        vosk.SetLogLevel(-1)
        load_dir = model_dir
        self.deterministic = False
        if deterministic:
            with tempfile.TemporaryDirectory(prefix="assist-model-") as tmp:
                view = _without_dither(model_dir, Path(tmp) / "model")
                self._model = self._load(vosk, view or model_dir)
                self.deterministic = view is not None
        else:
            self._model = self._load(vosk, load_dir)
        self.model_dir = model_dir
        self.name = _model_name(model_dir)
        self.sample_rate = model_sample_rate(model_dir)

    @staticmethod
    def _load(vosk: Any, model_dir: Path) -> Any:
        try:
            return vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception on load failure
            raise ModelError(f"Vosk could not load the model in {model_dir}: {exc}") from exc

    def create(self) -> VoskRecognizer:
        return VoskRecognizer(self._model, self.sample_rate)


# ---------------------------------------------------------------- scripted test double

ScriptWord = tuple[str, float, float]
Script = Sequence[Sequence[ScriptWord]]


class ScriptedRecognizer:
    """Deterministic stand-in for a recognizer: says a script as audio time passes.

    ``script`` is a list of utterances, each a list of ``(word, start, end)`` in
    recognizer time (seconds of samples fed, whatever their content).  A partial
    with the words whose end has passed is emitted whenever that set grows; an
    utterance is final once ``last end + final_delay`` has been fed, or on
    ``flush`` (with the words begun so far; the rest stays for later).
    """

    def __init__(self, script: Script, sample_rate: int = 16000, *, final_delay: float = 0.3) -> None:
        self.sample_rate = sample_rate
        self.final_delay = final_delay
        self._pending: deque[list[Word]] = deque()
        last = 0.0
        for utterance in script:
            words: list[Word] = []
            for word, start, end in utterance:
                if not word or start < last or end < start:
                    raise ValueError(f"script words must be non-empty and in time order: {word!r} {start}-{end}")
                words.append(Word(word, float(start), float(end)))
                last = end
            if words:
                self._pending.append(words)
        self._fed = 0
        self._partial_count = 0

    @property
    def fed_seconds(self) -> float:
        return self._fed / self.sample_rate

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        if len(pcm) % 2:
            raise ValueError("pcm must be whole 16-bit samples")
        self._fed += len(pcm) // 2
        now = self.fed_seconds
        out = self._due_finals(now)
        if self._pending:
            heard = [w for w in self._pending[0] if w.end <= now]
            if len(heard) > self._partial_count:
                self._partial_count = len(heard)
                out.append(_scripted(False, heard))
        return out

    def flush(self) -> list[Hypothesis]:
        now = self.fed_seconds
        out = self._due_finals(now)
        if self._pending:
            current = self._pending[0]
            begun = [w for w in current if w.start < now]
            if begun:
                clipped = [Word(w.word, w.start, min(w.end, now), w.conf) for w in begun]
                out.append(_scripted(True, clipped))
                del current[: len(begun)]
                if not current:
                    self._pending.popleft()
        self._partial_count = 0
        return out

    def _due_finals(self, now: float) -> list[Hypothesis]:
        out: list[Hypothesis] = []
        while self._pending and self._pending[0][-1].end + self.final_delay <= now:
            out.append(_scripted(True, self._pending.popleft()))
            self._partial_count = 0
        return out


def _scripted(final: bool, words: Sequence[Word]) -> Hypothesis:
    return Hypothesis(final, " ".join(w.word for w in words), words[0].start, words[-1].end, tuple(words))


class ScriptedFactory:
    """Gives ``ScriptedRecognizer``s in turn: the i-th ``create()`` gets ``scripts[i % len(scripts)]``.

    So a stereo call created channel by channel gets script 0 for channel 0 and
    script 1 for channel 1, and the next call starts again at script 0.
    """

    name = "scripted"

    def __init__(self, scripts: Sequence[Script], sample_rate: int = 16000, *, final_delay: float = 0.3) -> None:
        if not scripts:
            raise ValueError("ScriptedFactory needs at least one script")
        self.scripts = tuple(scripts)
        self.sample_rate = sample_rate
        self.final_delay = final_delay
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def create(self) -> ScriptedRecognizer:
        with self._lock:
            index = next(self._counter) % len(self.scripts)
        return ScriptedRecognizer(self.scripts[index], self.sample_rate, final_delay=self.final_delay)


class NoModelFactory:
    """Stands in for a model on a server run with ``--no-model``: transcript-source calls only.

    An audio call is refused with ``no_model`` instead of failing inside a worker.
    """

    name = "none"
    sample_rate = 16000

    def create(self) -> StreamRecognizer:
        from assist.protocol.errors import ErrorCode, ProtocolError

        raise ProtocolError(
            ErrorCode.NO_MODEL,
            "this server runs without a speech model (--no-model): send a transcript-source call, "
            "or restart it with a model (assist models download vosk-model-small-cn-0.22)",
        )
