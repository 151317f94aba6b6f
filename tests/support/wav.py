"""WAV files built byte by byte, for encodings and layouts no writer at hand produces."""

from __future__ import annotations

import struct


def riff(tag: int, channels: int, rate: int, bits: int, data: bytes, *, extensible: bool = False,
         extra_chunks: bytes = b"") -> bytes:
    """A RIFF/WAVE file: format ``tag`` (1 PCM, 3 float, 6 A-law, 7 mu-law), optionally WAVE_FORMAT_EXTENSIBLE."""
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0)
        fmt += struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body
