"""The call protocol over a real websocket, with the scripted recognizer."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np

from assist.audio.pcm import encode_alaw, encode_mulaw
from assist.protocol.errors import CLOSE_NORMAL
from bench.callclient import CallResult, stream_call
from tests.support.scripted_server import CALL_SECONDS, TEXTS_A, TEXTS_B, MakeServer, pcm, start_msg


def finals(result: CallResult, role: str | None = None) -> list[tuple[Any, ...]]:
    """Final transcripts reduced to what must not depend on how audio was split."""
    return [
        (e["role"], e["utterance_id"], e["text"], e["start"], e["end"],
         tuple((w["word"], w["start"], w["end"]) for w in e["words"]))
        for e in result.transcripts(role, final=True)
    ]


async def test_happy_path_ready_partials_finals_ended(make_server: MakeServer) -> None:
    server = await make_server()
    result = await stream_call(server.url + "/ws/call", start_msg("c1"), pcm())

    kinds = [r.event["type"] for r in result.events]
    assert kinds[0] == "ready" and kinds[-1] == "ended"
    ready = result.ready
    assert ready == {"type": "ready", "call_id": "c1", "model": "scripted", "model_sample_rate": 16000,
                     "roles": ["mixed"], "resumed": False}
    assert result.final_texts() == TEXTS_A
    assert [e["utterance_id"] for e in result.transcripts(final=True)] == ["mixed-0", "mixed-1"]
    # every utterance: growing partials first (same id), then exactly one final
    # (queued audio is decoded in one go, so a partial may be skipped; never the final)
    for utt, text in zip(("mixed-0", "mixed-1"), TEXTS_A, strict=True):
        events = [e for e in result.transcripts() if e["utterance_id"] == utt]
        assert len(events) >= 2
        assert [e["final"] for e in events] == [False] * (len(events) - 1) + [True]
        sizes = [len(e["text"].split()) for e in events[:-1]]
        assert sizes == sorted(set(sizes)) and all(text.startswith(e["text"]) for e in events)
        assert events[-1]["words"] and all(not e["words"] for e in events[:-1])
    first = result.transcripts(final=True)[0]
    assert first["start"] == 0.2 and first["end"] == 1.0
    assert [(w["word"], w["start"], w["end"]) for w in first["words"]] == [("hello", 0.2, 0.5), ("there", 0.6, 1.0)]
    ended = result.ended
    assert ended is not None
    assert ended["summary"] == {"duration": CALL_SECONDS, "utterances": {"mixed": 2}, "reason": "completed",
                                "audio_bytes": len(pcm())}
    assert result.close_code == CLOSE_NORMAL
    assert not result.errors


async def test_any_frame_split_gives_the_same_finals(make_server: MakeServer) -> None:
    server = await make_server(scripts=[[*map(list, [[("one", 0.1, 0.4)], [("two", 1.0, 1.3), ("three", 1.4, 2.9)]])]])
    audio = pcm(seed=1)
    baseline = await stream_call(server.url + "/ws/call", start_msg("base"), audio, chunk=3200)
    rng = random.Random(7)
    splits: list[list[int]] = [[1, 1, 3, 5, 7, 2001], [4095], [rng.randrange(1, 9000) for _ in range(200)]]
    for i, sizes in enumerate(splits):
        result = await stream_call(server.url + "/ws/call", start_msg(f"split{i}"), audio, chunk=sizes)
        assert finals(result) == finals(baseline), sizes
        assert result.ended and result.ended["summary"]["audio_bytes"] == len(audio)
    assert [f[2] for f in finals(baseline)] == ["one", "two three"]


async def test_stereo_gives_both_roles(make_server: MakeServer) -> None:
    server = await make_server()
    result = await stream_call(server.url + "/ws/call",
                               start_msg("st", channels=2, roles=["agent", "caller"]), pcm(channels=2))
    assert result.ready and result.ready["roles"] == ["agent", "caller"]
    # channel 0 got the first script, channel 1 the second (the factory hands scripts out in turn)
    assert result.final_texts("agent") == TEXTS_A
    assert result.final_texts("caller") == TEXTS_B
    assert {e["utterance_id"] for e in result.transcripts("caller", final=True)} == {"caller-0", "caller-1"}
    assert result.ended and result.ended["summary"]["utterances"] == {"agent": 2, "caller": 2}
    assert result.ended["summary"]["duration"] == CALL_SECONDS


async def test_roles_can_be_given_in_either_order(make_server: MakeServer) -> None:
    server = await make_server()
    result = await stream_call(server.url + "/ws/call",
                               start_msg("st", channels=2, roles=["caller", "agent"]), pcm(channels=2))
    assert result.final_texts("caller") == TEXTS_A  # channel 0
    assert result.final_texts("agent") == TEXTS_B


async def test_two_concurrent_calls_do_not_mix(make_server: MakeServer) -> None:
    server = await make_server()
    url = server.url + "/ws/call"
    first_ready = asyncio.Event()

    async def call_one() -> CallResult:
        return await stream_call(url, start_msg("one"), pcm(), chunk=1600, bytes_per_second=32000 * 4,
                                 after_ready=lambda _ws: first_ready.set())

    async def call_two() -> CallResult:
        await first_ready.wait()  # call one has its recognizer (script A) before call two asks for one
        return await stream_call(url, start_msg("two"), pcm(), chunk=1000, bytes_per_second=32000 * 4)

    one, two = await asyncio.gather(call_one(), call_two())
    assert one.final_texts() == TEXTS_A
    assert two.final_texts() == TEXTS_B
    assert {e["call_id"] for e in one.transcripts()} == {"one"}
    assert {e["call_id"] for e in two.transcripts()} == {"two"}
    # they really overlapped in time
    assert one.events[0].at < two.events[-1].at and two.events[0].at < one.events[-1].at


async def test_g711_8khz_input_is_resampled_to_the_model_rate(make_server: MakeServer) -> None:
    server = await make_server()
    samples = np.zeros(round(CALL_SECONDS * 8000), dtype=np.int16)
    for encoding, data in (("mulaw", encode_mulaw(samples)), ("alaw", encode_alaw(samples))):
        result = await stream_call(server.url + "/ws/call", start_msg(encoding, rate=8000, encoding=encoding),
                                   data, chunk=801)
        assert result.ready and result.ready["model_sample_rate"] == 16000
        texts = result.final_texts()
        assert texts in (TEXTS_A, TEXTS_B)
        assert result.ended and abs(result.ended["summary"]["duration"] - CALL_SECONDS) < 1e-9
        assert result.ended["summary"]["audio_bytes"] == len(data)


async def test_resume_from_shifts_times_into_call_time(make_server: MakeServer) -> None:
    server = await make_server()
    result = await stream_call(server.url + "/ws/call", start_msg("r", resume_from=60.0), pcm())
    assert result.ready and result.ready["resumed"] is True
    first = result.transcripts(final=True)[0]
    assert (first["start"], first["end"]) == (60.2, 61.0)
    assert first["words"][0]["start"] == 60.2
