"""The knowledge card highlights only what the caller said (trial 3, e6 T2: a noise complaint's card
marked 拖欠工资 and 工资, the entry's own question words, which the caller never said)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from assist.nlp.kb import DEFAULT_KB, KnowledgeBase
from tests.support.fake_page_server import FakeServer

pytestmark = pytest.mark.browser

E6_T2 = "我 投诉 楼上 那 家 天天 晚上 十二 点 了 还 在 跺 脚 拖 椅子 孩子 在 地板 上 拍 球"

MARKS = """async ([question, answer, said]) => {
  const { knowledgeBody } = await import("/static/card-views.js");
  const nodes = knowledgeBody({ question, answer, score: 0.73, source: "", updated: "" }, said);
  return nodes.filter(Boolean).flatMap((n) => [...n.querySelectorAll("mark.kb-hit")].map((m) => m.textContent));
}"""


def _entry(entry_id: str) -> list[str]:
    entry = next(e for e in KnowledgeBase.load(DEFAULT_KB).entries if e.id == entry_id)
    return [entry.question, entry.answer, E6_T2]


def test_a_question_word_the_caller_never_said_is_not_highlighted(page: Page, fake_server: FakeServer) -> None:
    page.goto(f"{fake_server.base_url}/")
    said = E6_T2.replace(" ", "")
    for entry_id in ("wage-arrears", "noise"):
        marks = page.evaluate(MARKS, _entry(entry_id))
        assert all(m in said for m in marks), marks  # only the caller's words, across the recogniser's spaces
        assert not any("工资" in m for m in marks)
    assert page.evaluate(MARKS, _entry("noise"))  # the noise answer shares words with the complaint
