"""A three-utterance call for the resume tests: what the scripted recognizer hears, what the stored call
must hold once, and what a fresh recognizer hears when the audio is re-sent from a point in the call."""

from __future__ import annotations

from assist.audio.recognizer import Script

WORDS: Script = [
    [("hello", 0.2, 0.5), ("there", 0.6, 1.0)],
    [("how", 1.6, 1.8), ("are", 1.9, 2.1), ("you", 2.2, 2.5)],
    [("bye", 3.2, 3.5), ("now", 3.6, 3.9)],
]
EXPECTED = [
    ("mixed-0", "hello there", 0.2, 1.0), ("mixed-1", "how are you", 1.6, 2.5), ("mixed-2", "bye now", 3.2, 3.9)
]


def heard_from(resume_from: float) -> Script:
    """What a fresh recognizer hears when the audio is re-sent from ``resume_from`` (its own clock)."""
    return [
        [(w, s - resume_from, e - resume_from) for w, s, e in utt if s >= resume_from]
        for utt in WORDS
        if any(s >= resume_from for _, s, _ in utt)
    ]
