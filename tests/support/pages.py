"""Where the browser tests find the pages, Chromium and their screenshots; viewports; the types of the
``new_page`` and ``screenshot`` fixtures (tests/web/pages/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "assist" / "web" / "static"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("ASSIST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

OVERLAY_VIEWPORT = ViewportSize(width=360, height=780)
DESKTOP_VIEWPORT = ViewportSize(width=1280, height=760)

NewPage = Callable[..., Page]
Screenshot = Callable[[Page, str], Path]
