"""The agent id of demo mode's calls (``assist.training.demo``), on its own so the server's subscription
rules (``assist.web.subscribe``: ``/?agent=demo`` follows the demo calls) need not import the replay client."""

from __future__ import annotations

DEMO_AGENT = "demo"
