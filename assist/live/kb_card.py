"""The knowledge card of one caller transcript: whether it shows an answer, and which percentage.

- The call's answer is replaced only as ``CallKnowledge.better`` allows (a follow-up keeps the call's
  topic, a new confident explicit question replaces it; ``call_state.py``).
- While the words come (a partial), an ambiguous match waits for more words: several entries at nearly
  the same score (公积金 alone: 转移 80 %, 提取 79 %, 贷款 78 %) is no answer yet, only a top answer ahead
  of the next one by ``KB_PARTIAL_LEAD`` is shown (trial 4, f1: the card went 转移 80 % → 提取 96 %).
- While the words come, a card shown stays until the final decides (no withdraw-and-show on a partial).
- A praise call (the call's category 表扬) gets an answer only for an utterance that asks something: its
  story (上个礼拜反映路灯坏了…第二天就修好了) drew 路灯报修 97 % (trial 6, L9).
- Within one utterance the same answer's percentage does not fall: partials hold it (``card_build``),
  and so does the final (trial 4, f1: 提取 96 % on the words, 68 % on the final's search).  The final's
  own score still weighs the answer for the call (``kb_answer``).
"""

from __future__ import annotations

import dataclasses

from assist.live.call_level import CallLevel
from assist.live.call_state import Answer
from assist.nlp.analyzer import Analysis
from assist.protocol.enums import Category
from assist.protocol.payloads import KnowledgePayload, PromptData

KB_PARTIAL_LEAD = 0.05  # on a partial, the top answer must lead the next one by this to be shown


def knowledge_card(call: CallLevel, r: Analysis, *, final: bool, shown: PromptData | None) -> KnowledgePayload | None:
    """The knowledge card caller analysis ``r`` calls for (None: none), given the call's state and the
    card this utterance ``shown`` already (its knowledge payload, if any)."""
    answer = _decide(call, r, final=final, shown=shown)
    if answer is None and not final and isinstance(shown, KnowledgePayload):
        return shown  # while the words come, a card shown stays as it is: the final decides
    return answer


def _decide(call: CallLevel, r: Analysis, *, final: bool, shown: PromptData | None) -> KnowledgePayload | None:
    if not r.knowledge or (call.topic.category.current is Category.PRAISE and not _asks(r)):
        return None  # a praise call's story (路灯坏了…第二天就修好了) wants no answer, a question in it does
    top = r.knowledge[0]
    if not final and len(r.knowledge) > 1 and top.score - r.knowledge[1].score < KB_PARTIAL_LEAD \
            and not (isinstance(shown, KnowledgePayload) and shown.id == top.id):
        return None  # an ambiguous partial: more words decide
    current = call.knowledge.current
    fresh = current is None or top.id != current.id
    found = {k.id: k.score for k in r.knowledge}
    if not fresh or not call.knowledge.better(Answer(top.id, top.score, top.department),
                                              call.topic.department.current, partial=not final, found=found):
        return None
    data = KnowledgePayload(id=top.id, question=top.question, answer=top.answer, score=round(top.score, 3),
                            source=top.source, updated=top.updated)
    if final and isinstance(shown, KnowledgePayload) and shown.id == data.id and data.score < shown.score:
        return dataclasses.replace(data, score=shown.score)  # one utterance, one answer: its percentage holds
    return data


def _asks(r: Analysis) -> bool:
    """The utterance asks something: a 咨询 reading, or the rules' 咨询 words (intent.toml: 想问一下, 怎么办理)."""
    return r.intent is Category.CONSULTATION or r.scores.get("intent", {}).get(Category.CONSULTATION, 0.0) > 0


def kb_answer(r: Analysis | None, card: KnowledgePayload) -> Answer:
    """The call's answer for a knowledge card whose utterance ended with analysis ``r``: the final's own
    score and department for it (the card's percentage when the final did not find it)."""
    hit = next((k for k in r.knowledge if k.id == card.id), None) if r is not None else None
    return Answer(card.id, hit.score if hit is not None else card.score, hit.department if hit else None,
                  f"{card.question}{card.answer}")
