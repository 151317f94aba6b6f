"""The recognizer pool: bounds, reuse, trimming (fake recognizers) and no carry-over between calls (real Vosk)."""

from __future__ import annotations

import asyncio
import threading
import time
import wave
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assist.audio.channel import ChannelDecoder
from assist.audio.pool import (
    MODEL_WARMUP_NAME,
    WARMUP_WAV,
    Maintenance,
    PoolConfig,
    RecognizerPool,
    load_warmup_audio,
    pool_for,
    warmup_path,
)
from assist.audio.recognizer import Hypothesis, ScriptedFactory, VoskModelFactory
from assist.audio.vad import GateConfig

Speak = Callable[[str, int], npt.NDArray[np.int16]]
RATE = 16000


class FakeRecognizer:
    sample_rate = RATE

    def __init__(self, serial: int) -> None:
        self.serial = serial
        self.fed = 0
        self.heard = 0  # samples fed over its life (reset does not clear it)
        self.resets = 0

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self.fed += len(pcm) // 2
        self.heard += len(pcm) // 2
        return []

    def flush(self) -> list[Hypothesis]:
        return []

    def reset(self) -> None:
        self.resets += 1
        self.fed = 0


class FakeFactory:
    name = "fake"
    sample_rate = RATE

    def __init__(self) -> None:
        self.made: list[FakeRecognizer] = []

    def create(self) -> FakeRecognizer:
        self.made.append(FakeRecognizer(len(self.made)))
        return self.made[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_pool(config: PoolConfig, audio: bytes | None = None) -> tuple[RecognizerPool, FakeFactory, Clock]:
    factory, clock = FakeFactory(), Clock()
    return RecognizerPool(factory, config, warm_audio=audio, clock=clock), factory, clock


def test_warm_up_builds_and_feeds_the_configured_number() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=3, max_idle=4), audio=b"\x01\x00" * 4800)
    pool.warm_up()
    assert len(factory.made) == 3
    assert all(r.resets == 1 and r.fed == 0 for r in factory.made)  # fed the warm-up audio, then reset
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.created) == (3, 0, 3)


def test_grows_on_demand_and_reuses_the_most_recent_after_a_reset() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=1, max_idle=4))
    pool.warm_up()
    a, b = pool.create(), pool.create()  # one warm, one built on demand
    assert len(factory.made) == 2 and pool.stats().in_use == 2
    assert isinstance(b, FakeRecognizer)
    b.accept(b"\x00\x00" * 100)
    pool.release(a)
    pool.release(b)
    again = pool.create()
    assert again is b and b.resets == 1 and b.fed == 0  # reset before it serves again
    assert pool.stats().reused == 1


def test_bounded_by_max_idle_and_ignores_recognizers_it_did_not_hand_out() -> None:
    pool, _, _ = make_pool(PoolConfig(warm=0, max_idle=2))
    held = [pool.create() for _ in range(4)]
    for recognizer in held:
        pool.release(recognizer)
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.dropped) == (2, 0, 2)
    pool.release(FakeRecognizer(99))  # not the pool's
    pool.release(held[0])  # released twice
    assert pool.stats().idle == 2


def test_shrinks_to_the_warm_ones_after_the_idle_timeout() -> None:
    pool, _, clock = make_pool(PoolConfig(warm=1, max_idle=8, idle_seconds=60))
    pool.warm_up()
    held = [pool.create() for _ in range(5)]
    for recognizer in held:
        pool.release(recognizer)
    assert pool.stats().idle == 5
    clock.now += 30
    assert pool.trim() == 0
    clock.now += 31
    assert pool.trim() == 4
    assert pool.stats().idle == 1


def test_a_failed_call_discards_its_recognizer() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=0, max_idle=2))
    broken = pool.create()
    pool.discard(broken)
    pool.release(broken)
    assert pool.stats().idle == 0 and pool.create() is not broken and len(factory.made) == 2


def test_only_factories_that_reset_are_pooled() -> None:
    assert pool_for(ScriptedFactory([[("a", 0.0, 0.1)]]), PoolConfig()) is None


