// Renders a training report (GET /api/calls/ID/report, assist/training/report.py) as a Chinese
// document: a one-line summary, then the findings ordered by importance (crisis handling,
// safety questions not asked after a safety card, banned phrases, 知识库有答案而坐席答不知道, missing
// or late empathy steps, referral numbers not given, standard opening and closing), each with its
// moment in the call (a link to that line of the transcript) and the wording to use instead; then what
// the operator did well (a line that did several things once).  The report's `suggestions` are the
// same items as sentences (for the terminal): the page does not list them a second time.

import { el, fmtClock, fmtPercent } from "./dom.js";
import { emotionText } from "./labels.js";

/** Importance of a finding kind: lower comes first. */
// "ended": the call closed on a caller at risk before the transfer (crisis.ended), first of all; "routine": the
// caller at risk handled as a routine matter, a ticket and working days (crisis.routine)
const IMPORTANCE = { ended: -1, routine: -1, critical: 0, safety: 1, banned: 2, unanswered: 3, empathy: 4, referral: 5, greeting: 6 };
const KIND_LABEL = { ended: "危急处置", routine: "危急处置", critical: "危急处置", safety: "安全确认", banned: "服务禁语", unanswered: "知识库有答案",
  empathy: "共情三步", referral: "转介号码", greeting: "规范用语" };

const text = (v) => (typeof v === "string" ? v : "");
const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
const list = (v) => (Array.isArray(v) ? v : []);

/** A moment of the call: a button that shows the transcript line at that time. */
function moment(time, onMoment) {
  if (num(time) === null) return el("span", { className: "moment muted", text: "—" });
  return el("button", {
    className: "moment linkish",
    testid: "report-moment",
    dataset: { time: String(time) },
    attrs: { type: "button", title: "在转写中查看这一刻" },
    text: fmtClock(time),
    on: { click: () => onMoment(time) },
  });
}

/** Problems found in the report, each {kind, time, title, said, better} (and `heard`: the caller's words). */
export function findings(report) {
  const out = [];
  const crisis = report.crisis && typeof report.crisis === "object" ? report.crisis : null;
  if (crisis && crisis.confirmed === false) {
    // only a model guess the call did not confirm: shown as 模型提示未确认 (notes), never a finding
  } else if (crisis) {
    // a crisis call is judged by crisis criteria, not by the routine closing or 办结时限; first of all, whether
    // the call was closed on the caller before the transfer (crisis.toml [ended])
    // and whether the caller at risk was handled as a routine matter, a ticket and working days (crisis.routine)
    for (const kind of ["ended", "routine"]) {
      const f = crisis[kind] && typeof crisis[kind] === "object" ? crisis[kind] : null;
      if (f) out.push({ kind, time: num(f.time), title: text(f.item), said: text(f.said), better: text(f.expected) });
    }
    for (const item of list(crisis.items)) {
      if (item.done) continue;
      out.push({ kind: "critical", time: num(crisis.time), title: `危急来电缺少「${text(item.item)}」`, said: "",
        better: text(item.expected) });
    }
  } else {
    for (const c of list(report.critical)) {
      // the same alert raised again later in the call is one finding: "(又 3 次)"
      const again = num(c.repeats) ? `(又 ${c.repeats} 次)` : "";
      out.push({ kind: "critical", time: num(c.time), title: `${text(c.message) || "来电涉及危急情况"}${again}`, said: "",
        better: "" });
    }
  }
  for (const q of list(report.safety)) {
    // a safety card came up (a weaker sign of risk) and the operator did not ask about the caller's safety
    // (or an unconfirmed model guess of 自伤自杀 on a crisis card: card "critical", still to be asked about)
    if (q.outcome !== "missed") continue;
    const card = q.card === "critical" ? `危急提示「${text(q.reason) || "模型判断"}」(未证实)` : "安全确认";
    out.push({ kind: "safety", time: num(q.time), title: `助手提示${card}后,未询问来电人的安全`, said: "",
      heard: text(q.caller), better: text(q.question) });
  }
  for (const b of list(report.banned)) {
    out.push({ kind: "banned", time: num(b.time), title: "说了服务禁语", said: text(b.words), better: text(b.suggestion) });
  }
  for (const u of list(report.unanswered)) {
    // the operator disclaimed knowing right after a question the knowledge base answered confidently
    out.push({ kind: "unanswered", time: num(u.time), title: `知识库有答案而坐席答不知道:「${text(u.question)}」`
      + (num(u.score) !== null ? ` 匹配 ${fmtPercent(u.score)}` : ""),
    heard: text(u.asked), said: text(u.said), better: text(u.answer) });
  }
  const empathy = report.empathy || {};
  if (empathy.emotion && !crisis) {
    for (const s of list(empathy.steps)) {
      const late = s.done && s.late && typeof s.late === "object" ? s.late : null;
      if (late) {
        // done, but not in the first reply: how late, and what the operator said before it
        const banned = num(late.banned) ? `,其中 ${late.banned} 句是禁用语` : "";
        out.push({ kind: "empathy", time: num(s.time), title: `「${text(s.step)}」晚了 ${Math.round(num(late.after) ?? 0)} 秒`,
          said: text(s.said), better: text(s.expected),
          notes: [`来电人 ${fmtClock(num(empathy.emotion.time) ?? 0)} 表现出${text(empathy.emotion.label)},坐席先说了 ${num(late.turns) ?? 0} 句${banned},应在第一次回应时承接情绪`] });
      }
      if (s.done) continue;
      out.push({ kind: "empathy", time: num(s.time) ?? num(empathy.emotion.time), title: `未做到「${text(s.step)}」`,
        said: text(s.said), better: text(s.expected), notes: list(s.notes).map(text) });
    }
  }
  for (const r of list(report.referrals)) {
    if (r.given || text(r.excused)) continue;  // excused: 模型提示未确认, 不适用, 已告知同类号码
    // what to say to the caller: the referral card's own wording (its reason is for the operator)
    out.push({ kind: "referral", time: num(r.time), title: `未告知来电人 ${text(r.number)} ${text(r.name)}`,
      said: "", better: text(r.script) || `您可以拨打 ${text(r.number)}(${text(r.name)})。` });
  }
  const greetings = report.greetings || {};
  for (const [key, name] of [["opening", "开头语"], ["closing", "结束语"]]) {
    const g = greetings[key];
    if (!g || g.used || g.judged === false) continue;  // the closing of a crisis call is not judged
    const missing = list(g.missing).map(text).filter(Boolean);
    out.push({ kind: "greeting", time: num(g.time), title: `${name}不完整${missing.length ? `(缺:${missing.join("、")})` : ""}`,
      said: text(g.said), better: text(g.expected) });
  }
  return out.sort((a, b) => IMPORTANCE[a.kind] - IMPORTANCE[b.kind] || (a.time ?? 1e9) - (b.time ?? 1e9));
}

