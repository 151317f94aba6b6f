"""Regenerate docs/img/overlay.png and docs/img/supervisor.png from a run against the REAL server.

Runs the end-to-end browser test (tests/web/pages/test_e2e_real_server.py: the real server with
the full pipeline replays assist/training/samples/legal-dispute.jsonl while the overlay and two supervisor
dashboards watch) and copies the screenshots it keeps in test-artifacts/ to docs/img/.

Run from the repository root:  .venv/bin/python -m tests.support.doc_screenshots
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = ROOT / "docs" / "img"
ARTIFACTS = ROOT / "test-artifacts"
TEST = "test_live_call_on_overlay_and_supervisors"
TEST_FILE = ROOT / "tests" / "web" / "pages" / "test_e2e_real_server.py"
MAX_BYTES = 200_000


def main() -> int:
    code = pytest.main(["-q", "-p", "no:cacheprovider", f"{TEST_FILE}::{TEST}"])
    if code != 0:
        print("the end-to-end test failed: docs/img not updated", file=sys.stderr)
        return int(code)
    OUT.mkdir(parents=True, exist_ok=True)
    status = 0
    for name in ("overlay", "supervisor"):
        shot = ARTIFACTS / f"{TEST}-{name}.png"
        size = shot.stat().st_size
        if size > MAX_BYTES:
            print(f"{shot}: {size // 1024} KB is larger than {MAX_BYTES // 1000} KB; not copied", file=sys.stderr)
            status = 1
            continue
        shutil.copyfile(shot, OUT / f"{name}.png")
        print(f"{OUT / f'{name}.png'}: {size // 1024} KB")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
