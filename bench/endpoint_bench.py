"""What utterance ends cost: forced finals at every voice-gate close vs longer hangovers vs Vosk's endpointing.

    python -m bench.endpoint_bench --model DIR --seconds 60

In-process, one warmed recognizer (the pool's situation), no server: the
half-silence call of ``bench.pool_bench`` goes through ``ChannelDecoder`` in
100 ms chunks once per variant.  Per variant: decode CPU (all, and inside the
forced finals), CPU per second of call audio, finals, words kept (against the
ungated decode), and the *audio-clock* delays: for each word of a final, how
much call audio had been fed when the word first appeared (partial or final)
after its last sample, and for each final, after its last word.  Audio-clock
delays exclude CPU time, so they show what the pipeline itself holds back.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assist.audio.channel import ChannelDecoder
from assist.audio.recognizer import Hypothesis, VoskModelFactory, VoskRecognizer
from assist.audio.vad import GateConfig
from bench.pool_bench import RATE, mono_sentences, mono_stream


class _TimedFlush:
    """A VoskRecognizer whose forced finals are timed (CPU of this thread)."""

    def __init__(self, inner: VoskRecognizer) -> None:
        self.inner = inner
        self.sample_rate = inner.sample_rate
        self.flush_cpu = 0.0
        self.flushes = 0

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        return self.inner.accept(pcm)

    def flush(self) -> list[Hypothesis]:
        began = time.thread_time()
        try:
            return self.inner.flush()
        finally:
            self.flush_cpu += time.thread_time() - began
            self.flushes += 1


@dataclass(frozen=True, slots=True)
class Variant:
    label: str
    gate: GateConfig


@dataclass(frozen=True, slots=True)
class Outcome:
    cpu_s: float
    flush_cpu_s: float
    flushes: int
    finals: int
    words: list[str]
    word_delays: list[float]  # s of audio fed between a word's end and its first appearance
    final_delays: list[float]  # s of audio fed between a final's last word end and the final


def run(recognizer: VoskRecognizer, audio: np.ndarray, gate: GateConfig) -> Outcome:
    recognizer.reset()
    timed = _TimedFlush(recognizer)
    decoder = ChannelDecoder(timed, RATE, gate=gate)
    step = RATE // 10
    seen: list[tuple[float, Hypothesis]] = []
    for i in range(0, audio.size, step):
        fed = min(i + step, audio.size) / RATE
        seen += [(fed, h) for h in decoder.feed(audio[i : i + step])]
    seen += [(audio.size / RATE, h) for h in decoder.finish()]
    words: list[str] = []
    word_delays: list[float] = []
    final_delays: list[float] = []
    pending: list[tuple[float, Hypothesis]] = []  # partials of the open utterance
    for fed, hyp in seen:
        if not hyp.final:
            pending.append((fed, hyp))
            continue
        for k, word in enumerate(hyp.words):
            first = next((f for f, p in pending if _has(p.text.split(), word.word, k)), fed)
            word_delays.append(first - word.end)
            words.append(word.word)
        if hyp.words:
            final_delays.append(fed - hyp.words[-1].end)
        pending.clear()
    return Outcome(decoder.stats.decode_cpu_s, timed.flush_cpu, timed.flushes, len(final_delays), words,
                   word_delays, final_delays)


def _has(tokens: list[str], word: str, index: int) -> bool:
    return (index < len(tokens) and tokens[index] == word) or word in tokens


def kept(words: str, reference: str) -> float:
    """Share of the reference characters recognised, in order (longest common subsequence)."""
    if not reference:
        return float("nan")
    prev = [0] * (len(words) + 1)
    for r in reference:
        cur = [0]
        for j, w in enumerate(words):
            cur.append(prev[j] + 1 if r == w else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1] / len(reference)


def recognizer_name(model: Path) -> str:
    resolved = model.resolve()
    return resolved.parent.name if resolved.name == "model" else resolved.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the half-silence call")
    parser.add_argument("--hangovers", default="300,500,800,1200", help="gate hangovers to try (ms)")
    args = parser.parse_args(argv)
    from assist.audio.models import ModelError, resolve_model_dir

    try:
        model = resolve_model_dir(args.model, os.environ)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    audio = mono_stream(0, args.seconds)
    recognizer = VoskModelFactory(model).create()
    variants = [Variant("gate off: Vosk endpointing only", GateConfig(enabled=False))]
    variants += [Variant(f"gate, hangover {h} ms, forced final", GateConfig(hangover_ms=int(h)))
                 for h in args.hangovers.split(",")]
    run(recognizer, audio, variants[0].gate)  # warm the recognizer on this very audio: the pool's steady state
    outcomes = [(v, run(recognizer, audio, v.gate)) for v in variants]
    reference = "".join(mono_sentences(0, args.seconds)).replace(" ", "")
    print(f"one {args.seconds:.0f} s half-silence call, 100 ms chunks, warmed recognizer ({recognizer_name(model)})")
    print(f"{'variant':40} {'CPU s':>6} {'CPU/s':>6} {'in finals':>9} {'finals':>6} {'chars ok':>10} "
          f"{'word p50/p95 (audio s)':>23} {'final p50/p95':>14}")
    for variant, o in outcomes:
        wp = np.percentile(o.word_delays, [50, 95]) if o.word_delays else [float("nan")] * 2
        fp = np.percentile(o.final_delays, [50, 95]) if o.final_delays else [float("nan")] * 2
        print(f"{variant.label:40} {o.cpu_s:6.2f} {o.cpu_s / args.seconds:6.3f} {o.flush_cpu_s:9.2f} "
              f"{o.finals:6d} {100 * kept(''.join(o.words), reference):9.0f}% {wp[0]:11.2f} / {wp[1]:.2f} "
              f"{fp[0]:7.2f} / {fp[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
