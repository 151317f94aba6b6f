"""Voice-activity gate: decode speech, skip silence, never clip a word.

The gate works on the model-rate int16 stream in blocks of ``block_ms``.  A
block's level is its RMS in dBFS.  The noise floor is the *minimum* block level
over the last ``floor_window_ms`` (minimum statistics: even continuous speech has
quiet gaps between syllables within a second or two, so the minimum follows the
background, not the talker); until that window has filled, ``initial_floor_dbfs``
stands in for it, which makes the gate open rather than miss speech at the start
of a call.  A block is *loud* when its level exceeds both ``floor + snr_db`` and
the absolute ``min_level_dbfs``.

- Onset: ``min_speech_ms`` of consecutive loud blocks (a click does not open the
  gate).  The segment then starts ``pre_roll_ms`` *before* the first loud block,
  so soft word onsets (fricatives, breathy starts) are decoded too.
- While open, blocks are loud against ``snr_db - hysteresis_db`` (softer word
  endings keep the gate open) and the gate closes only after ``hangover_ms`` of
  quiet; the hangover audio is decoded and the segment end is reported so the
  caller can finalise the utterance at once.

Energy with an adaptive floor is chosen deliberately: it is cheap, has no model
and no extra dependency, works the same at any sample rate, and its failure
mode (opening on loud noise) only costs decode time, never transcript; the
recognizer still decides what is speech.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]

_SILENCE_DBFS = -100.0
_EMPTY: Int16Array = np.zeros(0, dtype=np.int16)


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Voice gate settings (all times in milliseconds, levels in dBFS / dB)."""

    enabled: bool = True
    block_ms: int = 20
    snr_db: float = 12.0
    hysteresis_db: float = 4.0
    min_level_dbfs: float = -50.0
    initial_floor_dbfs: float = -65.0
    floor_window_ms: int = 2000
    min_speech_ms: int = 60
    pre_roll_ms: int = 300
    hangover_ms: int = 500

    def __post_init__(self) -> None:
        if not 5 <= self.block_ms <= 100:
            raise ValueError("gate block_ms must be between 5 and 100 ms")
        for name in ("floor_window_ms", "min_speech_ms", "pre_roll_ms", "hangover_ms"):
            value = getattr(self, name)
            if value < 0 or value > 60_000:
                raise ValueError(f"gate {name} must be between 0 and 60000 ms, got {value}")
        if self.floor_window_ms < self.block_ms:
            raise ValueError("gate floor_window_ms must be at least one block")
        if not 0 <= self.hysteresis_db <= self.snr_db:
            raise ValueError("gate hysteresis_db must be between 0 and snr_db")
        if self.snr_db < 0:
            raise ValueError("gate snr_db must not be negative")
        for name in ("min_level_dbfs", "initial_floor_dbfs"):
            if not -100 <= getattr(self, name) <= 0:
                raise ValueError(f"gate {name} must be between -100 and 0 dBFS")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> GateConfig:
        """Strictly build a config from a TOML table; unknown keys and wrong types raise ValueError."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown gate setting(s): {', '.join(unknown)}")
        values: dict[str, object] = {}
        for key, value in data.items():
            default = getattr(cls(), key)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"gate {key} must be true or false")
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"gate {key} must be an integer")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"gate {key} must be a number")
            else:
                value = float(value)
            values[key] = value
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class GateOutput:
    """Samples to decode, ``start`` = their index in the gate's input stream.

    ``ends_segment``: a speech segment ends after these samples (``samples`` may
    then be empty).
    """

    start: int
    samples: Int16Array
    ends_segment: bool = False


def block_level_dbfs(block: Int16Array) -> float:
    """RMS level of a block in dBFS (full-scale sine ≈ -3 dBFS, digital silence = -100)."""
    if block.size == 0:
        return _SILENCE_DBFS
    mean_square = float(np.mean(np.square(block, dtype=np.float64)))
    if mean_square <= 0.0:
        return _SILENCE_DBFS
    return max(_SILENCE_DBFS, 10.0 * math.log10(mean_square) - 20.0 * math.log10(32768.0))


class VoiceGate:
    """Streaming voice gate over one int16 channel (see module docstring)."""

    def __init__(self, config: GateConfig, sample_rate: int) -> None:
        self.config = config
        self.block = sample_rate * config.block_ms // 1000
        if self.block <= 0:
            raise ValueError("sample rate too low for the gate block size")
        self._floor_blocks = max(1, config.floor_window_ms // config.block_ms)
        self._pre_roll_blocks = config.pre_roll_ms // config.block_ms
        self._onset_blocks = max(1, math.ceil(config.min_speech_ms / config.block_ms))
        self._hangover_blocks = max(1, math.ceil(config.hangover_ms / config.block_ms))
        self._levels: deque[float] = deque(maxlen=self._floor_blocks)
        self._partial = np.zeros(0, dtype=np.int16)
        self._position = 0  # input index of the first sample of ``_partial``
        self._held: deque[tuple[int, Int16Array]] = deque()  # closed gate: pre-roll + onset candidates
        self._open = False
        self._loud_run = 0
        self._quiet_run = 0
        self.segments = 0

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def noise_floor_dbfs(self) -> float:
        if len(self._levels) < self._floor_blocks:
            return min([self.config.initial_floor_dbfs, *self._levels])
        return min(self._levels)

    def process(self, samples: Int16Array) -> list[GateOutput]:
        """Feed samples; returns what to decode, in stream order."""
        if not self.config.enabled:
            out = np.ascontiguousarray(samples, dtype=np.int16)
            start = self._position
            self._position += out.size
            if out.size and self.segments == 0:
                self.segments = 1
            return [GateOutput(start, out)] if out.size else []
        data = np.concatenate([self._partial, np.asarray(samples, dtype=np.int16)])
        n_blocks = data.size // self.block
        outputs: list[GateOutput] = []
        for i in range(n_blocks):
            block = data[i * self.block : (i + 1) * self.block]
            self._step(self._position + i * self.block, block, outputs)
        self._position += n_blocks * self.block
        self._partial = data[n_blocks * self.block :].copy()
        return _merge(outputs)

    def flush(self) -> list[GateOutput]:
        """End of stream: decode the incomplete last block if the gate is open and close the segment."""
        if not self.config.enabled:
            return []
        outputs: list[GateOutput] = []
        if self._open:
            if self._partial.size:
                outputs.append(GateOutput(self._position, self._partial))
            outputs.append(GateOutput(self._position + self._partial.size, _EMPTY, ends_segment=True))
            self._open = False
        self._position += self._partial.size
        self._partial = np.zeros(0, dtype=np.int16)
        self._held.clear()
        self._loud_run = 0
        return _merge(outputs)

    def _step(self, start: int, block: Int16Array, outputs: list[GateOutput]) -> None:
        level = block_level_dbfs(block)
        floor = self.noise_floor_dbfs
        self._levels.append(level)
        margin = self.config.snr_db - (self.config.hysteresis_db if self._open else 0.0)
        loud = level > floor + margin and level > self.config.min_level_dbfs
        if self._open:
            self._quiet_run = 0 if loud else self._quiet_run + 1
            ends = self._quiet_run >= self._hangover_blocks
            outputs.append(GateOutput(start, block, ends_segment=ends))
            if ends:
                self._open = False
                self._loud_run = 0
            return
        self._held.append((start, block))
        self._loud_run = self._loud_run + 1 if loud else 0
        if self._loud_run >= self._onset_blocks:
            self._open = True
            self._quiet_run = 0
            self.segments += 1
            outputs.extend(GateOutput(s, b) for s, b in self._held)
            self._held.clear()
            return
        while len(self._held) > self._pre_roll_blocks + self._loud_run:
            self._held.popleft()



def _merge(outputs: list[GateOutput]) -> list[GateOutput]:
    """Join contiguous outputs (same segment) into one array each."""
    merged: list[GateOutput] = []
    run: list[GateOutput] = []

    def close_run() -> None:
        if run:
            samples = np.concatenate([o.samples for o in run]) if len(run) > 1 else run[0].samples
            merged.append(GateOutput(run[0].start, samples, run[-1].ends_segment))
            run.clear()

    for out in outputs:
        if run and (run[-1].ends_segment or run[-1].start + run[-1].samples.size != out.start):
            close_run()
        run.append(out)
    close_run()
    return merged
