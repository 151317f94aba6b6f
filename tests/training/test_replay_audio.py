"""Recorded calls replayed through the real Korean Vosk model (espeak-ng speech): determinism, WAV kinds, CLI."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.pcm import encode_mulaw
from assist.audio.recognizer import VoskModelFactory
from assist.audio.wavread import WavAudio, read_wav, write_wav
from assist.cli import main
from assist.protocol.decode import decode_events
from assist.training.replay import fresh_call_id, replay_audio
from assist.training.report import build_report
from assist.training.rules import TrainingRules
from assist.web.server import AssistServer
from tests.support.training import ServerMaker, call_url, canonical, finals, without_call_id
from tests.support.wav import riff

pytestmark = pytest.mark.engine

Speak = Callable[[str, int], npt.NDArray[np.int16]]
AGENT_SAYS = "안녕하세요 오늘 날씨가 정말 좋습니다"
CALLER_SAYS = "서울은 한국의 수도입니다"


@pytest.fixture
def stereo_wav(tmp_path: Path, korean_speech: Speak) -> Path:
    """A short stereo call: the agent (channel 0), then the caller (channel 1), 16 kHz PCM."""
    rate = 16000
    agent, caller = korean_speech(AGENT_SAYS, rate), korean_speech(CALLER_SAYS, rate)
    gap = np.zeros(rate // 2, dtype=np.int16)
    left = np.concatenate([gap, agent, gap, np.zeros(len(caller), np.int16), gap])
    right = np.concatenate([gap, np.zeros(len(agent), np.int16), gap, caller, gap])
    path = tmp_path / "call.wav"
    write_wav(path, np.stack([left, right], axis=1), rate)
    return path


async def replay_wav(server: AssistServer, audio: WavAudio, roles: tuple[str, ...], call_id: str,
                     speed: float = 0.0) -> tuple[list[dict[str, Any]], list[float]]:
    progress: list[float] = []
    result = await replay_audio(call_url(server), audio, roles, call_id=call_id, agent_id="T01", speed=speed,
                                on_event=lambda e: None, on_progress=progress.append)
    assert result.ended and result.error is None, result.error
    return result.events, progress


@pytest.mark.slow
async def test_two_replays_of_a_recording_are_identical(make_server: ServerMaker, korean_factory: VoskModelFactory,
                                                        stereo_wav: Path, rules: TrainingRules) -> None:
    audio = read_wav(stereo_wav)
    content = stereo_wav.read_bytes()  # noqa: ASYNC240 (a small test file)
    runs = []
    async with make_server(korean_factory) as server:
        for n in range(2):
            call_id = fresh_call_id(content, now=2000.0 + n)
            events, progress = await replay_wav(server, audio, ("agent", "caller"), call_id)
            runs.append((call_id, events))
            assert progress and progress[-1] == pytest.approx(audio.duration)  # every sample sent, in order
            assert progress == sorted(progress)
    (id1, ev1), (id2, ev2) = runs
    said = finals(ev1)
    assert {role for role, *_ in said} == {"agent", "caller"}  # the recogniser heard both channels
    assert said == finals(ev2)  # same words, same times
    assert canonical(ev1, id1) == canonical(ev2, id2)  # same prompts and alerts
    r1, r2 = build_report(decode_events(ev1), rules).to_dict(), build_report(decode_events(ev2), rules).to_dict()
    assert without_call_id(r1) == without_call_id(r2)
    assert r1["utterances"]["agent"] >= 1 and r1["utterances"]["caller"] >= 1 and r1["mode"] == "training"
    assert r1["greetings"]["opening"]["missing"] == ["问候", "报热线名", "询问诉求"]  # Korean is no 12345 greeting


@pytest.mark.slow
async def test_mono_recordings_at_44k_and_8k_mulaw(make_server: ServerMaker, korean_factory: VoskModelFactory,
                                                   korean_speech: Speak, tmp_path: Path) -> None:
    pad = np.zeros(4410, np.int16)
    high = tmp_path / "high.wav"
    write_wav(high, np.concatenate([pad, korean_speech(CALLER_SAYS, 44100), pad]), 44100)
    low = tmp_path / "low.wav"
    speech8k = np.concatenate([pad[:800], korean_speech(CALLER_SAYS, 8000), pad[:800]])
    low.write_bytes(riff(7, 1, 8000, 8, encode_mulaw(speech8k)))
    async with make_server(korean_factory) as server:
        for path, roles in ((high, ("mixed",)), (low, ("caller",))):
            audio = read_wav(path)
            events, _ = await replay_wav(server, audio, roles, fresh_call_id(path.name.encode()))
            said = finals(events)
            assert said and {r for r, *_ in said} == set(roles)
            assert said[-1][3] <= audio.duration + 0.05


@pytest.mark.slow
def test_cli_local_recording(stereo_wav: Path, korean_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(stereo_wav), "--local", "--model", str(korean_model_dir), "--speed", "max", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["call_id"].startswith("replay-") and set(report["utterances"]) == {"agent", "caller"}
    assert "坐席:" in err and "来电人:" in err  # the transcript lines, printed as they came (stderr with --json)


def test_cli_local_without_a_model(stereo_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSIST_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.delenv("ASSIST_MODEL", raising=False)
    code = main(["replay", str(stereo_wav), "--local", "--model", str(tmp_path / "nothing")])
    assert code == 2 and "not a usable Vosk model" in capsys.readouterr().err


@pytest.mark.slow
async def test_cli_over_url_paced_at_twice_real_time(make_server: ServerMaker, korean_factory: VoskModelFactory,
                                                     stereo_wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    duration = read_wav(stereo_wav).duration
    async with make_server(korean_factory) as server:
        began = time.monotonic()
        code = await asyncio.to_thread(main, ["replay", str(stereo_wav), "--url", server.url, "--speed", "2"])
        elapsed = time.monotonic() - began
    out, err = capsys.readouterr()
    assert code == 0, err
    assert elapsed >= (duration - 2.0) / 2  # after a 2 s burst the audio goes at twice real time
    assert "培训报告" in out and "坐席:" in out.split("培训报告")[0]
