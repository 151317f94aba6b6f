"""The unit the operator names as handling the matter, and the department a referral number is for.

``assist/nlp/data/units.toml`` maps the names operators use for units (社保局, 住建局, 派出所…)
to the canonical departments of ``departments.toml`` and lists the patterns in which a name
stands as the handling unit (去社保局问, 归住建管, 由城管负责).  Live assist reads it; the analysis
engine does not, so this module only reads the engine's data files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, DataError, load_toml

UNITS_FILE = "units.toml"
_UNIT = "%UNIT%"


@dataclass(frozen=True, slots=True)
class NamedUnit:
    """A handling unit the operator named: the words said and their department."""

    said: str
    department: str


class HandlingUnits:
    """Finds the handling unit in an operator's words; maps referral numbers to departments."""

    def __init__(self, units: dict[str, str], handling: tuple[str, ...], referrals: dict[str, str],
                 routes: frozenset[str] = frozenset(), route_words: frozenset[str] = frozenset(),
                 alternatives: tuple[str, ...] = ()) -> None:
        self.units = units
        self.referrals = referrals
        self.routes = routes  # departments that are a further route beside a matter, not its handling unit
        self.route_words = route_words  # the words of such a route (起诉, 律师): a procedure, not a matter
        names = "|".join(re.escape(n) for n in sorted(units, key=len, reverse=True))
        group = f"(?P<unit>{names})"
        self._patterns = tuple(re.compile(p.replace(_UNIT, group, 1)) for p in handling)
        # an alternative offered (也可以直接去社区办, 或者您去社区问问) a few characters before, in the same clause
        words = "|".join(re.escape(w) for w in alternatives)
        self._alternative = re.compile(f"(?:{words})[^,.!?;，。！？；]{{0,4}}$") if words else None

    @classmethod
    def load(cls, data_dir: Path = DEFAULT_DATA_DIR) -> HandlingUnits:
        path = data_dir / UNITS_FILE
        doc = load_toml(path)
        doc.check_keys({"units", "handling", "referrals", "routes", "route_words", "alternatives"})
        canonical = load_toml(data_dir / "departments.toml").texts("canonical", required=True)
        units: dict[str, str] = {name: name for name in canonical}
        for section in ("units", "referrals"):
            table = doc.table(section)
            for key, value in table.raw.items():
                if not isinstance(value, str) or value not in canonical:
                    raise DataError(path, f"{section}.{key}",
                                    f"department must be one of departments.toml's canonical names, got {value!r}")
        units.update(doc.table("units").raw)
        handling = doc.texts("handling", required=True)
        for i, pattern in enumerate(handling):
            if _UNIT not in pattern:
                raise DataError(path, f"handling[{i}]", f"needs {_UNIT}")
            try:
                re.compile(pattern.replace(_UNIT, "(?P<unit>x)", 1))
            except re.error as exc:
                raise DataError(path, f"handling[{i}]", f"bad regular expression: {exc}") from exc
        routes = frozenset(doc.texts("routes"))
        if routes - set(canonical):
            raise DataError(path, "routes", f"must be canonical departments, got {sorted(routes - set(canonical))}")
        return cls(units, handling, dict(doc.table("referrals").raw), routes, frozenset(doc.texts("route_words")),
                   doc.texts("alternatives"))

    def named(self, text: str) -> NamedUnit | None:
        """The last unit ``text`` names as the one handling the matter (None: none named)."""
        best: tuple[int, NamedUnit] | None = None
        for pattern in self._patterns:
            for m in pattern.finditer(text):
                if self._alternative is not None and self._alternative.search(text, 0, m.start()):
                    continue  # offered beside the matter, not named as handling it
                unit = m.group("unit")
                if best is None or m.start("unit") > best[0]:
                    best = (m.start("unit"), NamedUnit(unit, self.units[unit]))
        return best[1] if best else None

    def department_of_referral(self, number: str) -> str | None:
        return self.referrals.get(number)


@cache
def shipped_units() -> HandlingUnits:
    """The shipped table, loaded once per process."""
    return HandlingUnits.load()
