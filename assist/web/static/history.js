// Call history: search stored calls, open one to read its transcript, alerts and training report.

import { getJson, pageParams } from "./assist-ws.js";
import { displayText, el, fmtClock, fmtDateTime, fmtTime, setChildren } from "./dom.js";
import { ALERT_KIND_LABEL, END_REASON_LABEL, MODE_LABEL, PROMPT_KIND_LABEL, ROLE_LABEL } from "./labels.js";
import { renderReport } from "./report-view.js";

const $ = (sel) => document.querySelector(sel);
const form = $('[data-testid="search-form"]');
const tbody = $('[data-testid="results"] tbody');
const status = $('[data-testid="results-status"]');
const detailPanel = $('[data-testid="call-detail"]');
const detailTitle = $('[data-testid="detail-title"]');
const detailBody = $('[data-testid="detail-body"]');
let openCall = null;
let searchSeq = 0;

/** "YYYY-MM-DD" (local date) → unix seconds at local midnight, or "" */
function dateToUnix(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  if (!m) return "";
  return String(Math.floor(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() / 1000));
}

/** Keep the search (and open call) in the address bar so it can be shared or reloaded. */
function rememberInUrl() {
  const url = new URL(window.location.href);
  for (const key of ["search", "agent", "since"]) {
    const v = form.elements[key].value.trim();
    if (v) url.searchParams.set(key, v);
    else url.searchParams.delete(key);
  }
  if (openCall) url.searchParams.set("call", openCall);
  else url.searchParams.delete("call");
  window.history.replaceState(null, "", url.pathname + url.search);
}

async function search() {
  const seq = ++searchSeq;
  const q = new URLSearchParams({
    search: form.elements.search.value.trim(),
    agent: form.elements.agent.value.trim(),
    since: dateToUnix(form.elements.since.value),
  });
  rememberInUrl();
  status.hidden = false;
  status.textContent = "正在查询…";
  let body;
  try {
    body = await getJson(`/api/calls?${q}`);
  } catch (exc) {
    if (seq !== searchSeq) return;
    tbody.replaceChildren();
    status.textContent = `查询失败:${exc.message}`;
    status.classList.add("error-text");
    return;
  }
  if (seq !== searchSeq) return;
  status.classList.remove("error-text");
  const rows = Array.isArray(body.calls) ? body.calls : [];
  setChildren(tbody, rows.map(resultRow));
  status.hidden = rows.length > 0;
  status.textContent = rows.length ? "" : "没有符合条件的通话。";
}

function resultRow(c) {
  // the call's audio duration as the store gives it (a replay at --speed max ends within a second of wall time)
  const duration = typeof c.duration === "number" ? fmtClock(c.duration) : "进行中";
  const row = el(
    "tr",
    {
      testid: "result-row",
      dataset: { callId: c.call_id },
      attrs: { tabindex: "0" },
      on: {
        click: () => openDetail(c.call_id),
        keydown: (e) => { if (e.key === "Enter") openDetail(c.call_id); },
      },
    },
    el("td", { className: "mono", text: fmtDateTime(c.started_at) }),
    el("td", { className: "mono call-id", text: c.call_id, title: c.call_id }),
    el("td", { text: c.agent_id || "" }),
    el("td", { className: "mono", text: duration }),
    el("td", { text: END_REASON_LABEL[c.end_reason] || c.end_reason || "—" }),
    el("td", { text: MODE_LABEL[c.mode] || c.mode || "" }),
    el("td", { className: "num", text: String(c.utterances ?? "") }),
    // a training replay alerts no supervisor: its alerts are what live assist would have raised, none pending
    c.mode === "training" && c.alerts
      ? el("td", { className: "num muted", testid: "history-training-alerts", attrs: { title: TRAINING_ALERTS },
        text: `(培训)${c.alerts}` })
      : el("td", { className: "num", text: String(c.alerts ?? "") }),
    el("td", { className: "first-text", title: displayText(c.first_text) },
      el("div", { className: "first-text-clip", text: displayText(c.first_text) })),
  );
  row.classList.toggle("selected", c.call_id === openCall);
  return row;
}

function transcriptLines(utterances) {
  if (!utterances.length) return el("p", { className: "empty", text: "没有转写。" });
  return el(
    "div",
    { className: "transcript", testid: "detail-utterances" },
    utterances.map((u) => {
      const role = ROLE_LABEL[u.role] ? u.role : "mixed";
      return el(
        "div",
        { className: `line role-${role}`, testid: "transcript-line", dataset: { role, start: Number(u.start) || 0 } },
        el("div", { className: "line-head" }, el("span", { className: "who", text: ROLE_LABEL[role] }),
          el("span", { className: "time", text: fmtClock(u.start) })),
        el("span", { className: "text", text: displayText(u.text) }),
      );
    }),
  );
}

/** Show the transcript line spoken at `seconds` (the last line that started by then). */
function showMoment(seconds) {
  const lines = [...detailBody.querySelectorAll('[data-testid="detail-utterances"] [data-testid="transcript-line"]')];
  let target = lines[0];
  for (const line of lines) if (Number(line.dataset.start) <= seconds + 0.3) target = line;
  if (!target) return;
  for (const line of lines) line.classList.remove("moment-shown");
  target.classList.add("moment-shown");
  target.dataset.momentShown = "true";
  target.scrollIntoView({ block: "center", behavior: "smooth" });
}

