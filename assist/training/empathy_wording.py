"""The 情绪承接 wording the training report suggests, fitting the caller's emotion.

training.toml's ``example`` of 情绪承接 is one sentence (the 焦虑 one); an angry caller is not told
"也会同样焦虑".  ``acknowledgement(emotion, fallback)`` is empathy.toml's ``[[step1]]`` script for a caller
with that emotion (not in crisis): the wording the live empathy card shows that caller, so the report and
the overlay teach one sentence.  Read for each report, like training.toml, so an edit applies to the next.
"""

from __future__ import annotations

from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.empathy import EmpathyScripts
from assist.protocol.enums import Emotion

EMPATHY_FILE = DEFAULT_DATA_DIR / "empathy.toml"


def acknowledgement(emotion: Emotion, fallback: str, path: Path | None = None) -> str:
    """empathy.toml's 情绪承接 script for a caller showing ``emotion``; ``fallback`` when it has none."""
    scripts = EmpathyScripts.load(path or EMPATHY_FILE).scripts(
        emotion=str(emotion), intensity=1.0, intent=None, department=None)
    return scripts[0] if scripts else fallback
