"""Labelled training data for ``assist train``: CSV or JSONL, validated with errors naming the line.

Columns (CSV header or JSON keys): ``text`` (required) and any of ``category`` (the six
12345 request types; ``intent`` is accepted as its old name), ``department`` (any label
set: a centre's own unit names), ``emotion`` (the six emotions), ``critical`` (true/false) and
``critical_kind`` (what kind of danger a critical example is: 自伤自杀, 医疗急症, 火灾 … any label set;
it decides the emergency numbers, ``data/referrals.toml`` ``[crisis_kinds]``) and ``referrals`` (a list
of the numbers the caller should be given, strings or integers, in CSV separated by spaces or commas: the
learned referral head; absent means not labelled, [] none).  Operator utterances
carry ``violation`` (true/false: a banned service phrase) and ``kind`` (its class, any label set):
they train the operator's heads only, and are analysed by the rules as the operator's words.
An empty or null label means "not labelled" for that head.  Other keys (id, note,
style ...) are ignored.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from assist.nlp.jsonl import JsonLineError, json_lines

CATEGORIES: tuple[str, ...] = ("建议", "一般诉求", "求助", "投诉举报", "咨询", "表扬")
EMOTIONS: tuple[str, ...] = ("平静", "焦虑", "失望", "愤怒", "绝望", "满意")
MIN_EXAMPLES = 5
_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}


class Head(StrEnum):
    CATEGORY = "category"
    DEPARTMENT = "department"
    EMOTION = "emotion"
    CRITICAL = "critical"
    KIND = "critical_kind"  # learned on critical examples only
    VIOLATION = "violation"  # operator utterances: a banned service phrase or not
    BANNED_KIND = "banned_kind"  # its class, learned on violations only


LABEL_HEADS: tuple[Head, ...] = (Head.CATEGORY, Head.DEPARTMENT, Head.EMOTION, Head.KIND, Head.VIOLATION,
                                 Head.BANNED_KIND)
CALLER_HEADS: tuple[Head, ...] = (Head.CATEGORY, Head.DEPARTMENT, Head.EMOTION, Head.KIND, Head.CRITICAL)
AGENT_HEADS: tuple[Head, ...] = (Head.VIOLATION, Head.BANNED_KIND)


class TrainDataError(ValueError):
    """Invalid training data; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    source: str  # "file:line"
    text: str
    category: str | None = None
    department: str | None = None
    emotion: str | None = None
    critical: bool | None = None
    critical_kind: str | None = None
    violation: bool | None = None  # set on operator utterances only
    banned_kind: str | None = None
    referrals: tuple[str, ...] | None = None  # caller utterances: the numbers to give (None: not labelled)
    group: str = ""  # the row's `group` (one writer's or one month's batch; default: its file) for grouped folds

    @property
    def agent(self) -> bool:
        return self.violation is not None

    def label(self, head: Head) -> str | None:
        if head is Head.CRITICAL:
            return None if self.critical is None else ("true" if self.critical else "false")
        if head is Head.VIOLATION:
            return None if self.violation is None else ("true" if self.violation else "false")
        value: str | None = getattr(self, head.value)
        return value