/** What the operator did well, each {time, text}: one entry per line of the operator's, naming all it did
 * (情绪承接、责任表态:… once, not the same words twice). */
export function strengths(report) {
  const out = [];
  const greetings = report.greetings || {};
  if (greetings.opening && greetings.opening.used) out.push({ time: num(greetings.opening.time), label: "开头语规范", said: text(greetings.opening.said) });
  for (const s of list((report.empathy || {}).steps)) {
    if (s.done) out.push({ time: num(s.time), label: text(s.step), said: text(s.said) });
  }
  for (const q of list(report.safety)) {
    if (q.outcome === "asked") out.push({ time: num(q.asked_time), label: "安全确认", said: text(q.said) });
  }
  for (const r of list(report.referrals)) {
    // dated by the operator's words that said the number, not by the card
    if (r.given) out.push({ time: num(r.given_time) ?? num(r.time), label: `已告知 ${text(r.number)} ${text(r.name)}`, said: text(r.given_said) });
  }
  const crisis = report.crisis && typeof report.crisis === "object" ? report.crisis : null;
  for (const item of crisis ? list(crisis.items) : []) {
    if (item.done) out.push({ time: num(item.time), label: `危急处置 · ${text(item.item)}`, said: text(item.said) });
  }
  // optional items done (确认安全: a direct clarifying check): credited, never findings when missing
  for (const item of crisis ? list(crisis.credits) : []) {
    out.push({ time: num(item.time), label: `危急处置 · ${text(item.item)}`, said: text(item.said) });
  }
  if (greetings.closing && greetings.closing.used && greetings.closing.judged !== false) out.push({ time: num(greetings.closing.time), label: "结束语规范", said: text(greetings.closing.said) });
  const merged = [];
  for (const g of out) {
    const same = g.said && merged.find((m) => m.said === g.said && m.time === g.time);
    if (same) same.labels.push(g.label);
    else merged.push({ time: g.time, said: g.said, labels: [g.label] });
  }
  return merged.map((m) => ({ time: m.time, text: `${joinLabels(m.labels)}${m.said ? `:${m.said}` : ""}` }))
    .sort((a, b) => (a.time ?? 1e9) - (b.time ?? 1e9));
}

