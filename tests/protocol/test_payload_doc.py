"""docs/protocol.md lists every prompt kind's payload fields exactly as the dataclasses define them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from assist.protocol.enums import PromptKind
from assist.protocol.payloads import PAYLOADS

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
HEADER = "| `kind` | `data` fields | meaning |"


def documented_fields() -> dict[str, list[str]]:
    """``kind`` -> the backticked names of its ``data`` fields column, from the table under HEADER."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        (kind,) = re.findall(r"`([^`]+)`", cells[0])
        rows[kind] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def test_every_prompt_kind_is_documented_with_its_exact_fields() -> None:
    documented = documented_fields()
    assert list(documented) == [k.value for k in PromptKind]
    for kind, cls in PAYLOADS.items():
        fields = [f.name for f in dataclasses.fields(cls)]
        assert documented[kind.value] == fields, f"docs/protocol.md: the {kind} row lists the wrong fields"


def test_every_kind_has_a_payload_type() -> None:
    assert set(PAYLOADS) == set(PromptKind)
    assert len(set(PAYLOADS.values())) == len(PromptKind)
