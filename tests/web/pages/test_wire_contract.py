"""Browser side of the prompt contract: call-view.js renders every field of every payload it is sent.

Each prompt kind's payload is built from the typed dataclass, encoded exactly as the server
encodes it (``Prompt.to_json``) and applied to a fresh ``CallView`` in Chromium.  A field
renamed in Python or read under another name in JavaScript leaves its value off the screen
and fails here.  Fields the overlay uses without showing them are listed in ``NOT_SHOWN``.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from playwright.sync_api import Page

from assist.protocol.enums import Category, Emotion, PromptKind
from assist.protocol.events import Prompt, Span
from assist.protocol.payloads import (
    PAYLOADS,
    BannedPayload,
    CategoryPayload,
    CriticalPayload,
    EmotionPayload,
    EmpathyPayload,
    HandlingPayload,
    KnowledgePayload,
    PromptData,
    ReferralPayload,
    SafetyPayload,
)
from tests.support.fake_page_server import FakeServer

pytestmark = pytest.mark.browser

SAMPLES: dict[PromptKind, PromptData] = {
    PromptKind.EMOTION: EmotionPayload(Emotion.ANXIETY, 0.6),
    PromptKind.CATEGORY: CategoryPayload(Category.COMPLAINT, "城管"),
    PromptKind.REFERRAL: ReferralPayload("12348", "法律服务热线", "民事纠纷不归热线办理", "建议您拨打12348咨询律师。"),
    PromptKind.KNOWLEDGE: KnowledgePayload(
        "kb-042", "医保怎么报销?", "带上社保卡到窗口办理。", 0.75, "医保指南", "2025-03-01",
    ),
    PromptKind.EMPATHY: EmpathyPayload(Emotion.ANGER, ("我理解您的心情。", "这件事我来负责。", "今天就为您转办。")),
    PromptKind.BANNED: BannedPayload("push_away", "你自己去问吧", "我来帮您联系相关部门。"),
    PromptKind.CRITICAL: CriticalPayload("来电人流露轻生念头", ("12356", "110")),
    PromptKind.SAFETY: SafetyPayload("您现在安全吗?身边有人吗?", "可能有自伤自杀风险(模型判断)", ("110", "12356")),
    PromptKind.HANDLING: HandlingPayload("危急情况按一般诉求处理", "三个工作日",
                                         "先稳住来电人、问清位置,立即三方转接110。"),
}
# A handling nudge stands on the crisis banner: the call is in crisis first.
BEFORE = {PromptKind.HANDLING: CriticalPayload("来电人流露轻生念头", ("110",))}
# Fields the overlay reads but does not print: card keys and the rule id behind a warning.
NOT_SHOWN = {(PromptKind.KNOWLEDGE, "id"), (PromptKind.BANNED, "rule")}

RENDER = """async ([prompt, before]) => {
  const { CallView } = await import("/static/call-view.js");
  const root = document.createElement("div");
  document.body.replaceChildren(root);
  const view = new CallView(root, { flashMs: 60000 });
  view.reset(prompt.call_id);
  view.apply({ type: "transcript", call_id: prompt.call_id, role: prompt.role, utterance_id: prompt.utterance_id,
               final: true, text: "来电人说的话", start: 0, end: 1 });
  if (before) view.apply(before);
  view.apply(prompt);
  return root.innerText;
}"""


def shown(value: object) -> list[str]:
    """The texts a field value should put on screen."""
    if isinstance(value, tuple):
        return [t for v in value for t in shown(v)]
    if isinstance(value, float):
        return [f"{round(value * 100)}%"]
    return [str(value)]


def test_every_payload_is_covered() -> None:
    assert set(SAMPLES) == set(PromptKind)
    assert all(isinstance(SAMPLES[k], PAYLOADS[k]) for k in PromptKind)


@pytest.mark.parametrize("kind", list(PromptKind))
def test_call_view_renders_every_field_of_the_payload(page: Page, fake_server: FakeServer, kind: PromptKind) -> None:
    data = SAMPLES[kind]
    agent = kind in (PromptKind.BANNED, PromptKind.HANDLING)
    prompt = Prompt("c1:u1:" + kind, "c1", "agent" if agent else "caller", "u1", kind, "show",
                    1.0, Span("说的", 3, 5), data)
    crisis = BEFORE.get(kind)
    before = Prompt("c1:u0:critical", "c1", "caller", "u0", PromptKind.CRITICAL, "show", 0.5, None, crisis) \
        if crisis is not None else None
    page.goto(fake_server.base_url + "/static/labels.js")
    text = page.evaluate(RENDER, [json.loads(prompt.to_json()), json.loads(before.to_json()) if before else None])
    for f in dataclasses.fields(data):
        if (kind, f.name) in NOT_SHOWN:
            continue
        for expected in shown(getattr(data, f.name)):
            assert expected in text, f"{kind}.{f.name} = {expected!r} is not on screen:\n{text}"