/** 危急处置 · 稳住来电人 + 危急处置 · 询问位置 → 危急处置 · 稳住来电人、询问位置. */
function joinLabels(labels) {
  let out = "";
  let prefix = null;
  for (const label of labels) {
    const at = label.indexOf(" · ");
    const head = at >= 0 ? label.slice(0, at) : null;
    if (out && head !== null && head === prefix) out += `、${label.slice(at + 3)}`;
    else out += `${out ? "、" : ""}${label}`;
    prefix = head;
  }
  return out;
}

/** What the report did not count against the operator, and why (模型提示未确认, a number 不适用…). */
function excusedNotes(report) {
  const out = [];
  const crisis = report.crisis && typeof report.crisis === "object" ? report.crisis : null;
  if (crisis && crisis.confirmed === false && text(crisis.note)) out.push(text(crisis.note));
  for (const r of list(report.referrals)) {
    if (!r.given && text(r.excused)) out.push(`${text(r.number)} ${text(r.name)}:${text(r.excused)}`);
  }
  return out;
}

function summaryLine(report) {
  const parts = [];
  const cat = report.category;
  if (cat && cat.intent) parts.push(`诉求分类 ${cat.intent}${cat.department ? ` · 承办 ${cat.department}` : ""}`);
  const emo = report.emotion;
  if (emo && emo.label) parts.push(`来电人情绪最高 ${emotionText(emo.label, emo.intensity)}${num(emo.time) !== null ? `(${fmtClock(emo.time)})` : ""}`);
  if (num(report.duration) !== null) parts.push(`时长 ${fmtClock(report.duration)}`);
  const u = report.utterances || {};
  if (num(u.agent) !== null || num(u.caller) !== null) parts.push(`坐席 ${u.agent || 0} 句 · 来电人 ${u.caller || 0} 句`);
  return parts.join(" · ");
}

function findingNode(f, onMoment) {
  return el("li", { className: `finding finding-${f.kind}`, testid: "finding", dataset: { kind: f.kind } },
    el("div", { className: "finding-head" },
      moment(f.time, onMoment),
      el("span", { className: `badge finding-kind kind-${f.kind}`, text: KIND_LABEL[f.kind] }),
      el("strong", { text: f.title })),
    f.heard ? el("p", { className: "finding-said" }, el("span", { className: "muted", text: "来电人:" }), `“${f.heard}”`) : null,
    f.said ? el("p", { className: "finding-said" }, el("span", { className: "muted", text: "原话:" }), `“${f.said}”`) : null,
    f.better ? el("p", { className: "finding-better", testid: "finding-better" }, el("span", { className: "muted", text: "建议说法:" }), f.better) : null,
    list(f.notes).length ? el("p", { className: "finding-note muted", text: f.notes.join(";") }) : null);
}

/** A whole report as a Chinese document; `onMoment(seconds)` shows that moment of the transcript. */
export function renderReport(report, { onMoment = () => {} } = {}) {
  if (!report || typeof report !== "object" || Array.isArray(report)) {
    return el("p", { className: "empty", testid: "report", text: "报告内容无法识别。" });
  }
  const found = findings(report);
  const good = strengths(report);
  const knowledge = list(report.knowledge);
  const notes = excusedNotes(report);
  return el("div", { className: "report", testid: "report" },
    el("p", { className: "report-summary", testid: "report-summary", text: summaryLine(report) }),
    el("section", { className: "report-section", testid: "report-section", dataset: { key: "findings" } },
      el("h4", { text: found.length ? `需要改进(${found.length} 处,按重要程度排列)` : "需要改进" }),
      found.length ? el("ol", { className: "findings" }, found.map((f) => findingNode(f, onMoment)))
        : el("p", { className: "muted", text: "没有发现问题。" })),
    good.length
      ? el("section", { className: "report-section", testid: "report-section", dataset: { key: "strengths" } },
        el("h4", { text: "做得好的" }),
        el("ul", { className: "strengths" }, good.map((g) => el("li", {}, moment(g.time, onMoment), " ", g.text))))
      : null,
    knowledge.length
      ? el("section", { className: "report-section", testid: "report-section", dataset: { key: "knowledge" } },
        el("h4", { text: "知识库提示" }),
        el("ul", { className: "strengths" }, knowledge.map((k) => el("li", {}, moment(num(k.time), onMoment), " ",
          text(k.question), num(k.score) !== null ? ` 匹配 ${fmtPercent(k.score)}` : "", k.withdrawn ? "(后被撤下)" : ""))))
      : null,
    notes.length
      ? el("section", { className: "report-section", testid: "report-section", dataset: { key: "notes" } },
        el("h4", { text: "不计入评价" }), el("ul", {}, notes.map((n) => el("li", { text: n }))))
      : null);
}
