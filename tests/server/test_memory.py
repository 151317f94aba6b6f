"""Memory freed by finished calls is handed back to the OS (glibc malloc_trim)."""

from __future__ import annotations

import sys

import pytest

from assist.memory import MemoryReleaser


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux only")
def test_release_returns_freed_heap_to_the_os() -> None:
    releaser = MemoryReleaser()
    assert releaser.available  # CI and the production servers run glibc Linux
    blocks = [bytearray(16 * 1024) for _ in range(20_000)]  # ~320 MB in small heap blocks (below mmap size)
    pin = blocks[-1]  # the last block keeps the heap's top in use, so free() alone cannot shrink it
    blocks.clear()
    before = rss_kib()
    releaser.release()
    assert rss_kib() < before - 100 * 1024  # at least 100 MB went back
    assert len(pin) == 16 * 1024