def _text_field(value: object, where: str, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TrainDataError(f"{where}: field '{key}' must be text, got {type(value).__name__}")
    s = str(value).strip()
    return s or None


def _flag(value: object, where: str, key: str = "critical") -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise TrainDataError(f"{where}: field '{key}' must be true or false, got {value!r}")


def _example(record: dict[str, object], where: str) -> Example:
    """One row as an example, its ``group`` from the row's `group` field or else its file."""
    return replace(_labelled(record, where), group=_text_field(record.get("group"), where, "group")
                   or where.rsplit(":", 1)[0])


def _labelled(record: dict[str, object], where: str) -> Example:
    text = _text_field(record.get("text"), where, "text")
    if text is None:
        raise TrainDataError(f"{where}: empty text")
    violation = _flag(record.get("violation"), where, "violation")
    if violation is not None:  # an operator utterance
        kind = _text_field(record.get("kind"), where, "kind")
        if kind is not None and not violation:
            raise TrainDataError(f"{where}: kind {kind!r} on an utterance that is not a violation")
        return Example(where, text, violation=violation, banned_kind=kind)
    category = _text_field(record.get("category", record.get("intent")), where, "category")
    if category is not None and category not in CATEGORIES:
        raise TrainDataError(f"{where}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    emotion = _text_field(record.get("emotion"), where, "emotion")
    if emotion is not None and emotion not in EMOTIONS:
        raise TrainDataError(f"{where}: unknown emotion {emotion!r} (one of {', '.join(EMOTIONS)})")
    department = _text_field(record.get("department"), where, "department")
    critical = _flag(record.get("critical"), where)
    kind = _text_field(record.get("critical_kind"), where, "critical_kind")
    if kind is not None and critical is False:
        raise TrainDataError(f"{where}: critical_kind {kind!r} on an example that is not critical")
    return Example(where, text, category, department, emotion, critical, kind, referrals=_numbers(record, where))


def _numbers(record: dict[str, object], where: str) -> tuple[str, ...] | None:
    value = record.get("referrals")
    if isinstance(value, str):  # a CSV cell: "120 110" or "120,110"; empty means not labelled
        value = value.replace(",", " ").replace(";", " ").split() or None
    if value is None:
        return None
    if not isinstance(value, list):
        raise TrainDataError(f"{where}: field 'referrals' must be a list of numbers, got {type(value).__name__}")
    out: list[str] = []
    for n in value:
        s = str(n).strip() if isinstance(n, (str, int)) and not isinstance(n, bool) else ""
        if not s.isdigit():
            raise TrainDataError(f"{where}: field 'referrals' must hold numbers such as \"12315\", got {n!r}")
        out.append(s)
    return tuple(dict.fromkeys(out))


def read_examples(path: Path, *, only_critical: bool = False) -> list[Example]:
    """Every example of ``path`` (.csv, or JSONL for any other extension)."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainDataError(f"{path}: not UTF-8 ({exc})") from exc
    out: list[Example] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(content))
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise TrainDataError(f"{path}:1: the header must name a 'text' column")
        for row in reader:
            where = f"{path.name}:{reader.line_num}"
            out.append(_example({k: v for k, v in row.items() if k is not None}, where))
    else:
        try:
            for where, obj in json_lines(content, path.name):
                if not isinstance(obj, dict):
                    raise TrainDataError(f"{where}: a line must be a JSON object with 'text'")
                out.append(_example(obj, where))
        except JsonLineError as exc:
            raise TrainDataError(f"{exc.where}: not valid JSON ({exc.error.msg})") from exc.error
    if only_critical:  # a bank of crisis examples: unlabelled rows count as critical
        out = [e if e.critical is not None else replace(e, critical=True) for e in out]
    return out


def data_hash(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def check_counts(examples: Sequence[Example], *, minimum: int = MIN_EXAMPLES,
                 drop_rare: bool = False) -> tuple[list[Example], list[str]]:
    """Examples with every label seen at least ``minimum`` times.

    A rarer label is an error naming its lines, or, with ``drop_rare``, is dropped from
    its head (the example keeps its other labels) and reported in the returned notes."""
    notes: list[str] = []
    rare: dict[Head, set[str]] = {}
    for head in (*LABEL_HEADS, Head.CRITICAL):
        counts = Counter(e.label(head) for e in examples if e.label(head) is not None)
        few = {lab for lab, n in counts.items() if lab is not None and n < minimum}
        if not few:
            continue
        if not drop_rare:
            lines: dict[str, list[str]] = defaultdict(list)
            for e in examples:
                lab = e.label(head)
                if lab in few:
                    lines[lab].append(e.source)
            lab = sorted(few)[0]
            raise TrainDataError(
                f"{lines[lab][0]}: {head.value} {lab!r} has only {counts[lab]} example(s) "
                f"(at {', '.join(lines[lab])}); at least {minimum} are needed. "
                f"Add examples, merge the label into another, or pass --drop-rare")
        rare[head] = few
        dropped = ", ".join(f"{lab} ({counts[lab]})" for lab in sorted(few))
        notes.append(f"{head.value}: dropped rare label(s) {dropped}")
    if not rare:
        return list(examples), notes
    out: list[Example] = []
    for e in examples:
        changes: dict[str, object] = {}
        for head, few in rare.items():
            if e.label(head) in few:
                changes[head.value] = None
        out.append(replace(e, **changes) if changes else e)  # type: ignore[arg-type]
    return out, notes
