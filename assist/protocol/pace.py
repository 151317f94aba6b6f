"""The audio pace a live call may send at: the contract between call clients and the server.

A client that keeps within ``LIVE_MAX_SPEED`` × real time (after a burst of ``BURST_SECONDS``)
is never throttled; audio sustained above ``LIVE_REFUSE_SPEED`` is refused (``rate_limited``).
"""

from __future__ import annotations

LIVE_MAX_SPEED = 2.0       # live audio above 2x real time is throttled...
LIVE_REFUSE_SPEED = 4.0    # ...and refused when sustained above 4x
BURST_SECONDS = 2.0        # audio a live call may send at once before throttling starts
