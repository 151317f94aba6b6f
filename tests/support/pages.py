"""Where the browser tests find the pages, Chromium and their screenshots; viewports; the types of the
``new_page`` and ``screenshot`` fixtures (tests/web/pages/conftest.py); selectors and console errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, ViewportSize

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


def tid(name: str) -> str:
    """The CSS selector of the element with ``data-testid`` ``name``."""
    return f'[data-testid="{name}"]'


def console_errors(page: Page) -> list[str]:
    """A list that collects the page's console errors from now on."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    return errors
