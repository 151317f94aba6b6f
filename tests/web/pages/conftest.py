"""Fixtures for browser tests: headless Chromium, pages that fail on JS errors, screenshots,
and the fake assist server (tests/support/fake_page_server.py) playing the scripted shift.

Reusable by end-to-end tests against the real server: ``browser``, ``new_page``, ``page``
and ``screenshot`` do not depend on the fake server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from assist.nlp.analyzer import Analyzer
from tests.support.fake_page_server import FakeServer
from tests.support.pages import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLIENT_DIR,
    OVERLAY_VIEWPORT,
    NewPage,
    Screenshot,
)
from tests.support.real_server import RealServer
from tests.support.scenario import hotline_scenario


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system (Debian package), shared by the browser tests.

    Package scope, not session: Playwright's sync API keeps an event loop running on the main
    thread while it is open, and every asyncio test after it would then fail to start its own.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set ASSIST_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Factory: ``new_page(viewport=...)`` opens a page in a fresh context.

    Uncaught JavaScript errors on any page fail the test at teardown.
    """
    contexts = []
    errors: list[str] = []

    def make(viewport: ViewportSize | None = None) -> Page:
        ctx = browser.new_context(viewport=viewport or OVERLAY_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(8000)
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """One narrow (overlay-sized) page."""
    return new_page()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """``screenshot(page, "name")`` saves test-artifacts/<test>-<name>.png and returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name)

    def shoot(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test}-{name}.png"
        page.screenshot(path=str(path))
        return path

    return shoot


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """The fake assist server playing the scripted shift (see scenario.py)."""
    server = FakeServer(CLIENT_DIR, hotline_scenario(time.time())).start()
    yield server
    server.close()


# ---------------------------------------------------------------- the real server (end-to-end tests)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """The real analysis engine, loaded once per module."""
    return Analyzer.load()


@pytest.fixture
def real_server(analyzer: Analyzer, tmp_path: Path) -> Iterator[RealServer]:
    """The real assist server with the full pipeline (tests/support/real_server.py), stopped afterwards."""
    server = RealServer(tmp_path / "calls.sqlite3", analyzer).start()
    yield server
    server.close()
