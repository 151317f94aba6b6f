"""Give memory freed by a finished call back to the operating system.

Each call's recognizers allocate a few hundred MB inside Kaldi from the decode
threads.  glibc keeps freed blocks in per-thread arenas, so a long shift of
calls shows as an ever higher resident size although nothing is leaked.
``malloc_trim(0)`` after a call returns those pages.  Elsewhere (musl, macOS,
Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def _load_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def run() -> None:
        trim(0)

    return run


class MemoryReleaser:
    """Calls ``malloc_trim`` (when the C library has it); cheap enough to run after every call."""

    def __init__(self) -> None:
        self._trim = _load_trim()

    @property
    def available(self) -> bool:
        return self._trim is not None

    def release(self) -> None:
        if self._trim is not None:
            self._trim()
