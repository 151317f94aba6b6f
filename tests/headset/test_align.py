"""ChannelAligner: two capture clocks merged into one stereo stream without losing a sample."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.headset.align import ChannelAligner

RATE = 16000


def seq(start: int, n: int, sign: int = 1) -> np.ndarray:
    """Non-zero samples start+1 … start+n (negated for the second channel)."""
    return (sign * (np.arange(start, start + n) % 30000 + 1)).astype(np.int16)


def collect(aligner: ChannelAligner, pushes: list[tuple[int, np.ndarray]]) -> np.ndarray:
    out = [aligner.push(ch, block) for ch, block in pushes]
    out.append(aligner.flush())
    return np.concatenate(out)


def test_equal_blocks_interleave_in_order() -> None:
    aligner = ChannelAligner(2, max_skew=3200)
    out = collect(aligner, [(0, seq(0, 320)), (1, seq(0, 320, -1)), (0, seq(320, 320)), (1, seq(320, 320, -1))])
    assert out.shape == (640, 2)
    np.testing.assert_array_equal(out[:, 0], seq(0, 640))
    np.testing.assert_array_equal(out[:, 1], seq(0, 640, -1))
    assert aligner.padded == [0, 0] and aligner.corrections == 0


def test_uneven_block_sizes_are_buffered_not_altered() -> None:
    aligner = ChannelAligner(2, max_skew=3200)
    aligner.push(0, seq(0, 10))
    aligner.push(1, seq(0, 10, -1))
    first = aligner.push(0, seq(10, 480))  # 30 ms mic blocks, 441-sample loopback blocks
    assert first.shape == (0, 2)
    assert aligner.buffered == (480, 0)
    second = aligner.push(1, seq(10, 441, -1))
    assert second.shape == (441, 2)
    assert aligner.buffered == (39, 0)
    third = aligner.push(1, seq(451, 441, -1))
    assert third.shape == (39, 2)
    assert aligner.buffered == (0, 402)
    out = np.concatenate([second, third])
    np.testing.assert_array_equal(out[:, 0], seq(10, 480))
    np.testing.assert_array_equal(out[:, 1], seq(10, 480, -1))
    assert aligner.padded == [0, 0]


def test_late_starting_channel_is_tail_aligned() -> None:
    aligner = ChannelAligner(2, max_skew=3200)
    aligner.push(0, seq(0, 1600))  # 100 ms of mic before the loopback stream delivers
    out = aligner.push(1, seq(0, 320, -1))
    # the loopback's first block is "now": it pairs with the mic's last 320 samples
    assert out.shape == (1600, 2)
    assert (out[:1280, 1] == 0).all()
    np.testing.assert_array_equal(out[1280:, 1], seq(0, 320, -1))
    np.testing.assert_array_equal(out[:, 0], seq(0, 1600))
    assert aligner.padded == [0, 1280]


def test_stalled_channel_is_padded_so_audio_keeps_flowing() -> None:
    aligner = ChannelAligner(2, max_skew=3200)
    aligner.push(0, seq(0, 320))
    aligner.push(1, seq(0, 320, -1))
    emitted = 320
    for i in range(1, 30):  # the loopback delivers nothing (WASAPI loopback while nothing plays)
        emitted += len(aligner.push(0, seq(320 * i, 320)))
        assert aligner.buffered[0] <= 3200 + 320  # bounded wait, then silence for the idle channel
    assert emitted >= 30 * 320 - 3200
    assert aligner.padded[1] > 0 and aligner.padded[0] == 0


def test_backlog_after_stall_pads_the_other_channel_and_loses_nothing() -> None:
    aligner = ChannelAligner(2, max_skew=1600)
    pushes: list[tuple[int, np.ndarray]] = []
    for i in range(20):  # 20 blocks of 10 ms on both channels, the loopback held back for blocks 5..14
        pushes.append((0, seq(160 * i, 160)))
        if i < 5:
            pushes.append((1, seq(160 * i, 160, -1)))
        elif i == 15:
            pushes.append((1, seq(160 * 5, 160 * 11, -1)))  # the backlog arrives at once
        elif i > 15:
            pushes.append((1, seq(160 * i, 160, -1)))
    out = collect(aligner, pushes)
    left, right = out[:, 0], out[:, 1]
    np.testing.assert_array_equal(left[left != 0], seq(0, 3200))
    np.testing.assert_array_equal(right[right != 0], seq(0, 3200, -1))
    assert aligner.padded[0] > 0 and aligner.padded[1] > 0  # silence went into both, in turn
    assert len(out) == 3200 + aligner.padded[0] == 3200 + aligner.padded[1]


def test_clock_drift_is_corrected_with_bounded_skew() -> None:
    """The loopback runs 0.5 % fast: every so often the mic gets max_skew of silence."""
    aligner = ChannelAligner(2, max_skew=800)
    mic = loop = 0
    skews = []
    for _ in range(3000):  # 60 s in 20 ms callbacks
        aligner.push(0, seq(mic, 320))
        mic += 320
        aligner.push(1, seq(loop, 322, -1))
        loop += 322
        skews.append(abs(aligner.buffered[0] - aligner.buffered[1]))
    assert max(skews) <= 800
    expected_drift = loop - mic  # 6000 samples over the minute
    assert aligner.corrections >= expected_drift // 800 - 1
    assert aligner.padded[1] == 0 and aligner.padded[0] >= expected_drift - 800


def test_mono_passes_through() -> None:
    aligner = ChannelAligner(1, max_skew=0)
    out = aligner.push(0, seq(0, 100))
    assert out.shape == (100, 1)
    np.testing.assert_array_equal(out[:, 0], seq(0, 100))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ChannelAligner(0, 10)
    with pytest.raises(ValueError):
        ChannelAligner(2, -1)
    with pytest.raises(ValueError, match="out of range"):
        ChannelAligner(2, 10).push(2, seq(0, 10))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 900)), min_size=1, max_size=60),
    st.integers(0, 2000),
)
def test_any_arrival_pattern_keeps_every_sample_in_order_and_in_step(
    arrivals: list[tuple[int, int]], max_skew: int
) -> None:
    aligner = ChannelAligner(2, max_skew=max_skew)
    fed = [0, 0]
    outs = []
    for channel, n in arrivals:
        outs.append(aligner.push(channel, seq(fed[channel], n, 1 if channel == 0 else -1)))
        fed[channel] += n
        b0, b1 = aligner.buffered
        assert min(b0, b1) == 0  # everything pairable was emitted
        assert max(b0, b1) <= max_skew  # channels never drift apart by more than max_skew
    outs.append(aligner.flush())
    out = np.concatenate(outs)
    assert aligner.buffered == (0, 0)
    for channel, sign in ((0, 1), (1, -1)):
        column = out[:, channel]
        np.testing.assert_array_equal(column[column != 0], seq(0, fed[channel], sign))
        assert len(out) == fed[channel] + aligner.padded[channel]
