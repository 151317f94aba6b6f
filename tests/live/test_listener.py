"""When the learned path runs: on finals, and on a partial that stayed the same for a moment (the caller
paused), whose result the final reuses when its words are the same; never on a partial that grew or was
already finalised, and never without a learned model."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import pytest

from assist.live.alerts import AlertBook
from assist.live.listener import CallListener
from assist.live.prompts import LiveAssist
from assist.live.session import CallSession
from assist.nlp.analyzer import Analyzer, CallContext
from assist.protocol.enums import PromptAction, PromptKind, Role
from assist.protocol.events import Event, Prompt, Transcript
from tests.support.real_server import RealServer

WAIT = 0.05  # the stable-partial wait of these tests (the server's is STABLE_PARTIAL)
# A farewell the rules do not flag; the learned crisis net does.
FAREWELL = "谢谢你们这些年照顾我以后不用再麻烦你们了"


class _Session:
    """What the listener uses of a call session: whether it is active, and where events go."""

    def __init__(self) -> None:
        self.active = True
        self.live = True  # a live call (a training replay is not)
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


def _t(text: str, *, final: bool = False, uid: str = "u1") -> Transcript:
    return Transcript(call_id="c1", role="caller", utterance_id=uid, final=final, text=text, start=0.0, end=2.0)


@pytest.fixture
def executor() -> ThreadPoolExecutor:
    pool = ThreadPoolExecutor(1)
    yield pool  # type: ignore[misc]
    pool.shutdown()


def _listener(analyzer: Analyzer, executor: ThreadPoolExecutor) -> tuple[_Session, CallListener, CallSession]:
    """A fresh call: its session stand-in, its listener, and the stand-in typed as the session."""
    live = LiveAssist("c1", "a1", analyzer, context_factory=CallContext)
    session = _Session()
    return session, CallListener(live, AlertBook(), executor, stable_after=WAIT), cast(CallSession, session)


def _learned_sign(events: list[Event]) -> bool:
    """A learned sign of danger: the crisis card, or (a partial's model guess, not sure) the safety question."""
    return any(isinstance(e, Prompt) and e.kind in (PromptKind.CRITICAL, PromptKind.SAFETY) for e in events)


async def test_a_stable_partial_gets_the_learned_sign_and_its_final_reuses_the_result(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    session, listener, as_session = _listener(learned, executor)
    assert not _learned_sign(list(await listener.on_transcript(as_session, _t(FAREWELL))))  # rules alone: none
    await asyncio.sleep(WAIT + 1.0)
    assert listener.counts.stable == 1
    assert _learned_sign(session.events)  # while the caller is still on the line
    await listener.on_transcript(as_session, _t(FAREWELL, final=True))
    assert listener.counts.reused == 1


async def test_a_partial_that_grows_or_ends_before_the_wait_is_not_run_twice(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    _session, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t("谢谢你们"))
    await listener.on_transcript(as_session, _t("谢谢你们这些年"))  # grew: the first wait is moot
    await listener.on_transcript(as_session, _t(FAREWELL[:-3], uid="u2"))
    await listener.on_transcript(as_session, _t(FAREWELL, final=True, uid="u2"))  # final before the wait
    await asyncio.sleep(WAIT + 1.0)
    assert listener.counts.stable == 1  # only "谢谢你们这些年" of u1
    await listener.on_transcript(as_session, _t("谢谢你们这些年"))  # the same words again: not run again
    await asyncio.sleep(WAIT + 0.5)
    assert listener.counts.stable == 1
    assert listener.counts.reused == 0  # u2's final had other words than any stable partial


async def test_a_final_with_other_words_computes_its_own_result(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    _session, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t("我想问一下那个社保"))
    await asyncio.sleep(WAIT + 1.0)
    out = await listener.on_transcript(as_session, _t(FAREWELL, final=True))
    assert listener.counts.stable == 1 and listener.counts.reused == 0
    assert _learned_sign(list(out))  # the final's own learned result


async def test_another_stable_run_needs_more_words_and_a_busy_thread_leaves_it_to_the_final(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    _, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t("谢谢你们这些年"))
    await asyncio.sleep(WAIT + 1.0)
    await listener.on_transcript(as_session, _t("谢谢你们这些年照"))  # one character more: not worth a run
    await asyncio.sleep(WAIT + 0.3)
    assert listener.counts.stable == 1
    await listener.on_transcript(as_session, _t("谢谢你们这些年照顾我以"))  # STABLE_GROWTH more: run again
    await asyncio.sleep(WAIT + 1.0)
    assert listener.counts.stable == 2
    listener.counts.pending += 1  # another call's analysis is queued on the thread
    await listener.on_transcript(as_session, _t(FAREWELL, uid="u2"))
    await asyncio.sleep(WAIT + 0.3)
    assert listener.counts.stable == 2 and listener.counts.busy == 1


@pytest.mark.parametrize("case", ["rules only", "training replay"])
async def test_without_a_model_or_in_a_training_replay_no_partial_waits(
        case: str, learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    """Rules only: nothing to wait for.  A training replay: its report must not depend on timing."""
    session, listener, as_session = _listener(Analyzer.load() if case == "rules only" else learned, executor)
    session.live = case != "training replay"
    await listener.on_transcript(as_session, _t(FAREWELL))
    await asyncio.sleep(WAIT + 0.3)
    assert listener.counts.stable == 0 and session.events == []


async def test_a_call_that_ends_during_the_wait_gets_no_late_cards(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    session, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t(FAREWELL))
    session.active = False
    await asyncio.sleep(WAIT + 1.0)
    assert session.events == []


def test_on_a_live_server_the_learned_sign_comes_before_the_final_and_stats_count_the_runs(
        learned: Analyzer, tmp_path: Path) -> None:
    """A caller's farewell, said in a live call and then a pause: the learned sign (the safety question, or
    the crisis card when the model is sure) is on the socket before the utterance's final, and ``/stats``
    counts a stable partial whose result the final reused."""
    # the line's final comes 0.3 s after its last word (the transcript source's endpoint delay): a shorter
    # wait than the server's keeps a loaded test machine from finalising first
    server = RealServer(tmp_path / "calls.sqlite3", learned, stable_partial=0.1).start()
    try:
        words = " ".join(FAREWELL)
        lines = [{"role": "caller", "start": 0.0, "end": 1.5, "text": words}]
        events = server.replay("c-stable", "a1", lines, speed=1.0).result(timeout=60)
        kinds = [("final" if e.get("final") else "partial") if e["type"] == "transcript" else e.get("kind")
                 for e in events if e["type"] in ("transcript", "prompt")]
        sign = next(k for k in kinds if k in ("critical", "safety"))
        assert "final" in kinds and kinds.index(sign) < kinds.index("final")
        stats = server.stats()
        assert stats["learned_stable_partials"] >= 1 and stats["learned_reused"] == 1
        assert stats["learned_finals"] == 1
        # /stats names the learned analysis model it runs (trial 3: a new user could not tell)
        assert stats["analysis_model"] == f"learned analysis model {learned.learned.model.version}" + (
            f", encoder {learned.learned.model.encoder}" if learned.learned.model.needs_encoder else "")
    finally:
        server.close()


def test_a_partials_model_only_crisis_is_tentative_unless_sure() -> None:
    """On a partial the model alone raises the crisis card only when sure; below that, the safety question."""
    from assist.nlp.learned import CriticalPrediction, LearnedResult
    from assist.nlp.refine import Refinement, tentative

    def refinement(p: float, sure: bool, source: str = "model") -> Refinement:
        return Refinement(LearnedResult({}, CriticalPrediction(True, p, 0.0, source, True, sure)), None)

    guess = tentative(refinement(0.8, False))
    assert guess is not None and guess.result is not None and guess.result.critical is not None
    assert guess.result.critical.critical and not guess.result.critical.confident  # asks, no crisis mode
    assert tentative(refinement(0.99, True)) == refinement(0.99, True)
    assert tentative(refinement(0.0, True, "rules")) == refinement(0.0, True, "rules")
    assert tentative(None) is None


async def test_too_short_a_partial_waits_for_more_words(learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    _, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t("我妈倒在"))  # fewer than STABLE_MIN characters
    await asyncio.sleep(WAIT + 0.3)
    assert listener.counts.stable == 0


async def test_later_partials_keep_the_stable_partials_learned_cards(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    session, listener, as_session = _listener(learned, executor)
    await listener.on_transcript(as_session, _t(FAREWELL[:-1]))
    await asyncio.sleep(WAIT + 1.0)
    learned_cards = {e.prompt_id for e in session.events
                     if isinstance(e, Prompt) and e.kind in (PromptKind.CRITICAL, PromptKind.SAFETY)}
    assert learned_cards  # the farewell's learned sign, on the partial
    out = await listener.on_transcript(as_session, _t(FAREWELL))  # one more character: rules, no new run
    withdrawn = {e.prompt_id for e in out if isinstance(e, Prompt) and e.action is PromptAction.WITHDRAW}
    assert not learned_cards & withdrawn


def test_an_empty_final_takes_the_partials_sign_back_from_the_call() -> None:
    ctx = CallContext()
    analyzer = Analyzer.load()
    analyzer.analyze(Role.CALLER, "我爸躺在地上叫不醒", ctx, utterance_id="u1")
    assert ctx.danger_seen()
    ctx.forget("u1")
    assert not ctx.danger_seen()


# A final longer than the encoder's cut (40 characters): its knowledge search reads it whole, a second pass.
LONG_QUESTION = "你好我是阳光花园小区的业主我们那栋楼的电梯已经坏了一个多星期了物业一直拖着不修老人根本下不了楼"


def _knowledge(events: list[Event]) -> list[Prompt]:
    return [e for e in events if isinstance(e, Prompt) and e.kind == PromptKind.KNOWLEDGE
            and e.action == PromptAction.SHOW]


def _kinds(events: list[Event]) -> set[PromptKind]:
    return {e.kind for e in events if isinstance(e, Prompt) and e.action == PromptAction.SHOW}


async def test_a_long_finals_cards_do_not_wait_for_its_knowledge_search(
        learned: Analyzer, executor: ThreadPoolExecutor) -> None:
    """The final's words are analysed as its last partial first and those cards go out at once (no answer yet);
    the final with its knowledge answer follows in the same job, once, and the call's state is the one-step
    analysis's."""
    session, listener, as_session = _listener(learned, executor)
    final = list(await listener.on_transcript(as_session, _t(LONG_QUESTION, final=True)))
    early = session.events  # emitted on the loop before the search was done
    assert PromptKind.CATEGORY in _kinds(early) and not _knowledge(early)
    assert listener.counts.searched_after == 1 and listener.counts.pending == 0
    questions = [p.data.question for p in _knowledge(final) if hasattr(p.data, "question")]
    assert questions == ["和物业有纠纷（物业费、服务差）该找谁？"]
    replay, one_step, as_replay = _listener(learned, executor)
    replay.live = False  # a training replay: every final in one step
    direct = list(await one_step.on_transcript(as_replay, _t(LONG_QUESTION, final=True)))
    assert one_step.counts.searched_after == 0 and replay.events == [] and len(_knowledge(direct)) == 1
    deferred, direct_state = listener.state(True), one_step.state(True)
    assert (deferred.intent, deferred.department, deferred.emotion, deferred.referrals, deferred.critical) == \
        (direct_state.intent, direct_state.department, direct_state.emotion, direct_state.referrals,
         direct_state.critical)
    assert listener.live.call.knowledge.current == one_step.live.call.knowledge.current is not None


async def test_a_failed_knowledge_search_still_folds_the_final_into_the_call(
        learned: Analyzer, executor: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    session, listener, as_session = _listener(learned, executor)

    def broken(refinement: object) -> object:
        raise RuntimeError("encoder gone")

    monkeypatch.setattr(listener.live, "with_knowledge", broken)
    final = list(await listener.on_transcript(as_session, _t(LONG_QUESTION, final=True)))
    assert session.events and final  # the early cards, then the final with the rules' answers
    assert listener.state(True).intent is not None and listener.live.call.topic.category.current is not None
    assert listener.counts.pending == 0