def test_pool_config_rejects_warm_above_max() -> None:
    with pytest.raises(ValueError):
        PoolConfig(warm=3, max_idle=2)


def test_the_shipped_warm_up_speech_loads_at_the_model_rate() -> None:
    audio = load_warmup_audio(RATE)
    samples = np.frombuffer(audio, dtype="<i2")
    assert 8.0 < samples.size / RATE < 12.0
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300  # speech, not silence


def _wav(path: Path, seconds: float, *, rate: int = 8000, channels: int = 1) -> Path:
    tone = (np.sin(np.arange(round(seconds * rate)) / 3) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(tone, channels).tobytes())
    return path


def test_warm_up_speech_is_the_configured_file_else_the_models_own_else_the_shipped(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    assert warmup_path(model) == WARMUP_WAV
    own = _wav(model / MODEL_WARMUP_NAME, 2.0)
    assert warmup_path(model) == own  # speech in the model's language, shipped beside it
    configured = _wav(tmp_path / "centre.wav", 3.0)
    assert warmup_path(model, configured) == configured
    assert len(load_warmup_audio(RATE, configured)) == 2 * 3 * RATE  # resampled 8 kHz -> model rate


def test_unusable_warm_up_speech_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF nonsense")
    cases = [(tmp_path / "missing.wav", "not usable as warm-up audio"), (garbage, "not usable as warm-up audio"),
             (_wav(tmp_path / "stereo.wav", 2.0, channels=2), "must be 16-bit mono"),
             (_wav(tmp_path / "short.wav", 0.2), "shorter than half a second")]
    for path, message in cases:
        with pytest.raises(ValueError, match=message) as caught:
            load_warmup_audio(RATE, path)
        assert str(path) in str(caught.value)


# ---------------------------------------------------------------- memory budget: retire and refresh


def _serve(pool: RecognizerPool, calls: int = 1) -> list[FakeRecognizer]:
    """``calls`` calls at once, each fed some audio, then all released."""
    held = [pool.create() for _ in range(calls)]
    for recognizer in held:
        recognizer.accept(b"\x00\x00" * 160)
    for recognizer in held:
        pool.release(recognizer)
    assert all(isinstance(r, FakeRecognizer) for r in held)
    return [r for r in held if isinstance(r, FakeRecognizer)]


def test_a_recognizer_is_retired_after_max_calls() -> None:
    pool, factory, _ = make_pool(PoolConfig(warm=1, max_idle=4, max_calls=3))
    pool.warm_up()
    first = factory.made[0]
    for _ in range(2):
        assert _serve(pool) == [first]
    assert pool.stats().idle == 1
    assert _serve(pool) == [first]  # its third call: retired instead of kept
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.retired, stats.dropped, stats.reused, stats.warm_hits) == (0, 0, 1, 0, 2, 3)
    assert pool.create() is not first and len(factory.made) == 2


def test_a_quiet_floor_gets_freshly_warmed_recognizers_and_its_memory_back() -> None:
    released: list[tuple[int, bool]] = []  # at each malloc_trim: refreshed so far, grown ones already freed
    factory, clock = FakeFactory(), Clock()
    audio = b"\x01\x00" * 4800
    pool = RecognizerPool(factory, PoolConfig(warm=2, max_idle=8, idle_seconds=60), warm_audio=audio, clock=clock,
                          release_memory=lambda: released.append(
                              (pool.stats().refreshed, all(ref() is None for ref in gone))))
    pool.warm_up()
    grown = _serve(pool, 2)
    assert {id(r) for r in grown} == {id(r) for r in factory.made[:2]}  # the warm ones served
    gone = [weakref.ref(r) for r in grown]
    del grown
    factory.made.clear()  # the test's own references: only the pool holds them now
    assert pool.stats().grown == 2
    clock.now += 59
    assert pool.maintain() == Maintenance(0, 0, 0) and not released  # not quiet for long enough
    clock.now += 2
    assert pool.maintain() == Maintenance(trimmed=0, refreshed=2, added=0)
    stats = pool.stats()
    assert (stats.idle, stats.grown, stats.refreshed, stats.created, stats.maintaining) == (2, 0, 2, 4, False)
    assert released == [(2, True)]  # malloc_trim once, after both were replaced and freed
    fresh = factory.made
    assert len(fresh) == 2
    assert all(r.heard == 4800 and r.fed == 0 and r.resets == 1 for r in fresh)  # warm-up speech, then reset
    handed = {id(pool.create()), id(pool.create())}
    assert handed == {id(r) for r in fresh}  # the grown ones are gone from the pool
    clock.now += 1000
    assert pool.maintain() == Maintenance(0, 0, 0)  # nothing is refreshed while calls hold recognizers


