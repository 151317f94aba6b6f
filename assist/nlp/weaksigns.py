"""What a weak crisis guess of the learned model needs before it counts (data: ``weak_signs.toml``).

A weak sign (the model alone, below its confident threshold) asks the amber safety question, and a
second sign in a call may raise the crisis card (``refine.apply``).  ``WeakSigns`` tells hyperbole
(逼疯了, 愁死了, 死活得) and plainly routine requests (社保断了还能续上不) from words that carry
self-harm or despair content of their own (想一些不好的事, 以后不用再麻烦你们了), and recognises the
operator's safety questions (``SafetyRules`` of safety_check.toml, as the training report does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assist.nlp.data import DEFAULT_DATA_DIR, load_toml
from assist.nlp.safety_questions import SafetyRules

WEAK_FILE = "weak_signs.toml"
HEARD_SIDE = 6  # characters either side of a cue quoted as what was heard, when no punctuation ends the clause
WORD_SLACK = 3  # characters such an edge may move out to a word's start
_CLAUSE_END = re.compile(r"[,.!?;:，。！？；：、]")


def quoted(words: Sequence[str]) -> str:
    """What was heard, after a model-only reason: ``:「…」「…」`` ("" for nothing)."""
    return ":" + "".join(f"「{w}」" for w in words) if words else ""


MEDICAL = "医疗急症"  # the kind of a medical emergency: a relative's death already told is none (``bereaved``)

@dataclass(frozen=True, slots=True)
class WeakSigns:
    hyperbole: tuple[re.Pattern[str], ...]
    routine: tuple[re.Pattern[str], ...]
    cues: tuple[re.Pattern[str], ...]
    questions: SafetyRules  # the operator asking about the caller's safety
    asking: tuple[re.Pattern[str], ...] = ()  # any question of the operator's (是身体不舒服还是心里难受)
    affirm: tuple[re.Pattern[str], ...] = ()  # the caller's yes to the safety question (有, 嗯, 想过, 有时候会想)
    farewells: tuple[re.Pattern[str], ...] = ()  # a last goodbye, affairs put in order (留给闺女了再见, 安心走了)
    yes: tuple[re.Pattern[str], ...] = ()  # a bare yes (嗯, 有, 是的): danger only after a danger question
    danger_questions: tuple[re.Pattern[str], ...] = ()  # questions whose yes means danger (有没有伤害自己的想法)
    closing: tuple[re.Pattern[str], ...] = ()  # the operator closing a matter (还有其他问题吗): not asking about a sign
    vent_rules: frozenset[str] = frozenset()  # the rules' critical signals hyperbole can hold (烦得想跳楼)
    negative_questions: tuple[re.Pattern[str], ...] = ()  # 您不会想做什么傻事吧: a bare yes means no danger
    soft_kinds: tuple[str, ...] = ("自伤自杀",)  # the model's guesses hyperbole or a routine request can soften
    grave: tuple[re.Pattern[str], ...] = ()  # cues of a place of danger, means or a plan (在江边, 药攒好了)
    questions_plain: tuple[re.Pattern[str], ...] = ()  # 几点开门, 在哪办: a weak guess on them is none
    plans: tuple[re.Pattern[str], ...] = ()  # 弄不明白再打电话问你们: a weak guess on the caller's next step is none
    openers: tuple[re.Pattern[str], ...] = ()  # 我想反映一下我们楼里有个老人: no guess below sure on it is a sign
    deaths: tuple[re.Pattern[str], ...] = ()  # a relative's failed rescue told (没救过来): that emergency is over
    deaths_unless: tuple[re.Pattern[str], ...] = ()  # ... unless danger now is told too (刚才, 也晕倒了)
    diagnosis: tuple[re.Pattern[str], ...] = ()  # after it, a trigger only as the doctor's word (医生说是心梗)
    grievance: tuple[re.Pattern[str], ...] = ()  # a threat to complain or go public (找电视台曝光你们): no sign
    threatens: tuple[re.Pattern[str], ...] = ()  # the caller as the one who threatens (今晚我就下去跟他拼了)
    farewell_unless: tuple[re.Pattern[str], ...] = ()  # a new number or a move in its clause or the one before
    hang_ups: tuple[re.Pattern[str], ...] = ()  # 算了算了挂了: the whole line ends the call, no model guess is a sign
    closing_thanks: tuple[re.Pattern[str], ...] = ()  # 你别往心里去,你们也不容易: an apology and thanks at the close
    settling: tuple[re.Pattern[str], ...] = ()  # 我自己跟他说吧: the caller settles it with the other party

    @classmethod
    def load(cls, path: Path | None = None, safety: Path | None = None) -> WeakSigns:
        """Read ``weak_signs.toml`` and ``safety_check.toml`` (default: the shipped ones).  Raises ``DataError``."""
        doc = load_toml(path or DEFAULT_DATA_DIR / WEAK_FILE)
        doc.check_keys({"hyperbole", "routine", "cues", "asking", "affirm", "farewells", "yes", "danger_questions",
                        "closing", "vent_rules", "negative_questions", "soft_kinds", "grievance", "threatens", "grave",
                        "plain_questions", "plans_ahead", "bare_openers", "farewell_unless", "bereaved",
                        "bereaved_unless", "bereaved_diagnosis", "hang_ups", "closing_thanks", "settles"})
        return cls(doc.regex_list("hyperbole"), doc.regex_list("routine"), doc.regex_list("cues"),
                   SafetyRules.load(safety), doc.regex_list("asking"), doc.regex_list("affirm"),
                   doc.regex_list("farewells"), doc.regex_list("yes"), doc.regex_list("danger_questions"),
                   doc.regex_list("closing"), frozenset(doc.texts("vent_rules")), doc.regex_list("negative_questions"),
                   tuple(doc.texts("soft_kinds")), grave=doc.regex_list("grave"),
                   grievance=doc.regex_list("grievance"), threatens=doc.regex_list("threatens"),
                   questions_plain=doc.regex_list("plain_questions"), plans=doc.regex_list("plans_ahead"),
                   farewell_unless=doc.regex_list("farewell_unless"),
                   openers=doc.regex_list("bare_openers"),
                   deaths=doc.regex_list("bereaved"), deaths_unless=doc.regex_list("bereaved_unless"),
                   diagnosis=doc.regex_list("bereaved_diagnosis"),
                   hang_ups=doc.regex_list("hang_ups"), closing_thanks=doc.regex_list("closing_thanks"),
                   settling=doc.regex_list("settles"))

    def masked(self, text: str) -> str:
        """``text`` with its hyperbole blanked (逼疯了 → ···): what is left may still carry a cue."""
        chars = list(text)
        for p in self.hyperbole:
            for m in p.finditer(text):
                chars[m.start():m.end()] = "·" * (m.end() - m.start())
        return "".join(chars)

    def cue(self, text: str) -> bool:
        """The words carry self-harm or despair content of their own (hyperbole does not count); a farewell is one."""
        rest = self.masked(text)
        return any(p.search(rest) for p in (*self.grave, *self.cues)) or self.farewell(text)

    def serious(self, text: str) -> bool:
        """A farewell, or a grave cue: a place of danger, means or a plan (hyperbole masked)."""
        rest = self.masked(text)
        return self.farewell(text) or any(p.search(rest) for p in self.grave)

    def farewell(self, text: str) -> bool:
        """A last goodbye or affairs put in order (退休金我都留给闺女了再见, 户口迁完了我就可以安心走了): asks the
        safety question even when no net flags the line (refine.apply)."""
        return self._farewell(text) is not None

    def _farewell(self, text: str) -> re.Match[str] | None:
        """The first farewell whose own clause, and the one before it, tell of no move or new number."""
        return next((m for p in self.farewells for m in p.finditer(text) if not self._moving(text, m.start())), None)

    def moves(self, text: str) -> bool:
        """The words tell of a move or a new number (``farewell_unless``: 搬走了, 去深圳跟我女儿住, 换了号)."""
        return any(p.search(text) for p in self.farewell_unless)

    def _moving(self, text: str, at: int) -> bool:
        """The clause of ``at``, or the one just before it, tells of a new number or a move (``farewell_unless``)."""
        bounds = [0, *(m.end() for m in _CLAUSE_END.finditer(text)), len(text) + 1]
        i = max(k for k, b in enumerate(bounds) if b <= at)
        end = next((b for b in bounds if b > at), len(text))
        return self.moves(text[bounds[max(0, i - 1)]:end])

    def heard(self, text: str, words: Callable[[], frozenset[int]] | None = None) -> tuple[int, int] | None:
        """Where the words that make a model-only sign specific stand: the clause of the first grave cue (a place
        of danger, means or a plan: new-user trial 7 saw 「床上一躺谁也不麻烦」, a farewell, quoted rather than the
        pills saved up), else of the first farewell, else of the first other cue in ``weak_signs.toml``'s order
        (thoughts and exhaustion after: the fourth review saw 「我一个人住」 quoted rather than the medicine saved
        up; hyperbole masked), at most ``HEARD_SIDE`` characters either side of it.  The crisis card quotes and
        highlights it (trial 4: "可能有自伤自杀风险(模型判断)" named nothing the caller said).  An edge that no
        punctuation gives moves out to a word start of ``words()`` (offsets, ``Tokenizer.word_starts``; segmented
        only then), at most ``WORD_SLACK`` characters (trial 6: 「伴走了半年了…」 lost the 老 of 老伴)."""
        rest = self.masked(text)
        found = next((m for p in self.grave if (m := p.search(rest))), None)  # a place of danger, means, a plan
        if found is None:
            found = self._farewell(text)
        if found is None:  # then thoughts, exhaustion… in their order
            found = next((m for p in self.cues if (m := p.search(rest))), None)
        if found is None:
            return None
        start, end = found.start(), found.end()
        before = [m.end() for m in _CLAUSE_END.finditer(text, max(0, start - HEARD_SIDE), start)]
        after = _CLAUSE_END.search(text, end, min(len(text), end + HEARD_SIDE))
        lo = before[-1] if before else max(0, start - HEARD_SIDE)
        hi = after.start() if after else min(len(text), end + HEARD_SIDE)
        if words is not None and ((not before and lo > 0) or (not after and hi < len(text))):
            starts = words()
            if not before:
                lo = next((i for i in range(lo, max(0, lo - WORD_SLACK) - 1, -1) if i in starts), lo)
            if not after:
                hi = next((i for i in range(hi, min(len(text), hi + WORD_SLACK) + 1) if i in starts), hi)
        return lo, hi

    def vented(self, rule: str, text: str, start: int, end: int) -> bool:
        """The rules' critical signal ``rule`` at ``start:end`` is said in frustration (烦得想跳楼), and the words
        carry no cue besides (我烦得想跳楼我现在就在楼顶 is no venting)."""
        return (rule in self.vent_rules and set(self.masked(text)[start:end]) == {"·"} and not self.cue(text))

    def hyperbolic(self, text: str) -> bool:
        return any(p.search(text) for p in self.hyperbole)

    def routine_request(self, text: str) -> bool:
        return any(p.search(text) for p in self.routine)

    def not_a_sign(self, text: str) -> bool:
        """A weak self-harm guess on these words is soft (refine.apply): hyperbole or a routine request, and no
        cue.  The caller decides which guesses may be softened (never violence, a medical emergency…)."""
        return (self.hyperbolic(text) or self.routine_request(text)) and not self.cue(text)

    def aggrieved(self, text: str) -> bool:
        """A threat to complain or to go public (再不来人我就找电视台曝光你们): anger at the service, no sign of danger
        (trial 6, c4: the safety question it drew became the training report's first finding)."""
        return any(p.search(text) for p in self.grievance)

    def plain_question(self, text: str) -> bool:
        """A plain question about opening hours or where to do something (几点开门, 在哪办): with no cue, a weak
        model guess on it is no sign (refine.apply)."""
        return any(p.search(text) for p in self.questions_plain)

    def plans_ahead(self, text: str) -> bool:
        """The caller says what they will do next (弄不明白再打电话问你们, 今晚就在手机上弄): with no cue, a weak
        model guess on it is no sign (refine.apply; trial 7's polite closing)."""
        return any(p.search(text) for p in self.plans)

    def hangs_up(self, text: str) -> bool:
        """The whole line ends the call (算了算了挂了, 不说了我挂了): a model guess on it is no sign (refine.apply;
        new-user trial 11: 挂了 read as a death in a water complaint)."""
        return any(p.search(text) for p in self.hang_ups)

    def thanks_at_close(self, text: str) -> bool:
        """An apology and thanks at the close (刚才我说话冲了点,你别往心里去啊,你们也不容易,谢谢你了): like a
        hang-up, no model guess on it is a sign as the call's first (refine.apply; trial 8's line, which the stop-22
        model was sure of)."""
        return any(p.search(text) for p in self.closing_thanks)

    def settles(self, text: str) -> bool:
        """The caller will settle the matter with the other party (我自己跟他说吧): no model guess on it is a sign
        (refine.apply)."""
        return any(p.search(text) for p in self.settling)

    def bare_opener(self, text: str) -> bool:
        """The whole line only names whom the call is about (我想反映一下我们楼里有个老人): a model guess below sure on
        it is no sign (refine.apply)."""
        return any(p.search(text) for p in self.openers)

    def bereaved(self, text: str, triggers: Sequence[tuple[int, int]] = ()) -> bool:
        """The line tells of a relative's failed rescue (没救过来) and of no danger now, and each of the rules'
        ``triggers`` (start, end) comes before those words or after them only as the doctor's word (医生说是心梗):
        that emergency is over (the analyzer's 120, refine.apply's medical guess)."""
        if any(p.search(text) for p in self.deaths_unless):
            return False
        death = min((m.start() for p in self.deaths if (m := p.search(text))), default=None)
        return death is not None and all(
            end <= death or any(p.search(text, death, start) for p in self.diagnosis) for start, end in triggers)

    def threat(self, text: str) -> bool:
        """The caller is the one who threatens violence (今晚我就下去跟那个老板拼了): a threat, not a victim."""
        return any(p.search(text) for p in self.threatens)

    def affirms(self, text: str, *, bare: bool = True) -> bool:
        """The caller says yes: what was thought (想过, 有时候会想) always, a bare yes (有, 嗯, 是的) when ``bare``
        (the question asked about danger: to 您现在安全吗, 嗯 means safe)."""
        return any(p.search(text) for p in self.affirm) or (bare and any(p.search(text) for p in self.yes))

    def asks_about_danger(self, text: str) -> bool:
        """The operator's question is one whose yes means danger (您现在有没有伤害自己的想法)."""
        return (any(p.search(text) for p in self.danger_questions)
                and not any(p.search(text) for p in self.negative_questions))

    def asks_safety(self, text: str, *, sign_up: bool = False) -> bool:
        """The operator's words ask about the caller's safety (您现在安全吗, 有没有伤害自己的想法…); with
        ``sign_up`` (an earlier line of the caller gave a sign), any question does: the operator is checking
        in words of their own (大爷您刚才说熬不过这个冬天是身体不舒服还是心里难受)."""
        if self.questions.asks(text) is not None:
            return True
        return sign_up and any(p.search(text) for p in self.asking) and not any(p.search(text) for p in self.closing)
