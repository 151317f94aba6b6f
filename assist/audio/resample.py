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

            # float32, not int16: libsoxr dithers when it writes int16, so the same audio would come out
            # different on every run; float32 output rounded here is exact and independent of chunking.
            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)

    def process(self, x: Int16Array) -> Int16Array:
        """Resample the next chunk; returns what the filter can release so far."""
        samples = np.ascontiguousarray(x, dtype=np.int16).reshape(-1)
        if self._stream is None:
            return samples
        return _to_int16(self._stream.resample_chunk(samples.astype(np.float32) / 32768.0))

    def flush(self) -> Int16Array:
        """End of stream: release the samples still held in the filter."""
        if self._stream is None:
            return _EMPTY
        return _to_int16(self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))


def _to_int16(y: npt.NDArray[np.float32]) -> Int16Array:
    out: Int16Array = np.clip(np.rint(y * 32768.0), -32768, 32767).astype(np.int16)
    return out
