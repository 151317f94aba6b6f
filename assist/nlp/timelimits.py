"""The time limits a compliant wording may promise, written in ONE place: empathy.toml ``[defaults]``
``deadline`` (办结时限, 3至5个工作日) and ``return_visit`` (回访, 3个工作日), which the empathy card uses.
A banned phrase's suggestion (banned.toml) and the training report's 行动承诺 example (training.toml)
write ``{deadline}`` and ``{return_visit}`` instead of a number of days, so no card promises a deadline
the data does not define or another card contradicts (trial 3: 第2个工作日中午前 against 3至5个工作日)."""

from __future__ import annotations

from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

TIME_LIMITS_FILE = "empathy.toml"
TIME_LIMITS = ("deadline", "return_visit")


def time_limits(beside: Path | None = None) -> dict[str, str]:
    """empathy.toml's [defaults] deadline and return_visit: the file in ``beside``'s directory when there is
    one (a data directory of its own), else the shipped file."""
    path = beside.parent / TIME_LIMITS_FILE if beside is not None else None
    doc = load_toml(path if path is not None and path.exists() else DEFAULT_DATA_DIR / TIME_LIMITS_FILE)
    defaults = doc.table("defaults")
    return {key: defaults.text(key) for key in TIME_LIMITS}


def fill(wording: str, limits: dict[str, str]) -> str:
    """``wording`` with {deadline} and {return_visit} filled in (other placeholders are left for later)."""
    for key, value in limits.items():
        wording = wording.replace("{" + key + "}", value)
    return wording
