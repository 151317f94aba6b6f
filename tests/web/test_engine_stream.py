"""The real engine over a real websocket: Korean Vosk model + espeak-ng Korean speech.

espeak's Korean is far from natural speech, so these tests check what the
server guarantees (partials before finals, word times in call time, roles,
isolation, codec handling), never exact recognised words.
"""

from __future__ import annotations

import asyncio
import difflib
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.recognizer import VoskModelFactory
from assist.audio.resample import StreamResampler
from assist.settings import ServerConfig
from assist.web.server import AssistServer
from bench.callclient import CallResult, stream_call
from bench.speech import KOREAN_SENTENCES

pytestmark = [pytest.mark.engine, pytest.mark.slow]

Speak = Callable[[str, int], npt.NDArray[np.int16]]


@pytest.fixture
async def engine_server(korean_factory: VoskModelFactory) -> AsyncIterator[AssistServer]:
    # Every 0.1 s message is decoded on its own (no coalescing of queued audio): the recognizer then
    # sees the same chunks whatever the machine's load, and its output is repeatable.
    config = ServerConfig(host="127.0.0.1", port=0, decode_threads=2, max_coalesce_seconds=0.1)
    server = AssistServer(config, korean_factory)
    await server.start()
    yield server
    await server.stop(grace=30)


def with_silence(speech: npt.NDArray[np.int16], rate: int, before: float, after: float = 0.6) -> bytes:
    pad = np.zeros(round(before * rate), np.int16), speech, np.zeros(round(after * rate), np.int16)
    return np.concatenate(pad).astype("<i2").tobytes()


def start(call_id: str, rate: int = 16000, **extra: Any) -> dict[str, Any]:
    return {"type": "start", "call_id": call_id, "agent_id": "a1", "sample_rate": rate, **extra}


def sox(data: bytes, source: list[str], target: list[str]) -> bytes:
    """Convert raw mono audio with sox (an implementation independent of the server's)."""
    command = ["sox", "-t", "raw", *source, "-c", "1", "-", "-t", "raw", *target, "-"]
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.split(), b.split()).ratio()


def text_of(result: CallResult, role: str | None = None) -> str:
    return " ".join(result.final_texts(role))


async def test_partials_come_before_finals_and_word_times_are_call_times(
    engine_server: AssistServer, korean_speech: Speak
) -> None:
    speech = korean_speech(KOREAN_SENTENCES[0], 16000)
    audio = with_silence(speech, 16000, before=1.0)
    duration = len(audio) / 32000
    # 0.1 s frames at twice real time: the worker gets several chunks per utterance
    result = await stream_call(engine_server.url + "/ws/call", start("ko1"), audio, chunk=3200,
                               bytes_per_second=64000)
    finals = result.transcripts(final=True)
    assert finals, "no final transcript"
    order = [(e["utterance_id"], e["final"]) for e in result.transcripts()]
    first_final = order.index((finals[0]["utterance_id"], True))
    assert (finals[0]["utterance_id"], False) in order[:first_final], "no partial before the first final"
    words = [w for f in finals for w in f["words"]]
    assert words
    for w in words:
        assert 0.0 <= w["start"] <= w["end"] <= duration + 1e-6
    # the voice gate skipped the leading second of silence, yet times are in call time
    assert words[0]["start"] >= 0.6
    assert words[-1]["end"] <= 1.0 + len(speech) / 16000 + 0.5
    assert all(f["start"] <= f["end"] for f in finals)
    assert result.ended and result.ended["summary"]["reason"] == "completed"


async def test_stereo_call_gives_transcripts_on_both_roles(engine_server: AssistServer, korean_speech: Speak) -> None:
    agent = korean_speech(KOREAN_SENTENCES[1], 16000)
    caller = korean_speech(KOREAN_SENTENCES[2], 16000)
    caller_at = 2.0
    n = max(round(0.3 * 16000) + len(agent), round(caller_at * 16000) + len(caller)) + 8000
    frames = np.zeros((n, 2), np.int16)
    frames[4800 : 4800 + len(agent), 0] = agent
    frames[round(caller_at * 16000) : round(caller_at * 16000) + len(caller), 1] = caller
    result = await stream_call(engine_server.url + "/ws/call", start("st", channels=2, roles=["agent", "caller"]),
                               frames.astype("<i2").tobytes(), chunk=6400)
    agent_finals = result.transcripts("agent", final=True)
    caller_finals = result.transcripts("caller", final=True)
    assert agent_finals and caller_finals
    assert all(f["utterance_id"].startswith("agent-") for f in agent_finals)
    assert caller_finals[0]["start"] >= caller_at - 0.5  # caller's speech is placed in call time
    assert agent_finals[0]["start"] < caller_finals[0]["start"]
    assert result.ended and set(result.ended["summary"]["utterances"]) == {"agent", "caller"}


async def test_concurrent_calls_do_not_mix(engine_server: AssistServer, korean_speech: Speak) -> None:
    url = engine_server.url + "/ws/call"
    audio = {k: with_silence(korean_speech(KOREAN_SENTENCES[i], 16000), 16000, before=0.3)
             for k, i in (("x", 3), ("y", 4))}
    together = await asyncio.gather(*(stream_call(url, start(f"{k}-both"), a, chunk=3200) for k, a in audio.items()))
    alone = [await stream_call(url, start(f"{k}-alone"), a, chunk=3200) for k, a in audio.items()]
    for result, call_id in zip(together, ("x-both", "y-both"), strict=True):
        assert {e["call_id"] for e in result.transcripts()} == {call_id}
    (x_both, y_both), (x_alone, y_alone) = [[text_of(r) for r in rs] for rs in (together, alone)]
    assert x_both and y_both and x_alone != y_alone
    # decoding is repeatable (fixed chunks), so running side by side changes nothing
    assert (x_both, y_both) == (x_alone, y_alone)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox missing: apt-get install sox")
async def test_8khz_mulaw_gives_the_words_of_the_same_audio_as_16khz_pcm(
    engine_server: AssistServer, korean_speech: Speak
) -> None:
    """Telephone audio: 8 kHz G.711 mu-law is decoded and resampled by the server.  The reference is the
    *same* mu-law signal decoded by sox (an independent G.711 decoder) and upsampled offline with the
    server's resampler, sent as 16 kHz PCM: the recognizer input is then identical, so the words must be."""
    speech = korean_speech(KOREAN_SENTENCES[0], 8000)
    pcm8 = with_silence(speech, 8000, before=0.3)
    mulaw = sox(pcm8, ["-r", "8000", "-e", "signed", "-b", "16"], ["-e", "mu-law", "-b", "8"])
    decoded = np.frombuffer(
        sox(mulaw, ["-r", "8000", "-e", "mu-law", "-b", "8"], ["-r", "8000", "-e", "signed", "-b", "16"]), "<i2"
    )
    up = StreamResampler(8000, 16000)
    pcm16 = np.concatenate((up.process(decoded), up.flush())).astype("<i2").tobytes()
    url = engine_server.url + "/ws/call"
    telephone = await stream_call(url, start("mulaw", 8000, encoding="mulaw"), mulaw, chunk=800)
    wideband = await stream_call(url, start("pcm16"), pcm16, chunk=3200)
    a, b = text_of(telephone), text_of(wideband)
    assert a and b
    print(f"\nmu-law 8 kHz: {a}\nPCM 16 kHz:   {b}\nword similarity {similarity(a, b):.2f}")
    assert a == b
    assert telephone.ended and abs(telephone.ended["summary"]["duration"] - len(mulaw) / 8000) < 1e-3
