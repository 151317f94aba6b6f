"""The training report as readable Chinese text for a trainer's terminal (``assist replay --report``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assist.protocol.enums import CallMode, PromptKind, Role
from assist.training.safety import SafetyOutcome

if TYPE_CHECKING:
    from assist.training.crisis import CrisisCheck, CrisisItem
    from assist.training.report_shape import AlertNote, LateStep, TrainingReport, Unanswered


# after a training call's alert sections: no supervisor received (or can acknowledge) them
TRAINING_ALERTS = "(培训通话,未发送给班长,仅供培训参考)"


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(max(0.0, seconds)), 60)
    return f"{minutes:02d}:{secs:02d}"


def again(note: AlertNote) -> str:
    """`` (又 3 次)`` after an alert that came again later in the call (the same kind and reason)."""
    return f"(又 {note.repeats} 次)" if note.repeats else ""


def render_text(report: TrainingReport) -> str:
    """The report as readable Chinese text for a trainer's terminal."""
    ok = {True: "✓", False: "✗"}
    lines = [f"══════ 培训报告 {report.call_id or ''} ══════".rstrip()]
    roles = {Role.AGENT: "坐席", Role.CALLER: "来电人", Role.MIXED: "通话"}
    counts = " · ".join(f"{roles.get(r, r)} {n} 句" for r, n in report.utterances.items())
    lines.append(f"通话时长 {clock(report.duration)}" + (f" · {counts}" if counts else ""))
    if report.category is not None:
        dept = f" · 承办部门:{report.category.department}" if report.category.department else ""
        lines.append(f"诉求分类:{report.category.intent}{dept}")
    else:
        lines.append("诉求分类:未识别")
    if report.emotion is not None:
        e = report.emotion
        lines.append(f"来电人情绪峰值:{e.label} {e.intensity:.1f}({clock(e.time)})")
    else:
        lines.append("来电人情绪:平稳")
    lines.append("规范用语")
    for name, check in (("开头语", report.opening), ("结束语", report.closing)):
        if not check.judged:
            lines.append(f"  · {name} — 危急来电按危急处置评价,不评价{name}")
        elif check.used:
            lines.append(f"  {ok[True]} {name} [{clock(check.time)}] {check.said}")
        else:
            said = f" [{clock(check.time)}] {check.said}" if check.said else ""
            lines.append(f"  {ok[False]} {name}{said} — 缺少{'、'.join(check.missing)};应说:{check.expected}")
    lines.append(f"禁用语({len(report.banned)} 次)" if report.banned else "禁用语:无")
    for b in report.banned:
        lines.append(f"  [{clock(b.time)}] 「{b.words}」 → 应说:{b.suggestion}")
    emp = report.empathy
    if emp.emotion is None:
        lines.append("共情三步:来电人情绪平稳,不需要")
    elif not emp.steps:
        lines.append(f"共情三步:{';'.join(emp.notes)}")
    else:
        lines.append(f"共情三步(来电人 {clock(emp.emotion.time)} 表现出{emp.emotion.label}之后)")
        previous: tuple[float | None, str | None] | None = None
        for s in emp.steps:
            if s.done:
                quote = "(同上一句)" if previous == (s.time, s.said) else s.said  # one line did two steps
                lines.append(f"  {ok[True]} {s.step} [{clock(s.time)}] {quote}")
                previous = (s.time, s.said)
                if s.late is not None:
                    lines.append(f"      {late_text(s.step, emp.emotion.label, s.late)}")
            else:
                why = f"{';'.join(s.notes)};" if s.notes else ""
                lines.append(f"  {ok[False]} {s.step} — {why}可以说:{s.expected}")
    lines.append("转介建议" if report.referrals else "转介建议:无")
    for r in report.referrals:
        when = f" [{clock(r.given_time)}] {r.given_said}" if r.given and r.given_time is not None else ""
        told = f"已告知来电人{when}" if r.given else (f"未告知,不计:{r.excused}" if r.excused else "未告知来电人")
        lines.append(f"  [{clock(r.time)}] {r.number} {r.name}({told})")
        if not r.given and not r.excused and r.script:
            lines.append(f"      可以说:{r.script}")
    lines.append("知识库答案" if report.knowledge else "知识库答案:无")
    for k in report.knowledge:
        score = f" 匹配 {k.score:.0%}" if k.score is not None else ""
        lines.append(f"  [{clock(k.time)}] {k.question}{score}" + ("(后被撤下)" if k.withdrawn else ""))
    if report.unanswered:
        lines.append("知识库有答案而坐席答不知道")
    for u in report.unanswered:
        lines.append(f"  [{clock(u.time)}] 「{u.said}」 — 来电人 [{clock(u.asked_time)}] 问的,知识库有答案"
                     f"「{u.question}」(匹配 {u.score:.0%})")
    # a training call alerts no supervisor: what live assist would have raised is labelled so, for the trainer
    training = report.mode == CallMode.TRAINING
    if report.critical:
        lines.append(f"危急信号{TRAINING_ALERTS}" if training else "危急告警")
        lines.extend(f"  [{clock(a.time)}] {a.message}{again(a)}" for a in report.critical)
    if report.crisis is not None and not report.crisis.confirmed:
        lines.append(f"危急处置:{report.crisis.note}")
    elif report.crisis is not None:
        kinds = f",危急类型:{'、'.join(report.crisis.kinds)}" if report.crisis.kinds else ""
        lines.append(f"危急处置(按危急来电标准评价,不看结束语和办结时限{kinds})")
        if report.crisis.note:  # a lone model guess the caller said nothing after
            lines.append(f"  {report.crisis.note}")
        # first: the call closed on a caller at risk, a ticket and working days for one
        lines.extend(f"  {ok[False]} {f.item} [{clock(f.time)}] {f.said} — {f.expected}" for f in _first(report.crisis))
        done: set[tuple[float | None, str | None]] = set()
        for item in (*report.crisis.items, *report.crisis.credits):
            if item.done:  # a line that did several items is quoted once
                quote = "(同上一句)" if (item.time, item.said) in done else item.said
                lines.append(f"  {ok[True]} {item.item} [{clock(item.time)}] {quote}")
                done.add((item.time, item.said))
            else:
                lines.append(f"  {ok[False]} {item.item} — 可以说:{item.expected}")
    else:
        lines.append("危急告警:无")
    if report.safety:
        lines.append("安全确认(助手提示后,坐席是否询问来电人的安全)")
    for q in report.safety:
        heard = f"[{clock(q.time)}] 来电人:{q.caller}"
        if q.outcome is SafetyOutcome.ASKED:
            lines.append(f"  {ok[True]} {heard} → 坐席 [{clock(q.asked_time)}] {q.said}")
        elif q.outcome is SafetyOutcome.CRISIS:
            lines.append(f"  · {heard} → 来电人随后说出危急情况,按危急处置评价")
        else:
            lines.append(f"  {ok[False]} {heard} → 坐席没有询问;可以问:{q.question}")
    others = [a for a in report.alerts if a not in report.critical]
    if others:
        lines.append(f"实时通话中会提醒班长的情况{TRAINING_ALERTS}" if training else "班长告警")
        lines.extend(f"  [{clock(a.time)}] {a.message}{again(a)}" for a in others)
    if report.suggestions:
        lines.append("改进建议")
        lines.extend(f"  {i}. {s}" for i, s in enumerate(report.suggestions, 1))
    else:
        lines.append("改进建议:无,做得好!")
    return "\n".join(lines)


