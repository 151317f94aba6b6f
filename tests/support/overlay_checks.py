"""Reading the overlay's card slot in Chromium: what part of an element its clipping boxes hide, whether the
slot stays above the transcript, and dismissing a banned-phrase warning (shared by the overlay page tests)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from tests.support.pages import tid

# The box of an element against every box that clips it (an ancestor that does not let content
# overflow) and the viewport: the parts of it hidden by clipping, in pixels (0, 0 = all readable).
HIDDEN_JS = """el => {
  const r = el.getBoundingClientRect();
  let above = Math.max(0, -r.top), below = Math.max(0, r.bottom - window.innerHeight);
  for (let a = el.parentElement; a; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowY === "visible" && s.overflowX === "visible") continue;
    const c = a.getBoundingClientRect();
    const top = c.top + a.clientTop;
    above = Math.max(above, top - r.top);
    below = Math.max(below, r.bottom - (top + a.clientHeight));
  }
  return [Math.round(above), Math.round(below), Math.round(r.height)];
}"""


def hidden_parts(node: Locator) -> list[int]:
    """[pixels hidden above, pixels hidden below, height] of ``node``."""
    result: list[int] = node.evaluate(HIDDEN_JS)
    return result


# The lowest visible bottom edge of the slot's parts (banner, 其他提示 line, cards), each clipped by the
# boxes that clip it, against the top of the 实时转写 heading.
SPILL_JS = """() => {
  const title = document.querySelector(".transcript-title").getBoundingClientRect().top;
  let lowest = 0;
  const parts = ".card-slot .critical-zone, .card-slot .routine-toggle, .card-slot .cards";
  for (const el of document.querySelectorAll(parts)) {
    const r = el.getBoundingClientRect();
    if (!r.height) continue;
    let bottom = r.bottom;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowY !== "visible" || s.overflowX !== "visible") {
        bottom = Math.min(bottom, a.getBoundingClientRect().top + a.clientTop + a.clientHeight);
      }
    }
    lowest = Math.max(lowest, bottom);
  }
  return [Math.round(lowest), Math.round(title)];
}"""


def assert_slot_above_transcript(page: Page) -> None:
    lowest, title = page.evaluate(SPILL_JS)
    assert lowest <= title, f"the card slot shows down to y={lowest}, over the transcript heading at y={title}"


def dismiss_warnings(page: Page) -> None:
    """The scenario's banned-phrase warning stays up for 4-8 s (under a crisis card it lies below the slot,
    over the top of the transcript); an operator taps 知道了 first when it is up."""
    for _ in range(3):
        close = page.locator(f"{tid('banned-warning')} .flash-close")
        if close.count() == 0 or not close.first.is_visible():
            return
        close.first.click()
