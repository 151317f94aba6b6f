"""Keeping independently clocked capture channels in step (headset client).

The operator's microphone and the caller's loopback/monitor source are two
PortAudio streams on two clocks.  Their blocks arrive at different moments and
in different sizes, one device may run a little fast (tens of ppm), and a
loopback source may deliver nothing at all for a while (WASAPI loopback is
silent while nothing plays; a device may stall or lose samples on overflow).

``ChannelAligner`` merges them by sample counts:

* Samples wait per channel; as soon as every channel has some, the common
  length is emitted as interleaved frames.  Jitter between callbacks is
  absorbed by this buffer and never alters the audio.
* A channel that starts later than the others is aligned on the most recent
  sample (tail alignment): the others' audio captured before its first block
  is paired with silence.
* When one channel falls more than ``max_skew`` samples behind the most
  advanced one (a stalled or idle device, a slower clock, lost samples),
  silence is inserted into the lagging channel to bring it level.  The
  audio keeps flowing at the pace of the channel that delivers.
* Nothing is ever dropped.  If the lagging channel later delivers its
  backlog in a burst, it becomes the advanced one and the others get the
  silence instead: every captured sample reaches the call, channels stay
  within ``max_skew`` of each other, and the call timeline runs ahead of the
  wall clock by the silence inserted (``padded``), which is reported.

With a clock drift of 50 ppm and ``max_skew`` of 0.2 s, one correction (0.2 s
of silence in the slower channel) happens about every 67 minutes.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


class ChannelAligner:
    """Merges mono int16 streams into interleaved ``(n, channels)`` frames, in step."""

    def __init__(self, channels: int, max_skew: int) -> None:
        if channels < 1:
            raise ValueError("channels must be at least 1")
        if max_skew < 0:
            raise ValueError("max_skew must not be negative")
        self.channels = channels
        self.max_skew = max_skew
        self._queues: list[deque[Int16Array]] = [deque() for _ in range(channels)]
        self._lengths = [0] * channels
        self._started = [False] * channels
        self.padded = [0] * channels  # samples of silence inserted, per channel
        self.corrections = 0  # times a lagging channel was padded
        self.emitted = 0  # frames emitted

    @property
    def buffered(self) -> tuple[int, ...]:
        """Samples waiting per channel (at most one channel is non-empty between calls)."""
        return tuple(self._lengths)

    def push(self, channel: int, samples: Int16Array) -> Int16Array:
        """Add ``samples`` of ``channel``; return the frames now complete, shape ``(n, channels)``."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range 0..{self.channels - 1}")
        block = np.asarray(samples, dtype=np.int16).reshape(-1)
        if not self._started[channel]:
            self._started[channel] = True
            ahead = max(self._lengths) - len(block)
            if ahead > 0 and any(self._started[c] for c in range(self.channels) if c != channel):
                self._pad(channel, ahead)  # tail alignment of a late starter
        if len(block):
            self._queues[channel].append(block.copy())
            self._lengths[channel] += len(block)
        self._correct()
        return self._emit()

    def flush(self) -> Int16Array:
        """End of capture: pad every channel to the longest and return the remaining frames."""
        longest = max(self._lengths)
        for channel in range(self.channels):
            if self._lengths[channel] < longest:
                self._pad(channel, longest - self._lengths[channel])
        return self._emit()

    def _pad(self, channel: int, count: int) -> None:
        # Silence goes before what the channel holds: its newest sample stays paired with "now".
        self._queues[channel].appendleft(np.zeros(count, dtype=np.int16))
        self._lengths[channel] += count
        self.padded[channel] += count

    def _correct(self) -> None:
        longest = max(self._lengths)
        for channel in range(self.channels):
            lag = longest - self._lengths[channel]
            if lag > self.max_skew:
                self._pad(channel, lag)
                self.corrections += 1

    def _emit(self) -> Int16Array:
        n = min(self._lengths)
        out = np.empty((n, self.channels), dtype=np.int16)
        if n == 0:
            return out
        for channel, queue in enumerate(self._queues):
            out[:, channel] = _take(queue, n)
            self._lengths[channel] -= n
        self.emitted += n
        return out


def _take(queue: deque[Int16Array], n: int) -> Int16Array:
    """Remove and return the first ``n`` samples held in ``queue``."""
    parts: list[Int16Array] = []
    need = n
    while need:
        head = queue[0]
        if len(head) <= need:
            parts.append(queue.popleft())
            need -= len(head)
        else:
            parts.append(head[:need])
            queue[0] = head[need:]
            need = 0
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
