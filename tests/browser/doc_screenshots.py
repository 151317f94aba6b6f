"""Regenerate docs/img/overlay.png and docs/img/supervisor.png from the fake server's scripted shift.

Run from the repository root:  .venv/bin/python -m tests.browser.doc_screenshots
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import expect, sync_playwright

from .conftest import CHROMIUM, CHROMIUM_ARGS, CLIENT_DIR, ROOT
from .fake_server import FakeServer
from .scenario import AGENT, CALL, hotline_scenario

OUT = ROOT / "docs" / "img"
MAX_BYTES = 200_000


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    server = FakeServer(CLIENT_DIR, hotline_scenario(time.time())).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(viewport={"width": 360, "height": 860}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
            page = ctx.new_page()
            page.goto(f"{server.base_url}/?agent={AGENT}")
            expect(page.locator('[data-testid="banned-warning"]')).to_be_visible()
            expect(page.locator('[data-testid="critical-banner"]')).to_be_visible()
            page.wait_for_timeout(2500)  # let the flash animation settle
            page.screenshot(path=str(OUT / "overlay.png"))

            ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
            sup = ctx.new_page()
            sup.goto(f"{server.base_url}/supervisor?name=王组长")
            expect(sup.locator('[data-alert-id="al-3"]')).to_be_visible()
            sup.locator('[data-alert-id="al-1"] [data-testid="alert-ack"]').click()
            expect(sup.locator('[data-alert-id="al-1"]')).to_have_attribute("data-acknowledged", "true")
            sup.locator(f'[data-testid="call-row"][data-call-id="{CALL}"]').click()
            card = sup.locator('[data-testid="call-detail"] [data-testid="card"][data-kind="referral"]')
            expect(card).to_be_visible()
            sup.wait_for_timeout(500)
            sup.screenshot(path=str(OUT / "supervisor.png"))
            browser.close()
    finally:
        server.close()
    for name in ("overlay.png", "supervisor.png"):
        size = (OUT / name).stat().st_size
        print(f"{OUT / name}: {size // 1024} KB")
        if size > MAX_BYTES:
            print(f"  larger than {MAX_BYTES // 1000} KB", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