def late_text(step: str, emotion: str, late: LateStep) -> str:
    """「情绪承接」晚了 45 秒: what came before it."""
    banned = f",其中 {late.banned} 句是禁用语" if late.banned else ""
    return f"「{step}」晚了:来电人表现出{emotion} {late.after:.0f} 秒后才做到,之前坐席说了 {late.turns} 句{banned}"


def unanswered_text(u: Unanswered) -> str:
    """The suggestion for 知识库有答案而坐席答不知道."""
    return (f"{clock(u.time)} 知识库有答案而坐席答不知道:来电人问的,知识库「{u.question}」有答案(匹配 {u.score:.0%}),"
            f"坐席却说「{u.said}」;先看知识库提示,按这条的答案回答来电人")


def _first(crisis: CrisisCheck) -> tuple[CrisisItem, ...]:
    """The crisis findings above its items: the call closed before the transfer, the caller handled as routine."""
    return tuple(f for f in (crisis.ended, crisis.routine) if f is not None)


def suggestions(report: TrainingReport) -> tuple[str, ...]:
    """What to improve, one sentence each, most important first (the report's ``suggestions``)."""
    out: list[str] = []
    crisis = report.crisis
    if crisis is not None:  # first of all: the call closed on a caller at risk, a ticket and working days for one
        out.extend(f"{clock(f.time)} {f.item}(「{f.said}」);{f.expected}" for f in _first(crisis))
    if crisis is not None:  # judged by what a crisis needs, not by the routine closing or 办结时限
        out.extend(f"危急来电缺少「{i.item}」;可以说:{i.expected}" for i in crisis.items if not i.done)
    for name, check in (("开头语", report.opening), ("结束语", report.closing)):
        if check.judged and not check.used:
            out.append(f"{name}不完整,缺少{'、'.join(check.missing)};标准说法:{check.expected}")
    for b in report.banned:
        out.append(f"{clock(b.time)} 说了禁用语「{b.words}」,应改为:{b.suggestion}")
    out.extend(unanswered_text(u) for u in report.unanswered)
    if report.empathy.emotion is not None:  # a crisis call has no steps (its 情绪承接 is a crisis item)
        e = report.empathy.emotion
        for s in report.empathy.steps:
            if not s.done:
                why = f":{';'.join(s.notes)}" if s.notes else ""
                out.append(f"来电人{e.label}后缺少「{s.step}」{why};可以说:{s.expected}")
            elif s.late is not None:
                out.append(f"{late_text(s.step, e.label, s.late)};应在第一次回应时就说,例如:{s.expected}")
    for q in report.safety:
        if q.outcome is SafetyOutcome.MISSED:
            card = "安全确认" if q.card is PromptKind.SAFETY else f"危急「{q.reason or '模型判断'}」(通话没有证实)"
            out.append(f"{clock(q.time)} 助手提示{card},坐席没有询问来电人的安全;可以问:{q.question}")
    for r in report.referrals:
        if not r.given and not r.excused:
            say = f";可以说:{r.script}" if r.script else ""
            out.append(f"助手建议转介 {r.number} {r.name},坐席没有告知来电人{say}")
    return tuple(out)
