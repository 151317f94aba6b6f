"""When a live partial counts as stable enough for the learned path (``listener.py``): one home for these
values, light enough for the settings to read its default (``ASSIST_STABLE_PARTIAL_MS``)."""

# s a partial must stay unchanged before the learned path runs on it; 0: finals only.  Off by default: on
# the Korean test model 12 streams held p50 0.98 s without it and 3.5 s with it at 0.25 s (the encoder's
# threads take the cores the decoders need: docs/performance.md).  A node with headroom sets
# ASSIST_STABLE_PARTIAL_MS=250 to bring the learned cards forward to the caller's pauses.
STABLE_PARTIAL = 0.0
STABLE_GROWTH = 4  # characters a partial must add to the utterance's last stable run before another
STABLE_MIN = 6  # characters a partial needs before the learned path runs on it (我妈倒在… is too little)
