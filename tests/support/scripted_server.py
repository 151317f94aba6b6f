"""Servers with the scripted recognizer: the scripts they recognise, audio and start messages for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from assist.audio.recognizer import Script
from assist.web.server import AssistServer

# Word times are seconds of call audio (the gate is off in these servers, so recogniser time = call time).
SCRIPT_A: Script = [
    [("hello", 0.2, 0.5), ("there", 0.6, 1.0)],
    [("how", 1.6, 1.8), ("are", 1.9, 2.1), ("you", 2.2, 2.5)],
]
SCRIPT_B: Script = [
    [("good", 0.3, 0.6), ("morning", 0.7, 1.1)],
    [("see", 1.7, 1.9), ("you", 2.0, 2.2), ("soon", 2.3, 2.6)],
]
TEXTS_A = ["hello there", "how are you"]
TEXTS_B = ["good morning", "see you soon"]
CALL_SECONDS = 3.0

MakeServer = Callable[..., Awaitable[AssistServer]]


def pcm(seconds: float = CALL_SECONDS, rate: int = 16000, channels: int = 1, *, seed: int | None = None) -> bytes:
    """Interleaved s16le audio: silence, or noise when ``seed`` is given."""
    n = round(seconds * rate) * channels
    if seed is None:
        return bytes(2 * n)
    return np.random.default_rng(seed).integers(-3000, 3000, n, dtype=np.int16).astype("<i2").tobytes()


def start_msg(call_id: str, rate: int = 16000, **extra: Any) -> dict[str, Any]:
    return {"type": "start", "call_id": call_id, "agent_id": "a1", "sample_rate": rate, **extra}


def free_port() -> int:
    """A TCP port that was free a moment ago (for servers started as a subprocess)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
