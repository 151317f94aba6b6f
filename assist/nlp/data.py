"""Strict loading of the editable NLP data files (TOML via stdlib ``tomllib``).

Every problem is reported as a ``DataError`` naming the file and the entry
(``referrals.toml: referral[3] (12348): 'number' must be ...``) so a hotline
centre editing a file sees at once what to fix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
_DEFINE = re.compile(r"%([A-Z_][A-Z0-9_]*)%")
_DEFINE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class DataError(ValueError):
    """A data file is missing, unreadable or has an invalid entry."""

    def __init__(self, path: Path, where: str, message: str) -> None:
        self.path = path
        self.where = where
        self.message = message
        place = f"{path.name}: {where}: " if where else f"{path.name}: "
        super().__init__(place + message)


class Table:
    """Validated, read-only view of one TOML table (a file or one entry in it)."""

    def __init__(self, path: Path, where: str, raw: dict[str, Any]) -> None:
        self.path = path
        self.where = where
        self.raw = raw

    def error(self, message: str) -> DataError:
        return DataError(self.path, self.where, message)

    def check_keys(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.raw) - set(allowed))
        if unknown:
            raise self.error(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")

    def has(self, key: str) -> bool:
        return key in self.raw

    def _get(self, key: str, default: Any) -> Any:
        if key in self.raw:
            return self.raw[key]
        if default is _MISSING:
            raise self.error(f"missing key '{key}'")
        return default

    def text(self, key: str, default: str | None = None, *, required: bool = True) -> str:
        """A non-empty string; ``default`` is used when the key is absent and not required."""
        if key not in self.raw:
            if required and default is None:
                raise self.error(f"missing key '{key}'")
            return default or ""
        value = self.raw[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"'{key}' must be a non-empty string")
        return value

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self._get(key, _MISSING if required else [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(f"'{key}' must be a list of non-empty strings")
        return tuple(value)

    def number(self, key: str, default: float | None = None, *, lo: float = 0.0, hi: float = 1e9) -> float:
        value = self._get(key, _MISSING if default is None else default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"'{key}' must be a number")
        if not lo <= float(value) <= hi:
            raise self.error(f"'{key}' must be between {lo:g} and {hi:g}, got {value}")
        return float(value)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"'{key}' must be true or false")
        return value

    def table(self, key: str, *, required: bool = True) -> Table:
        value = self._get(key, _MISSING if required else {})
        if not isinstance(value, dict):
            raise self.error(f"'{key}' must be a table")
        return Table(self.path, f"{self.where}.{key}" if self.where else key, value)

    def tables(self, key: str, *, required: bool = True) -> list[Table]:
        """An array of tables (``[[key]]``); entries are named ``key[i]`` in errors."""
        value = self._get(key, _MISSING if required else [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(f"'{key}' must be an array of tables ([[{key}]])")
        out = []
        for i, item in enumerate(value, 1):
            label = item.get("id") or item.get("number") or item.get("name") or item.get("label")
            suffix = f" ({label})" if isinstance(label, str) else ""
            out.append(Table(self.path, f"{key}[{i}]{suffix}", item))
        return out

    def regex_list(self, key: str, defines: Mapping[str, str] | None = None) -> tuple[re.Pattern[str], ...]:
        """Compiled regular expressions; ``%NAME%`` is replaced by ``defines[NAME]`` first."""
        out = []
        for raw in self.texts(key):
            pattern = self.expand(raw, defines or {})
            try:
                out.append(re.compile(pattern))
            except re.error as exc:
                raise self.error(f"bad regular expression in '{key}': {raw!r}: {exc}") from exc
        return tuple(out)

    def expand(self, pattern: str, defines: Mapping[str, str]) -> str:
        """``pattern`` with every ``%NAME%`` replaced by the [define] fragment NAME."""

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in defines:
                raise self.error(f"pattern uses %{name}% but [define] has no {name}")
            return defines[name]

        return _DEFINE.sub(sub, pattern)

    def defines(self) -> dict[str, str]:
        """The optional ``[define]`` table: named regex fragments for ``%NAME%`` in patterns.

        A fragment may use fragments defined before it; each must compile on its own.
        """
        table = self.table("define", required=False)
        out: dict[str, str] = {}
        for name in table.raw:
            if not _DEFINE_NAME.match(name):
                raise table.error(f"{name!r}: names are upper-case letters, digits and _")
            fragment = table.expand(table.text(name), out)
            try:
                re.compile(fragment)
            except re.error as exc:
                raise table.error(f"{name}: bad regular expression: {exc}") from exc
            out[name] = fragment
        return out

    def choice(self, key: str, allowed: Iterable[str], default: str | None = None) -> str:
        value = self.text(key, default)
        options = tuple(allowed)
        if value not in options:
            raise self.error(f"'{key}' must be one of {' '.join(options)}, got {value!r}")
        return value

    def choices(self, key: str, allowed: Iterable[str]) -> tuple[str, ...]:
        values = self.texts(key)
        options = tuple(allowed)
        bad = [v for v in values if v not in options]
        if bad:
            raise self.error(f"'{key}' has unknown value(s) {' '.join(bad)}; allowed: {' '.join(options)}")
        return values


_MISSING: Any = object()


def load_toml(path: Path) -> Table:
    """Read one TOML data file; any failure becomes a ``DataError`` naming the file."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise DataError(path, "", f"file not found ({path})") from exc
    except OSError as exc:
        raise DataError(path, "", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path, "", f"invalid TOML: {exc}") from exc
    return Table(path, "", raw)
