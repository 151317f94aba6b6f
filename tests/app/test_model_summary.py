"""Trial 3, problem 14: the startup log and /stats name the learned analysis model (its version), or say
that analysis runs on the rules only and why."""

from __future__ import annotations

import json
import logging

import pytest

from assist.app import load_analyzer
from assist.nlp.analyzer import Analyzer
from assist.nlp.learned import DEFAULT_MODEL_DIR, MODEL_FILE
from assist.settings import ServerConfig


def test_the_startup_log_names_the_shipped_models_version(caplog: pytest.LogCaptureFixture) -> None:
    version = json.loads((DEFAULT_MODEL_DIR / MODEL_FILE).read_text(encoding="utf-8"))["version"]
    with caplog.at_level(logging.INFO, logger="assist.web.server"):
        analyzer = load_analyzer(ServerConfig())
    assert analyzer is not None and analyzer.learns
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("analysis: ")]
    assert lines == [f"analysis: {analyzer.model_summary()}"]
    assert f"learned analysis model {version}" in lines[0]


def test_rules_only_says_so_and_why() -> None:
    summary = Analyzer.load().model_summary()
    assert summary.startswith("rules only: ") and "not requested" in summary
