"""Streaming sample-rate conversion of one int16 channel (libsoxr).

The output is time aligned with the input: output sample ``k`` is input time
``k / out_rate`` (soxr compensates its filter delay), so call time of a
resampled sample is simply its index over ``out_rate``.  The filter holds back a
few tens of milliseconds until more input (or ``flush``) arrives; the total
output length is ``round(n_in * out_rate / in_rate)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]

_EMPTY: Int16Array = np.zeros(0, dtype=np.int16)


class StreamResampler:
    """Resamples a mono int16 stream chunk by chunk; identity when the rates are equal."""

    def __init__(self, in_rate: int, out_rate: int, *, quality: str = "HQ") -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = None
        if in_rate != out_rate:
            import soxr

            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=quality)

    def process(self, x: Int16Array) -> Int16Array:
        """Resample the next chunk; returns what the filter can release so far."""
        samples = np.ascontiguousarray(x, dtype=np.int16).reshape(-1)
        if self._stream is None:
            return samples
        out: Int16Array = self._stream.resample_chunk(samples)
        return out

    def flush(self) -> Int16Array:
        """End of stream: release the samples still held in the filter."""
        if self._stream is None:
            return _EMPTY
        out: Int16Array = self._stream.resample_chunk(_EMPTY, last=True)
        return out