def test_a_busy_floor_keeps_its_warm_recognizers() -> None:
    pool, factory, clock = make_pool(PoolConfig(warm=2, max_idle=8, idle_seconds=60))
    pool.warm_up()
    _serve(pool, 2)
    for _ in range(10):  # a call every 50 s: never 60 s without one
        clock.now += 50
        _serve(pool)
        assert pool.maintain().refreshed == 0
    held = pool.create()  # a call under way, however long
    clock.now += 10_000
    assert pool.maintain() == Maintenance(0, 0, 0)
    assert len(factory.made) == 2 and pool.stats().refreshed == 0
    pool.release(held)


def test_refresh_trims_first_and_tops_the_pool_up_to_warm() -> None:
    pool, factory, clock = make_pool(PoolConfig(warm=2, max_idle=8, idle_seconds=60, max_calls=1))
    pool.warm_up()
    _serve(pool, 2)  # both warm ones retired after their one call
    assert pool.stats().retired == 2 and pool.stats().idle == 0
    _serve(pool, 3)  # three built on demand, retired too
    clock.now += 61
    assert pool.maintain() == Maintenance(trimmed=0, refreshed=0, added=2)
    assert pool.stats().idle == 2 and len(factory.made) == 7

    pool, factory, clock = make_pool(PoolConfig(warm=1, max_idle=8, idle_seconds=60))
    pool.warm_up()
    _serve(pool, 4)
    clock.now += 61
    assert pool.maintain() == Maintenance(trimmed=3, refreshed=1, added=0)  # 4 grown -> 1 fresh
    assert pool.stats().idle == 1 and pool.stats().grown == 0


def test_refresh_can_be_switched_off() -> None:
    pool, factory, clock = make_pool(PoolConfig(warm=2, max_idle=8, idle_seconds=60, refresh=False))
    pool.warm_up()
    _serve(pool, 2)
    clock.now += 1000
    assert pool.maintain() == Maintenance(0, 0, 0)
    assert pool.stats().grown == 2 and len(factory.made) == 2


class GatedFactory(FakeFactory):
    """Builds its first ``free`` recognizers at once, then each only when ``gate`` is set."""

    def __init__(self, free: int) -> None:
        super().__init__()
        self.free = free
        self.building = threading.Event()
        self.gate = threading.Event()

    def create(self) -> FakeRecognizer:
        if len(self.made) >= self.free:
            self.building.set()
            assert self.gate.wait(10)
        return super().create()


def test_a_call_never_waits_for_a_refresh_and_the_refresh_stops_when_calls_come() -> None:
    factory, clock = GatedFactory(free=2), Clock()
    pool = RecognizerPool(factory, PoolConfig(warm=2, max_idle=8, idle_seconds=60), clock=clock)
    pool.warm_up()
    old = _serve(pool, 2)
    clock.now += 61
    done: list[Maintenance] = []
    upkeep = threading.Thread(target=lambda: done.append(pool.maintain()))
    upkeep.start()
    assert factory.building.wait(10)  # the refresh is building its first fresh recognizer
    assert pool.stats().maintaining
    began = time.monotonic()
    call = pool.create()  # a call comes: it gets a warm (grown) one at once
    assert time.monotonic() - began < 1.0 and any(call is r for r in old)
    factory.gate.set()
    upkeep.join(10)
    # the one fresh recognizer built replaced the other grown one; then the refresh stopped (a call is on)
    assert done == [Maintenance(trimmed=0, refreshed=1, added=0)]
    stats = pool.stats()
    assert (stats.idle, stats.in_use, stats.grown, stats.maintaining) == (1, 1, 0, False)
    assert len(factory.made) == 3