/** What a training call's alerts are: none reached a supervisor. */
const TRAINING_ALERTS = "培训通话,以下告警未发送给班长,只是实时通话中会提醒班长的情况,仅供培训参考";

function alertList(alerts, training, utterances) {
  if (!alerts.length) return el("p", { className: "empty", text: "没有告警。" });
  const list = alertItems(alerts, training, utterances);
  return training ? [el("p", { className: "muted", testid: "detail-alerts-training", text: TRAINING_ALERTS }), list] : list;
}

function alertItems(alerts, training, utterances) {
  // an alert is dated like its cards and the report: by the start of the words that raised it
  const starts = new Map(utterances.map((u) => [u.utterance_id, Number(u.start)]));
  const moment = (a) => (starts.has(a.utterance_id) && isFinite(starts.get(a.utterance_id)) ? starts.get(a.utterance_id) : a.audio_time);
  return el(
    "ol",
    { className: "alerts", testid: "detail-alerts" },
    alerts.map((a) =>
      el("li", { className: `alert sev-${a.severity || "info"}`, testid: "alert", dataset: { kind: a.kind, acknowledged: String(Boolean(a.acknowledged_by)) } },
        el("div", { className: "alert-head" },
          el("span", { className: `badge kind kind-${a.kind}`, text: ALERT_KIND_LABEL[a.kind] || a.kind }),
          el("span", { className: "alert-time", text: `通话 ${fmtClock(moment(a))} · ${fmtTime(a.created_at)}` })),
        el("p", { className: "alert-msg", text: a.message || "" }),
        // a continuing crisis is one alert: how many times the call raised it, and when last
        Number(a.count) > 1
          ? el("p", { className: "alert-again muted", testid: "history-alert-count",
            text: `同一危机共 ${a.count} 次${a.last_time != null ? `,最近 通话 ${fmtClock(a.last_time)}` : ""}` })
          : null,
        a.acknowledged_by && !training ? el("span", { className: "acked", text: `✓ 已确认 · ${a.acknowledged_by}` }) : null)),
  );
}

function promptSummary(prompts) {
  const counts = {};
  for (const p of prompts) if (p.action !== "withdraw") counts[p.kind] = (counts[p.kind] || 0) + 1;
  const entries = Object.entries(counts);
  if (!entries.length) return el("p", { className: "empty", text: "没有提示。" });
  return el("ul", { className: "chips", testid: "detail-prompts" },
    entries.map(([k, n]) => el("li", {}, `${PROMPT_KIND_LABEL[k] || k} × ${n}`)));
}

async function openDetail(callId) {
  openCall = callId;
  rememberInUrl();
  for (const row of tbody.children) row.classList.toggle("selected", row.dataset.callId === callId);
  detailPanel.hidden = false;
  detailTitle.textContent = `通话 ${callId}`;
  setChildren(detailBody, el("p", { className: "empty", text: "正在加载…" }));
  const id = encodeURIComponent(callId);
  const [detail, report] = await Promise.allSettled([getJson(`/api/calls/${id}`), getJson(`/api/calls/${id}/report`)]);
  if (openCall !== callId) return;
  if (detail.status === "rejected") {
    setChildren(detailBody, el("p", { className: "error-text", text: `加载失败:${detail.reason.message}` }));
    return;
  }
  const d = detail.value || {};
  const call = d.call || {};
  const summary = [
    ["坐席", call.agent_id],
    ["开始", fmtDateTime(call.started_at)],
    ["结束", call.ended_at ? fmtDateTime(call.ended_at) : "进行中"],
    ["结束原因", END_REASON_LABEL[call.end_reason] || call.end_reason],
    ["模式", MODE_LABEL[call.mode] || call.mode],
  ].filter(([, v]) => v);
  const reportNode = report.status === "fulfilled"
    ? renderReport(report.value, { onMoment: showMoment })
    : el("p", { className: "empty", testid: "report", text: report.reason.status === 404 ? "这通电话没有培训报告。" : `报告加载失败:${report.reason.message}` });
  setChildren(
    detailBody,
    el("dl", { className: "kv" }, summary.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("section", {}, el("h3", { text: "培训报告" }), reportNode),
    el("section", {}, el("h3", { text: call.mode === "training" ? "告警(培训:未发送给班长)" : "告警" }),
      alertList(Array.isArray(d.alerts) ? d.alerts : [], call.mode === "training",
        Array.isArray(d.utterances) ? d.utterances : [])),
    el("section", {}, el("h3", { text: "提示" }), promptSummary(Array.isArray(d.prompts) ? d.prompts : [])),
    el("section", {}, el("h3", { text: "转写" }), transcriptLines(Array.isArray(d.utterances) ? d.utterances : [])),
  );
}

function main() {
  const params = pageParams();
  for (const key of ["search", "agent", "since"]) form.elements[key].value = params.get(key) || "";
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  search();
  if (params.get("call")) openDetail(params.get("call"));
}

main();
