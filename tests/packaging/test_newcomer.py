"""The newcomer path: ``scripts/setup`` is quiet when nothing changed; ``scripts/serve`` without a model
and without a way to download one explains how to install one offline and starts in demo mode."""

from __future__ import annotations

import os
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.support.server_process import StderrLines, reaped, terminate

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_string_for_a_setuptools_that_accepts_it() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["license"] == "Apache-2.0"  # a TOML table makes setuptools >= 77 warn on every build
    assert any(req.startswith("setuptools>=77") for req in data["build-system"]["requires"])


@pytest.mark.slow
def test_setup_is_quiet_and_skips_pip_when_nothing_changed() -> None:
    first = subprocess.run([str(ROOT / "scripts" / "setup"), "test"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0 and first.stdout == "" and first.stderr == ""
    stamp = (ROOT / ".venv" / ".setup-stamp").read_text(encoding="utf-8")
    assert stamp.endswith("extras=test\n")
    again = subprocess.run([str(ROOT / "scripts" / "setup")], capture_output=True, text=True, timeout=600)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert (ROOT / ".venv" / ".setup-stamp").read_text(encoding="utf-8") == stamp  # no install ran


@pytest.mark.slow
def test_serve_without_a_model_or_a_download_starts_the_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSIST_")}
    # no model anywhere, and every download refused at once (a proxy on a closed port)
    env.update(ASSIST_DATA_DIR=str(tmp_path), https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               no_proxy="", NO_PROXY="")
    proc = subprocess.Popen([str(ROOT / "scripts" / "serve"), "--port", "0"], env=env, stderr=subprocess.PIPE,
                            text=True)
    with reaped(proc):
        stderr = StderrLines(proc)
        port = stderr.listening_port("scripts/serve", timeout=120)
        text = "".join(stderr.seen)
        paragraph = text[: text.index("DEMO MODE") + 300]
        assert "No Chinese speech model is installed" in paragraph
        assert "assist models install vosk-model-small-cn-0.22.zip" in paragraph
        assert "sha256 " in paragraph and "Connection refused" in paragraph
        assert "scripts/serve --no-model" in paragraph  # the way to run without demo calls
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/supervisor", timeout=10) as response:
            assert "演示" in response.read().decode()
        assert terminate(proc) == 0
    assert (tmp_path / "var" / "demo.sqlite3").is_file()  # the demo keeps its calls apart
    assert not list((tmp_path / "models").glob("vosk-*"))  # nothing half-downloaded is left as a model
