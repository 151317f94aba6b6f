"""现场指导: the first steps a caller can take while the call is connected to an emergency number.

``first_aid.toml`` lists first steps, each for a crisis number (120, 119…) and optionally only for some kinds of
danger (the fire step for a fire, not for a flood the 119 card also serves), with the words that call for it
(胸口闷…出了一身冷汗: sit down, do not walk).  ``CallAid`` notes the entries heard in the caller's **critical**
utterances (the words that raised or joined the crisis; an utterance's newest text replaces its partial's), a
match negated just before (没有昏迷, 没抽) or inside an entry's ``unless`` words (敲门也没反应) not counting;
``CallAid.steps(numbers, kind)`` gives at most ``MAX_STEPS`` of them for the card's numbers, in the file's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml

FIRST_AID_FILE = "first_aid.toml"
MAX_STEPS = 2  # a crisis card reads out two steps at most (bleeding and unresponsive, poison and a seizure)
_NEGATED = re.compile("(没有|没|不|未|别|无)$")  # right before a match: 没有昏迷, 没抽搐, 不喘不上气


@dataclass(frozen=True, slots=True)
class AidEntry:
    name: str
    number: str
    patterns: tuple[re.Pattern[str], ...]
    say: str
    kinds: frozenset[str] = frozenset()  # the call's kinds of danger it is for (empty: any)
    unless: tuple[re.Pattern[str], ...] = ()  # words in which a match does not count (敲门也没反应)
    from_call: bool = False  # heard in any caller line of the call (a coal stove said before the symptoms)

    def heard(self, text: str) -> bool:
        spoiled = [m.span() for p in self.unless for m in p.finditer(text)]
        for p in self.patterns:
            for m in p.finditer(text):
                if _NEGATED.search(text[max(0, m.start() - 2):m.start()]):
                    continue
                if not any(s <= m.start() and m.end() <= e for s, e in spoiled):
                    return True
        return False


@cache
def shipped_aid(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[AidEntry, ...]:
    """The entries of ``first_aid.toml``, in priority order (loaded once per process)."""
    doc = load_toml(data_dir / FIRST_AID_FILE)
    doc.check_keys({"entry"})
    entries = []
    for entry in doc.tables("entry"):
        entry.check_keys({"name", "number", "patterns", "say", "kinds", "unless", "from_call"})
        patterns = entry.regex_list("patterns")
        if not patterns:
            raise entry.error("needs at least one pattern")
        entries.append(AidEntry(entry.text("name"), entry.text("number"), patterns, entry.text("say"),
                                frozenset(entry.texts("kinds")), entry.regex_list("unless"),
                                entry.boolean("from_call", False)))
    return tuple(entries)


@dataclass
class CallAid:
    """The first-aid entries the caller's critical words called for in one call."""

    entries: tuple[AidEntry, ...] = field(default_factory=shipped_aid)
    heard: dict[str, frozenset[str]] = field(default_factory=dict)  # utterance -> names of the entries heard
    called: set[str] = field(default_factory=set)  # ``from_call`` entries heard in any caller line of the call

    def hear(self, utterance_id: str, text: str) -> None:
        """Note the entries a critical caller utterance (its normalised text) calls for; a later text of the same
        utterance (its final after a partial) replaces the earlier one."""
        self.heard[utterance_id] = frozenset(e.name for e in self.entries if e.heard(text))

    def note(self, text: str) -> None:
        """Any caller final (normalised): the ``from_call`` entries it names count for a later crisis card (the
        coal stove said a turn before 我头疼想吐 孩子喊也喊不醒: new-user trial 8)."""
        self.called |= {e.name for e in self.entries if e.from_call and e.heard(text)}

    def steps(self, numbers: tuple[str, ...], kind: str | None) -> tuple[str, ...]:
        """What to read out for a crisis card naming ``numbers`` in a call of danger ``kind``: the entries heard
        for those numbers and that kind, in the file's order, at most ``MAX_STEPS``."""
        names = set().union(*self.heard.values()) | self.called
        out: list[str] = []
        for e in self.entries:
            if e.name in names and e.number in numbers and (not e.kinds or kind in e.kinds) and e.say not in out:
                out.append(e.say)
        return tuple(out[:MAX_STEPS])
