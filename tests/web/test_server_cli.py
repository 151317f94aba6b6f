"""``assist serve``: configuration and model errors exit 2 with a message saying what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assist.cli import main
from tests.support.scripted_server import free_port


def test_no_model_exits_2_naming_the_install_command_no_model_and_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ASSIST_MODEL", raising=False)
    monkeypatch.setenv("ASSIST_MODELS_DIR", str(tmp_path / "no-models"))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Vosk model is installed")
    assert "assist models download" in err
    assert "`assist serve --no-model`" in err and "`assist serve --no-model --demo`" in err


def test_model_flag_that_is_not_a_model_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a usable Vosk model" in err and "assist models download" in err


def test_bad_setting_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSIST_MAX_CALLS", "lots")
    assert main(["serve"]) == 2
    assert "ASSIST_MAX_CALLS='lots' is invalid" in capsys.readouterr().err
    assert main(["serve", "--port", "-5"]) == 2


@pytest.mark.engine
def test_unusable_warm_up_speech_exits_2_naming_the_file(
    korean_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "warmup.wav"
    bad.write_bytes(b"not a wav file")
    monkeypatch.setenv("ASSIST_POOL_WARMUP_AUDIO", str(bad))
    assert main(["serve", "--port", "0", "--model", str(korean_model_dir), "--no-store"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: not usable as warm-up audio" in err and "ASSIST_POOL_WARMUP_AUDIO" in err


@pytest.mark.engine
@pytest.mark.slow
def test_serve_runs_until_sigterm(korean_model_dir: Path) -> None:
    port = free_port()
    env = {**os.environ, "ASSIST_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assist", "serve", "--port", str(port), "--model", str(korean_model_dir)],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    assert response.read() == b"ok\n"
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        log = proc.stderr.read() if proc.stderr else ""
        assert "loaded from" in log and f"listening on ws://127.0.0.1:{port}" in log and "stopped" in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_open_server_on_a_network_address_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = str(tmp_path / "tokens.toml")
    assert main(["serve", "--host", "0.0.0.0", "--tokens", empty, "--no-model"]) == 2
    err = capsys.readouterr().err
    assert "anyone on the network" in err and "assist tokens issue" in err and "--insecure-no-auth" in err
    (tmp_path / "broken.toml").write_text("[[token]]\nid = 1\n")
    assert main(["serve", "--tokens", str(tmp_path / "broken.toml"), "--no-model"]) == 2
    assert "broken.toml" in capsys.readouterr().err
    assert main(["serve", "--cert", str(tmp_path / "missing.pem"), "--no-model", "--tokens", empty]) == 2
    assert "does not exist" in capsys.readouterr().err
