// Renders a training report (GET /api/calls/ID/report) of any shape as readable sections:
// known keys get Chinese labels and formats (audio times as m:ss, unix times as dates,
// scores as percentages, booleans as 是/否); lists of objects become tables.

import { el, fmtClock, fmtDateTime, fmtPercent } from "./dom.js";

export const REPORT_LABELS = {
  call_id: "通话", agent_id: "坐席", mode: "模式", category: "诉求分类", intent: "分类", department: "承办部门",
  greetings: "规范用语", greeting: "规范用语", opening: "开头语", closing: "结束语", used: "已使用", missing: "未使用",
  banned: "禁用语", banned_phrases: "禁用语", empathy: "共情三步", empathy_steps: "共情三步", steps: "步骤",
  referrals: "转介", knowledge: "知识库", score: "得分", total: "总分", time: "时间", audio_time: "时间",
  start: "开始", end: "结束", words: "原话", text: "内容", phrase: "原话", span: "原话", suggestion: "建议说法",
  rule: "规则", number: "号码", name: "名称", reason: "原因", question: "问题", answer: "答案", label: "类别",
  emotion: "情绪", emotions: "情绪", intensity: "强度", summary: "小结", utterances: "话语数", duration: "时长",
  count: "次数", given: "已告知", said: "已说出", id: "编号", source: "来源", updated: "更新", role: "角色",
  started_at: "开始时间", ended_at: "结束时间", created_at: "时间", suggestions: "改进建议", notes: "备注",
  critical: "危急", alerts: "告警", warnings: "提醒", step: "步骤", done: "已完成", expected: "应说",
};

/** Top-level keys shown first, in this order; the rest follow as they come. */
const ORDER = ["category", "intent", "department", "score", "total", "greetings", "banned", "banned_phrases",
  "empathy", "empathy_steps", "referrals", "knowledge"];

const ROLE = { agent: "坐席", caller: "来电人", mixed: "通话" };

export function label(key) {
  return REPORT_LABELS[key] || key;
}

/** One scalar value as text, formatted by what its key says it is. */
export function formatScalar(key, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "✓ 是" : "✗ 否";
  if (typeof value === "number") {
    if (/_at$/.test(key) && value > 1e8) return fmtDateTime(value);
    if (/(^|_)(time|start|end|duration)$/.test(key)) return fmtClock(value);
    if ((key === "score" || key === "intensity" || key === "conf") && value >= 0 && value <= 1) return fmtPercent(value);
    return String(Math.round(value * 1000) / 1000);
  }
  if (key === "role" && ROLE[value]) return ROLE[value];
  return String(value);
}

function scalarNode(key, value) {
  const text = formatScalar(key, value);
  const cls = typeof value === "boolean" ? (value ? "yes" : "no") : null;
  return el("span", { className: cls, text });
}

function isScalar(v) {
  return v === null || ["string", "number", "boolean"].includes(typeof v);
}

/** Any JSON value as a node. */
export function renderValue(key, value, depth = 0) {
  if (isScalar(value) || value === undefined) return scalarNode(key, value);
  if (Array.isArray(value)) {
    if (value.length === 0) return el("span", { className: "muted", text: "无" });
    if (value.every(isScalar)) return el("ul", { className: "chips" }, value.map((v) => el("li", {}, formatScalar(key, v))));
    if (value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
      const cols = [];
      for (const row of value) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
      return el(
        "table",
        { className: "report-table" },
        el("thead", {}, el("tr", {}, cols.map((c) => el("th", { text: label(c) })))),
        el("tbody", {}, value.map((row) => el("tr", {}, cols.map((c) => el("td", {}, renderValue(c, row[c], depth + 1)))))),
      );
    }
    return el("ol", {}, value.map((v) => el("li", {}, renderValue(key, v, depth + 1))));
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return el("span", { className: "muted", text: "无" });
  return el("dl", { className: "kv" }, entries.map(([k, v]) => [el("dt", { text: label(k) }), el("dd", {}, renderValue(k, v, depth + 1))]));
}

/** A whole report: one section per top-level key. */
export function renderReport(report) {
  if (!report || typeof report !== "object" || Array.isArray(report)) {
    return el("div", { className: "report", testid: "report" }, renderValue("report", report));
  }
  const keys = Object.keys(report);
  const ordered = [...ORDER.filter((k) => keys.includes(k)), ...keys.filter((k) => !ORDER.includes(k))];
  const scalars = ordered.filter((k) => isScalar(report[k]));
  const complex = ordered.filter((k) => !isScalar(report[k]));
  return el(
    "div",
    { className: "report", testid: "report" },
    scalars.length
      ? el("section", { className: "report-section", dataset: { key: "overview" } },
        el("h4", { text: "概要" }),
        el("dl", { className: "kv" }, scalars.map((k) => [el("dt", { text: label(k) }), el("dd", {}, scalarNode(k, report[k]))])))
      : null,
    complex.map((k) =>
      el("section", { className: "report-section", testid: "report-section", dataset: { key: k } },
        el("h4", { text: label(k) }), renderValue(k, report[k]))),
  );
}
