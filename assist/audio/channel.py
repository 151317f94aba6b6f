"""One call channel: resample → voice gate → recognizer, with results in call time.

``ChannelDecoder`` is synchronous and meant to run in a worker thread (Vosk is
CPU bound).  The recognizer only sees the gated speech, so its clock skips the
silences; a piecewise map from "recognizer sample" to "call sample" turns every
time it reports (utterance and word times) back into seconds from the first
sample of the channel.

The recognizer is always given the same 100 ms blocks of the stream (ending at
multiples of 100 ms of model-rate samples; a segment's first block is shorter,
its last is flushed at the segment end), because Vosk's results depend on how audio is cut into
``AcceptWaveform`` calls; with the dither-free model (``VoskModelFactory``) and
the exact float resampler, the same recording gives the same transcript on
every replay, however its bytes arrived (network frames, coalesced queues).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import numpy.typing as npt

from assist.audio.recognizer import Hypothesis, StreamRecognizer
from assist.audio.resample import StreamResampler
from assist.audio.vad import GateConfig, GateOutput, VoiceGate
from assist.protocol.events import Word

Int16Array = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class DecodeStats:
    audio_in_s: float  # call audio received on this channel
    audio_decoded_s: float  # audio the recognizer was given (after gating)
    decode_cpu_s: float  # CPU time of this thread inside the recognizer
    segments: int  # speech segments the gate opened (1 when gating is off and audio was decoded)


class _TimeMap:
    """Maps recognizer-fed sample indices to call sample indices (piecewise, increasing)."""

    def __init__(self) -> None:
        self._fed_starts: list[int] = []
        self._call_starts: list[int] = []
        self._lengths: list[int] = []
        self.fed = 0

    def add(self, call_start: int, length: int) -> None:
        if length <= 0:
            return
        if self._lengths and self._call_starts[-1] + self._lengths[-1] == call_start:
            self._lengths[-1] += length
        else:
            self._fed_starts.append(self.fed)
            self._call_starts.append(call_start)
            self._lengths.append(length)
        self.fed += length

    def to_call(self, fed_index: float, *, is_end: bool) -> float:
        """Call sample index of a fed index; a boundary belongs to the earlier piece for end times."""
        if not self._fed_starts:
            return fed_index
        if is_end:
            i = max(0, bisect.bisect_left(self._fed_starts, fed_index) - 1)
        else:
            i = max(0, bisect.bisect_right(self._fed_starts, fed_index) - 1)
        offset = min(max(fed_index - self._fed_starts[i], 0.0), float(self._lengths[i]))
        return self._call_starts[i] + offset


class ChannelDecoder:
    """Decodes one channel of call audio; ``feed``/``finish`` return hypotheses in call time.

    ``gate=None`` decodes everything; a ``GateConfig`` skips silence and finalises
    each speech segment as soon as it ends.
    """

    def __init__(self, recognizer: StreamRecognizer, input_rate: int, gate: GateConfig | None = None) -> None:
        self.recognizer = recognizer
        self.input_rate = input_rate
        self.rate = recognizer.sample_rate
        self._resampler = StreamResampler(input_rate, self.rate)
        self._gate = VoiceGate(gate if gate is not None else GateConfig(enabled=False), self.rate)
        self._map = _TimeMap()
        self._samples_in = 0
        self._stream_len = 0  # samples at model rate produced by the resampler so far
        self._cpu = 0.0
        self._finished = False
        self._rec_block = max(1, self.rate // 10)  # 100 ms at the model rate
        self._rec_pending: Int16Array = np.zeros(0, dtype=np.int16)
        self._rec_pending_start = 0  # call sample index of the first pending sample

    @property
    def stats(self) -> DecodeStats:
        return DecodeStats(
            audio_in_s=self._samples_in / self.input_rate,
            audio_decoded_s=self._map.fed / self.rate,
            decode_cpu_s=self._cpu,
            segments=self._gate.segments,
        )

    def feed(self, samples: Int16Array) -> list[Hypothesis]:
        """Decode the next samples (int16, mono, ``input_rate``)."""
        if self._finished:
            raise RuntimeError("ChannelDecoder.feed after finish")
        mono = np.asarray(samples, dtype=np.int16).reshape(-1)
        self._samples_in += mono.size
        stream = self._resampler.process(mono)
        self._stream_len += stream.size
        return self._decode(self._gate.process(stream))

    def finish(self) -> list[Hypothesis]:
        """End of the channel: decode what is still buffered and return the last final."""
        if self._finished:
            return []
        self._finished = True
        tail = self._resampler.flush()
        self._stream_len += tail.size
        outputs = self._gate.process(tail) + self._gate.flush()
        hyps = self._decode(outputs)
        if not outputs or not outputs[-1].ends_segment:
            hyps += self._feed_pending()
            hyps += self._call(self.recognizer.flush)
        return hyps

    def _decode(self, outputs: list[GateOutput]) -> list[Hypothesis]:
        hyps: list[Hypothesis] = []
        for out in outputs:
            if out.samples.size:
                if self._rec_pending.size and self._rec_pending_start + self._rec_pending.size != out.start:
                    hyps += self._feed_pending()  # not contiguous (never expected inside a segment)
                if not self._rec_pending.size:
                    self._rec_pending_start = out.start
                self._rec_pending = np.concatenate((self._rec_pending, out.samples))
                # blocks end on whole 100 ms of the stream, not 100 ms after the segment began: a client
                # sending 100 ms messages then completes a block with each one, and no word waits for the next
                while self._rec_pending.size >= (need := self._to_block_end()):
                    hyps += self._feed(self._rec_pending[:need])
                    self._rec_pending = self._rec_pending[need:]
            if out.ends_segment:
                hyps += self._feed_pending()
                hyps += self._call(self.recognizer.flush)
        return hyps

    def _to_block_end(self) -> int:
        """Samples from the first pending one to the next whole block of the stream (1 to ``_rec_block``)."""
        return self._rec_block - self._rec_pending_start % self._rec_block

    def _feed(self, block: Int16Array) -> list[Hypothesis]:
        self._map.add(self._rec_pending_start, block.size)
        self._rec_pending_start += block.size
        pcm = block.astype("<i2", copy=False).tobytes()
        return self._call(partial(self.recognizer.accept, pcm))

    def _feed_pending(self) -> list[Hypothesis]:
        if not self._rec_pending.size:
            return []
        block, self._rec_pending = self._rec_pending, np.zeros(0, dtype=np.int16)
        return self._feed(block)

    def _call(self, fn: Callable[[], list[Hypothesis]]) -> list[Hypothesis]:
        """Run a recognizer call, account its CPU time and convert its times to call time."""
        started = time.thread_time()
        try:
            raw = fn()
        finally:
            self._cpu += time.thread_time() - started
        return [self._to_call_time(h) for h in raw]

    def _to_call_time(self, hyp: Hypothesis) -> Hypothesis:
        limit = self._stream_len / self.rate
        last = 0.0
        words: list[Word] = []
        for w in hyp.words:
            start = min(max(self._seconds(w.start, is_end=False), last), limit)
            end = min(max(self._seconds(w.end, is_end=True), start), limit)
            words.append(replace(w, start=start, end=end))
            last = end
        if words:
            return replace(hyp, start=words[0].start, end=words[-1].end, words=tuple(words))
        start = min(self._seconds(hyp.start, is_end=False), limit)
        end = min(max(self._seconds(hyp.end, is_end=True), start), limit)
        return replace(hyp, start=start, end=end)

    def _seconds(self, rec_time: float, *, is_end: bool) -> float:
        return self._map.to_call(rec_time * self.rate, is_end=is_end) / self.rate
