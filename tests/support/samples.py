"""The sample calls shipped in assist/training/samples/ (timed transcript lines, one JSON object per line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "assist" / "training" / "samples"
LEGAL = SAMPLES / "legal-dispute.jsonl"
NOISE = SAMPLES / "noise-complaint.jsonl"


def sample_lines(name: str) -> list[dict[str, Any]]:
    """The timed lines of ``assist/training/samples/<name>``."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
