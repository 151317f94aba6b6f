"""Audio pace limiter (fake clock), call length, capacity and drop counters."""

from __future__ import annotations

import math

import pytest

from assist.protocol.errors import ErrorCode, ProtocolError
from assist.web.limits import AudioRateLimiter, keepalive_kwargs


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def stream(limiter: AudioRateLimiter, clock: FakeClock, speed: float, seconds: float, chunk: float = 0.1,
           obey: bool = True) -> float:
    """Send ``seconds`` of audio in ``chunk`` pieces at ``speed`` x real time; returns wall time taken."""
    start = clock.now
    sent = 0.0
    while sent < seconds - 1e-9:
        delay = limiter.check(chunk)
        sent += chunk
        clock.now += chunk / speed
        if obey:
            clock.now += delay
    return clock.now - start


def test_real_time_audio_is_never_delayed() -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter(clock=clock)
    for _ in range(600):
        assert limiter.check(0.1) == 0.0
        clock.now += 0.1
    assert limiter.throttled == 0


def test_a_burst_up_to_burst_seconds_is_free() -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter(max_speed=2.0, burst_seconds=2.0, clock=clock)
    assert [limiter.check(0.5) for _ in range(4)] == [0.0] * 4
    assert limiter.check(0.5) == pytest.approx(0.25)  # 0.5 s over budget at 2 audio-s per s


@pytest.mark.parametrize("speed", [3.0, 5.0, 20.0])
def test_an_obedient_fast_sender_is_held_to_max_speed(speed: float) -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter(max_speed=2.0, burst_seconds=2.0, refuse_speed=4.0, clock=clock)
    wall = stream(limiter, clock, speed, seconds=120.0)
    # 120 s of audio at 2x takes 60 s, less the 2 s burst (1 s of wall time)
    assert wall == pytest.approx(59.0, abs=0.2)
    assert limiter.throttled > 0
    assert limiter.recent_speed() <= 2.0 + 0.3


def test_a_sender_that_ignores_the_delay_is_refused_above_refuse_speed() -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter(max_speed=2.0, refuse_speed=4.0, refuse_window=10.0, clock=clock)
    with pytest.raises(ProtocolError) as exc:
        stream(limiter, clock, 5.0, seconds=600.0, obey=False)
    assert exc.value.code is ErrorCode.RATE_LIMITED and exc.value.fatal
    assert clock.now - 100.0 == pytest.approx(10.0, abs=0.2)  # refused once a full window is seen


def test_a_sender_between_max_and_refuse_speed_is_only_throttled() -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter(max_speed=2.0, refuse_speed=4.0, clock=clock)
    stream(limiter, clock, 3.5, seconds=300.0, obey=False)
    assert limiter.throttled > 0


def test_unlimited_never_delays_or_refuses() -> None:
    clock = FakeClock()
    limiter = AudioRateLimiter.unlimited(clock=clock)
    assert all(limiter.check(10.0) == 0.0 for _ in range(1000))
    assert limiter.audio_seconds == 10_000.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        AudioRateLimiter(max_speed=0)
    with pytest.raises(ValueError):
        AudioRateLimiter(max_speed=3.0, refuse_speed=2.0)
    with pytest.raises(ValueError):
        AudioRateLimiter().check(-1)
    with pytest.raises(ValueError):
        AudioRateLimiter().check(math.nan)


def test_keepalive_budget_is_under_40_seconds() -> None:
    kwargs = keepalive_kwargs()
    assert kwargs["ping_interval"] + kwargs["ping_timeout"] + kwargs["close_timeout"] < 40
    with pytest.raises(ValueError):
        keepalive_kwargs(0)
