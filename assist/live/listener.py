"""When one call's transcripts are analysed, and on which thread.

Analysis runs on the pipeline's analysis thread, never on the event loop.  A partial is analysed
by the rules only when it has grown by a quarter since the last analysed partial of its utterance
(at least ``PARTIAL_MIN_GROWTH`` characters), so the analyses of one utterance add up to a few
times its length instead of its length squared; every final is analysed.

The learned path (sentence encoder, learned heads, crisis net) costs ~40 ms, too much for every
partial.  It runs on finals and, when ``stable_after`` is set (``ASSIST_STABLE_PARTIAL_MS``; off by
default, ``stable.py`` says why), on a partial that has stayed the same that long: the caller paused,
so a learned crisis card can show while the caller is still on the line, and when the final's words
are the stable partial's (rare on Vosk, whose final often adds or revises a word), the final reuses
that result instead of computing it again.  A stable partial needs ``STABLE_MIN`` characters; it is analysed once, and
another of the same utterance only once it has ``STABLE_GROWTH`` more characters; a final or a
newer partial makes a waiting one moot; and it uses only spare time: when the analysis thread has
work queued (a busy floor), it is left to the final.  A partial's result is tentative
(``refine.tentative``): the model alone raises the crisis card on it only when sure, else it asks the
safety question until the final decides; later partials of the utterance keep that result, so its
cards do not go and come back as the words grow.  Only live calls wait for stable partials: a
training replay runs the learned path on finals alone, so two replays of one recording give the same
prompts and the same report.

A live final longer than the encoder's cut needs a second encoder pass for its knowledge search (the search
reads the whole utterance; ``refine.compute``).  Its cards do not wait for it: in the same job on the analysis
thread, the final's words are first analysed as its last partial with the learned result (crisis, category,
emotion and referral cards, with no new knowledge answer), those events are handed to the loop at once, then the
search runs and the final itself is analysed with its answers, once.  One job: nothing of the call (the other
channel included) is analysed between the two steps; a failed search leaves the final with the rules' answers.
A training replay analyses every final in one step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assist.live.alerts import AlertBook
from assist.live.prompts import LiveAssist
from assist.live.stable import STABLE_GROWTH, STABLE_MIN, STABLE_PARTIAL
from assist.nlp.refine import Refinement, tentative
from assist.protocol.events import Alert, CallState, CallSummary, Event, Transcript
from assist.text import join_cjk

if TYPE_CHECKING:
    from assist.live.session import CallSession

log = logging.getLogger(__name__)

PARTIAL_MIN_GROWTH = 1  # characters a partial must add before the rules analyse it again


@dataclass
class LearnedCounts:
    """The analysis thread's queue, and how often the learned path ran, over every call of a server
    (its ``/stats``).  ``pending`` is touched on the event loop, the others on the analysis thread:
    safe while that executor has one thread (``AssistPipeline``'s)."""

    pending: int = 0  # analyses handed to the analysis thread and not yet back
    finals: int = 0  # finals that needed the learned path
    stable: int = 0  # stable partials it ran on
    reused: int = 0  # finals that reused their stable partial's result instead of running it again
    busy: int = 0  # stable partials left to the final because the analysis thread had work queued
    searched_after: int = 0  # finals whose knowledge search followed their cards (a second encoder pass)


class CallListener:
    """Adapts one call's ``LiveAssist`` to the session's listener hook, at a bounded cost.  The lock
    keeps the loop's reads of the call state apart from an analysis under way."""

    def __init__(self, live: LiveAssist, alerts: AlertBook, executor: Executor,
                 stable_after: float = STABLE_PARTIAL, counts: LearnedCounts | None = None) -> None:
        self.live = live
        self.alerts = alerts
        self._executor = executor
        self._stable_after = stable_after
        self._lock = threading.Lock()
        self._analysed: dict[str, int] = {}  # utterance id -> length of its last analysed partial
        self._latest: dict[str, str] = {}  # utterance id -> its newest partial's text (until its final)
        self._timers: dict[str, asyncio.TimerHandle] = {}  # utterance id -> its stable-partial timer
        self._learned: dict[str, tuple[str, Refinement | None]] = {}  # utterance id -> stable partial's result
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False  # the call ended: no stable run starts any more
        self.counts = counts if counts is not None else LearnedCounts()

    def _due(self, t: Transcript) -> bool:
        if t.final:
            self._analysed.pop(t.utterance_id, None)
            return True
        last = self._analysed.get(t.utterance_id, 0)
        if len(t.text) - last < max(PARTIAL_MIN_GROWTH, last // 4):
            return False
        self._analysed[t.utterance_id] = len(t.text)
        return True

    def _refinement(self, t: Transcript, defer: bool) -> Refinement | None:
        """In the analysis thread: the learned result for ``t``, the stable partial's when the words match."""
        kept = self._learned.pop(t.utterance_id, None)
        if self.live.learns:
            self.counts.finals += 1
        if kept is not None and kept[0] == join_cjk(t.text):
            self.counts.reused += 1
            return kept[1]
        return self.live.learned_for(t, defer_search=defer)

    def _analyse(self, t: Transcript, early: Callable[[list[Event]], None] | None = None) -> list[Event]:
        """In the analysis thread: the learned path on finals, then the rules; a partial keeps its utterance's
        latest stable result, so the learned cards do not go and come back as the partial grows.  The
        learned path needs no call state, so the lock (which the loop's state reads take) is held only for
        the rules.  ``early`` (a live call): a final whose knowledge search needs a second encoder pass is
        analysed as its last partial first, and those events go to ``early`` before the search."""
        if t.final:
            refinement = self._refinement(t, early is not None)
            if refinement is not None and refinement.pending is not None and early is not None:
                with self._lock:
                    early(self.live.on_transcript(dataclasses.replace(t, final=False), refinement))
                refinement = self._searched(t, refinement)
        else:
            kept = self._learned.get(t.utterance_id)
            refinement = kept[1] if kept is not None else None
        with self._lock:
            return self.live.on_transcript(t, refinement)

    def _searched(self, t: Transcript, refinement: Refinement) -> Refinement:
        """In the analysis thread: ``refinement`` with the knowledge search it left pending; on a failure, the
        rules' answers (the final is still analysed and folded into the call)."""
        self.counts.searched_after += 1
        try:
            return self.live.with_knowledge(refinement)
        except Exception:
            log.exception("call %s: the knowledge search of final %s failed", t.call_id, t.utterance_id)
            return dataclasses.replace(refinement, knowledge=None, pending=None)

    def _analyse_stable(self, t: Transcript) -> list[Event]:
        """In the analysis thread: a partial that stayed the same, unless a final or newer words came."""
        if self._latest.get(t.utterance_id) != t.text:
            return []
        refinement = tentative(self.live.learned_for(t))
        self._learned[t.utterance_id] = (join_cjk(t.text), refinement)
        self.counts.stable += 1
        if self._latest.get(t.utterance_id) != t.text:
            return []  # newer words came during the run: kept for them and the final, not shown for these
        with self._lock:
            return self.live.on_transcript(t, refinement)

    def _watch(self, session: CallSession, t: Transcript) -> None:
        """On the loop: (re-)arm the stable-partial timer of ``t``'s utterance; a final disarms it."""
        uid = t.utterance_id
        if t.final:
            self._latest.pop(uid, None)
            self._disarm(uid)
            return
        if not self.live.learns or not session.live or not self._stable_after or self._latest.get(uid) == t.text:
            return  # rules only, a training replay (its report must not depend on timing), or the same words
        self._latest[uid] = t.text
        self._disarm(uid)
        done = self._learned.get(uid)
        if len(join_cjk(t.text).strip()) >= (len(done[0]) + STABLE_GROWTH if done else STABLE_MIN):
            self._timers[uid] = asyncio.get_running_loop().call_later(self._stable_after, self._start_stable,
                                                                      session, t)

    def _disarm(self, uid: str) -> None:
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()

    def _start_stable(self, session: CallSession, t: Transcript) -> None:
        """The partial stayed the same: run the learned path on it, unless the analysis thread has work
        queued (a stable partial only uses spare time; the final will run it)."""
        self._timers.pop(t.utterance_id, None)
        if self._closed or not session.active:
            return
        if self.counts.pending:
            self.counts.busy += 1
            return
        task = asyncio.get_running_loop().create_task(self._stable(session, t))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stable(self, session: CallSession, t: Transcript) -> None:
        try:
            events = await self._run(self._analyse_stable, t)
        except Exception:  # as a listener's failure in delivery: logged, the call goes on
            log.exception("call %s: learned run on a stable partial failed", session.call_id)
            return
        if self._closed or not session.active:
            return
        for ev in events:
            if isinstance(ev, Alert):
                self.alerts.add(ev)
            session.emit(ev)

    async def on_transcript(self, session: CallSession, transcript: Transcript) -> Sequence[Event]:
        self._watch(session, transcript)
        if not self._due(transcript):
            return ()
        early: Callable[[list[Event]], None] | None = None
        if transcript.final and session.live and self.live.learns:  # a replay: one step per final
            loop = asyncio.get_running_loop()

            def early(events: list[Event]) -> None:  # from the analysis thread: the loop emits them
                loop.call_soon_threadsafe(self._emit_early, session, events)
        events = await self._run(functools.partial(self._analyse, early=early), transcript)
        for ev in events:
            if isinstance(ev, Alert):
                self.alerts.add(ev)
        return events

    def _emit_early(self, session: CallSession, events: list[Event]) -> None:
        """On the loop: a long final's cards, before its knowledge search is done."""
        for ev in events:
            if isinstance(ev, Alert):
                self.alerts.add(ev)
            session.emit(ev)

    async def _run(self, analyse: Callable[[Transcript], list[Event]], t: Transcript) -> list[Event]:
        """``analyse(t)`` on the analysis thread, counted in ``counts.pending`` while it waits or runs."""
        self.counts.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, analyse, t)
        finally:
            self.counts.pending -= 1

    def state(self, active: bool) -> CallState:
        with self._lock:
            return self.live.state(active=active)

    async def on_end(self, session: CallSession, summary: CallSummary) -> Sequence[Event]:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._latest.clear()
        self._learned.clear()
        return [self.state(False)]