def test_closing_stops_a_refresh_under_way() -> None:
    factory, clock = GatedFactory(free=2), Clock()
    pool = RecognizerPool(factory, PoolConfig(warm=2, max_idle=8, idle_seconds=60), warm_audio=b"\x01\x00" * 48_000,
                          clock=clock)
    pool.warm_up()
    _serve(pool, 2)
    clock.now += 61
    done: list[Maintenance] = []
    upkeep = threading.Thread(target=lambda: done.append(pool.maintain()))
    upkeep.start()
    assert factory.building.wait(10)
    pool.close()  # the server stops while a fresh recognizer is being built
    factory.gate.set()
    upkeep.join(10)
    assert done == [Maintenance(0, 0, 0)]
    assert factory.made[-1].fed < 48_000  # its warm-up stopped at the next block
    assert pool.stats().grown == 2 and not pool.stats().maintaining


def test_pool_config_rejects_a_zero_call_budget() -> None:
    with pytest.raises(ValueError):
        PoolConfig(max_calls=0)


# ---------------------------------------------------------------- real Vosk


def _decode(decoder: ChannelDecoder, audio: npt.NDArray[np.int16], *, finish: bool = True) -> list[Hypothesis]:
    out: list[Hypothesis] = []
    for i in range(0, audio.size, RATE // 10):
        out += decoder.feed(audio[i : i + RATE // 10])
    return out + (decoder.finish() if finish else [])


def _call(speak: Speak, sentences: list[str]) -> npt.NDArray[np.int16]:
    gap = np.zeros(RATE // 2, np.int16)
    return np.concatenate([part for s in sentences for part in (gap, speak(s, RATE))] + [gap])


def _words(hyps: list[Hypothesis]) -> set[str]:
    return {w for h in hyps for w in h.text.split()}


@pytest.mark.slow
@pytest.mark.engine
@pytest.mark.parametrize("first_call_ends", [True, False], ids=["ended", "cut-mid-utterance"])
def test_nothing_of_one_call_reaches_the_next_through_a_pooled_recognizer(
    korean_factory: VoskModelFactory, korean_speech: Speak, first_call_ends: bool
) -> None:
    first = _call(korean_speech, ["안녕하세요 오늘 날씨가 정말 좋습니다", "서울은 한국의 수도입니다"])
    second = _call(korean_speech, ["물을 마시고 싶어요", "저는 학교에 갑니다"])
    # the second call decoded by fresh recognizers (twice: espeak Korean transcripts vary run to run)
    fresh = [_decode(ChannelDecoder(korean_factory.create(), RATE, gate=GateConfig()), second) for _ in range(2)]
    fresh_words = _words(fresh[0]) | _words(fresh[1])

    pool = RecognizerPool(korean_factory, PoolConfig(warm=0, max_idle=1))
    recognizer = pool.create()
    # the first call: whole, or dropped in the middle of a sentence (no final, no flush)
    heard_first = _decode(ChannelDecoder(recognizer, RATE, gate=GateConfig()),
                          first if first_call_ends else first[: first.size * 2 // 3], finish=first_call_ends)
    pool.release(recognizer)
    reused = pool.create()
    assert reused is recognizer
    heard = _decode(ChannelDecoder(reused, RATE, gate=GateConfig()), second)

    only_first = _words(heard_first) - fresh_words
    assert only_first, "the two calls must be told apart by their words"
    assert not _words(heard) & only_first  # no word of the first call, in partials or finals
    finals = [h for h in heard if h.final]
    assert finals and finals[0].start < 1.0  # times start again at the call's start
    assert max(h.end for h in finals) <= second.size / RATE + 1e-6
    assert _words(heard) & fresh_words  # and the second call itself is heard


def _finals(hyps: list[Hypothesis]) -> list[tuple[str, list[tuple[str, float]]]]:
    return [(h.text, [(w.word, w.conf) for w in h.words]) for h in hyps if h.final]


@pytest.mark.slow
@pytest.mark.engine
def test_a_refreshed_recognizer_decodes_a_call_as_a_fresh_one(
    korean_factory: VoskModelFactory, korean_speech: Speak
) -> None:
    served = _call(korean_speech, ["안녕하세요 오늘 날씨가 정말 좋습니다", "서울은 한국의 수도입니다"])
    call = _call(korean_speech, ["물을 마시고 싶어요", "저는 학교에 갑니다"])
    fresh = _finals(_decode(ChannelDecoder(korean_factory.create(), RATE, gate=GateConfig()), call))
    assert fresh

    clock = Clock()
    trims: list[int] = []
    pool = RecognizerPool(korean_factory, PoolConfig(warm=1, max_idle=2, idle_seconds=60),
                          warm_audio=load_warmup_audio(RATE), clock=clock,
                          release_memory=lambda: trims.append(pool.stats().refreshed))
    pool.warm_up()
    grown = pool.create()
    _decode(ChannelDecoder(grown, RATE, gate=GateConfig()), served)
    pool.release(grown)
    clock.now += 61
    assert pool.maintain() == Maintenance(trimmed=0, refreshed=1, added=0)
    assert trims == [1]
    refreshed = pool.create()
    assert refreshed is not grown
    del grown
    assert _finals(_decode(ChannelDecoder(refreshed, RATE, gate=GateConfig()), call)) == fresh
    pool.release(refreshed)
    assert pool.stats().reused == 0 and pool.stats().warm_hits == 2  # the refreshed one had served no call


@pytest.mark.slow
@pytest.mark.engine
async def test_the_server_refreshes_retires_and_trims_memory_after_both(
    korean_factory: VoskModelFactory, korean_speech: Speak, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the server: after a quiet second the grown recognizer is replaced and malloc_trim runs in the
    upkeep thread; a recognizer that reached ``pool_max_calls`` is retired and malloc_trim follows the call."""
    from assist.audio.memory import MemoryReleaser
    from assist.settings import ServerConfig
    from assist.web.server import AssistServer
    from bench.callclient import stream_call

    trims: list[tuple[int, int]] = []  # (refreshed, retired) at each malloc_trim
    server: AssistServer | None = None
    original = MemoryReleaser.release

    def counting(self: MemoryReleaser) -> None:
        assert server is not None and server.pool is not None
        stats = server.pool.stats()
        trims.append((stats.refreshed, stats.retired))
        original(self)

    monkeypatch.setattr(MemoryReleaser, "release", counting)
    config = ServerConfig(host="127.0.0.1", port=0, decode_threads=2, pool_warm=1, pool_max=2,
                          pool_idle_seconds=1.0, pool_max_calls=2)
    server = AssistServer(config, korean_factory)
    audio = _call(korean_speech, ["물을 마시고 싶어요"]).astype("<i2").tobytes()
    start = {"type": "start", "agent_id": "a1", "sample_rate": RATE}

    async def stats_when(ready: Callable[[dict[str, object]], bool]) -> dict[str, object]:
        for _ in range(600):
            stats = server.stats()
            if ready(stats):
                return stats
            await asyncio.sleep(0.05)
        raise AssertionError(f"pool never got there: {server.stats()}")

    await server.start()
    try:
        await stats_when(lambda s: s["pool_idle"] == 1)  # warmed
        first = await stream_call(server.url + "/ws/call", {**start, "call_id": "r1"}, audio, chunk=3200)
        assert first.transcripts(final=True)
        await stats_when(lambda s: s["pool_grown"] == 1)
        stats = await stats_when(lambda s: s["pool_refreshed"] == 1 and not s["pool_maintaining"])
        assert (stats["pool_grown"], stats["pool_idle"], stats["pool_created"]) == (0, 1, 2)
        assert (1, 0) in trims  # malloc_trim after the refresh
        for n in ("r2", "r3"):  # the fresh one serves two calls: its budget
            result = await stream_call(server.url + "/ws/call", {**start, "call_id": n}, audio, chunk=3200)
            assert result.transcripts(final=True)
        stats = await stats_when(lambda s: s["pool_retired"] == 1)
        assert (stats["pool_idle"], stats["pool_reused"]) == (0, 1)
        await stats_when(lambda _: (1, 1) in trims)  # malloc_trim after the call that retired it
    finally:
        await server.stop(grace=10)
