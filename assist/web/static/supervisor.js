// Supervisor dashboard: every live call, the alert feed with acknowledgement, and a call panel
// that follows one call's transcript and prompts (filtered from the `all` stream).

import { AlertQueue } from "./alert-queue.js";
import { AssistSocket, getJson, pageParams, statusRenderer } from "./assist-ws.js";
import { CallView } from "./call-view.js";
import { el, setChildren, setTicking, startTicker } from "./dom.js";
import { MODE_LABEL, criticalTag, emotionLevel, emotionText } from "./labels.js";

const NAME_KEY = "assist.supervisor.name";
const ENDED_ROW_MS = 60000; // ended calls stay greyed in the table this long
const MAX_BUFFERED_LINES = 600; // per call, for opening the call panel later
const STAT_LABELS = { dropped: "丢弃事件", dropped_events: "丢弃事件", dropped_partials: "丢弃部分转写", subscribers: "订阅者", published: "已发布", calls: "通话" };

const $ = (sel) => document.querySelector(sel);
const tbody = $('[data-testid="calls-table"] tbody');
const callsEmpty = $('[data-testid="calls-empty"]');
const callsCount = $('[data-testid="calls-count"]');
const detailPanel = $('[data-testid="call-detail"]');
const nameInput = $('[data-testid="supervisor-name"]');
const statsEl = $('[data-testid="stats"]');
const notice = $('[data-testid="notice"]');

/** call_id → {state, row, cells, lines: Map, prompts: Map, endedAt} */
const calls = new Map();
// ended calls' crisis numbers and those told, from the store: callId → {numbers, told} | null | {retryAt}
const storedHandoffs = new Map();
const HANDOFF_RETRY_MS = 30000;
const detail = new CallView($(".detail-view"));
let selected = null;
let sock = null;
const queue = new AlertQueue(
  {
    feed: $('[data-testid="alert-feed"]'),
    pinned: $('[data-testid="critical-pinned"]'),
    empty: $('[data-testid="alerts-empty"]'),
    open: $('[data-testid="alerts-open"]'),
    shown: $('[data-testid="alerts-shown"]'),
    severity: $('[data-testid="filter-severity"]'),
    kind: $('[data-testid="filter-kind"]'),
    agent: $('[data-testid="filter-agent"]'),
    onlyOpen: $('[data-testid="only-open"]'),
    sound: $('[data-testid="alert-sound"]'),
    desktop: $('[data-testid="alert-desktop"]'),
  },
  {
    onSelectCall: (callId) => select(callId),
    sendAck: (message) => Boolean(sock && sock.send(message)),
    showNotice: (text) => showNotice(text),
    supervisorName: () => supervisorName(),
    isLive: (callId) => {
      const rec = calls.get(callId);
      return Boolean(rec) && rec.state.active !== false; // unknown: ended before this page opened
    },
    handoff: (callId) => {
      const rec = calls.get(callId);
      if (rec) return { numbers: rec.state.crisis_numbers || [], told: rec.state.told || [], owed: rec.state.owed };
      return storedHandoff(callId);
    },
    onCallCounts: (callId, counts) => {
      const rec = calls.get(callId);
      if (!rec) return;
      rec.alertCounts = counts;
      renderRow(rec);
    },
  },
);

// ------------------------------------------------------------------ supervisor name

function initName() {
  const fromUrl = pageParams().get("name");
  let stored = null;
  try {
    stored = window.localStorage.getItem(NAME_KEY);
  } catch {
    /* storage disabled */
  }
  nameInput.value = fromUrl || stored || "值班长";
  nameInput.addEventListener("change", () => {
    nameInput.value = nameInput.value.trim() || "值班长";
    try {
      window.localStorage.setItem(NAME_KEY, nameInput.value);
    } catch {
      /* storage disabled */
    }
  });
}

function supervisorName() {
  return nameInput.value.trim().slice(0, 64) || "值班长";
}

let noticeTimer = null;
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, 8000);
}

// ------------------------------------------------------------------ calls table

function callRecord(callId, agentId) {
  let rec = calls.get(callId);
  if (rec) return rec;
  const cells = {
    id: el("td", { className: "mono", testid: "call-id" }),
    agent: el("td", { testid: "call-agent" }),
    duration: el("td", { className: "mono", testid: "call-duration" }),
    category: el("td", { testid: "call-category" }),
    emotion: el("td", { testid: "call-emotion" }),
    warnings: el("td", { className: "num", testid: "call-warnings" }),
    alerts: el("td", { testid: "call-alerts" }),
    status: el("td", { testid: "call-status" }),
  };
  const row = el(
    "tr",
    {
      testid: "call-row",
      dataset: { callId },
      attrs: { tabindex: "0" },
      on: {
        click: () => select(callId),
        keydown: (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            select(callId);
          }
        },
      },
    },
    Object.values(cells),
  );
  rec = {
    state: { call_id: callId, agent_id: agentId, active: true, duration: 0, warnings: 0 },
    row,
    cells,
    lines: new Map(),
    prompts: new Map(),
    alertCounts: queue.countsFor(callId),
    endedAt: null,
    removeTimer: null,
    cardReason: "", // reason tag of the call's newest critical card
    reasonAsked: false,
  };
  calls.set(callId, rec);
  queue.callsChanged();
  return rec;
}

function renderRow(rec) {
  const s = rec.state;
  const c = rec.cells;
  c.id.textContent = s.call_id;
  c.id.title = s.call_id;
  c.agent.textContent = s.agent_id || "";
  if (typeof s.duration === "number") setTicking(c.duration, s.duration, s.active !== false);
  setChildren(
    c.category,
    s.intent ? el("span", { className: "badge badge-category", text: s.intent }) : el("span", { className: "muted", text: "未分类" }),
    s.department ? el("span", { className: "dept", text: s.department }) : null,
  );
  const emo = s.emotion || {};
  const level = emotionLevel(emo.label, emo.intensity);
  setChildren(
    c.emotion,
    emo.label
      ? el("span", { className: `emo emo-${level}`, testid: "emotion-chip", dataset: { level } },
        emotionText(emo.label, emo.intensity))
      : el("span", { className: "muted", text: "—" }),
  );
  c.warnings.textContent = String(s.warnings || 0);
  c.warnings.classList.toggle("has-warnings", (s.warnings || 0) > 0);
  const counts = rec.alertCounts;
  setChildren(
    c.alerts,
    counts.total
      ? [el("span", { className: counts.open ? "alert-open" : "muted", testid: "call-alerts-open", dataset: { open: counts.open },
        text: counts.open ? `${counts.open} 待确认` : "已全部确认" }),
      el("span", { className: "muted", text: ` / 共 ${counts.total}` })]
      : el("span", { className: "muted", text: "—" }),
  );
  const reason = s.critical ? crisisReason(rec) : "";
  setChildren(
    c.status,
    s.critical
      ? el("span", { className: "badge badge-critical", testid: "critical-marker", title: reason || "危机信号" },
        reason ? `危急 · ${reason}` : "危急")
      : null,
    s.mode === "training" ? el("span", { className: "badge badge-mode", text: MODE_LABEL.training }) : null,
    s.active === false ? el("span", { className: "muted", text: "已结束" }) : null,
  );
  rec.row.dataset.critical = String(Boolean(s.critical));
  rec.row.dataset.level = level;
  rec.row.classList.toggle("ended", s.active === false);
  rec.row.classList.toggle("selected", selected === s.call_id);
}

/**
 * The reason tag of a call's crisis (轻生/自伤, 火情/险情…): from its critical alert, else from its
 * newest critical card. Training replays send the supervisors no alerts (docs/security.md), so
 * their reason comes from the card; a page opened after the card appeared asks the store once.
 */
function crisisReason(rec) {
  if (rec.alertCounts.reason) return rec.alertCounts.reason;
  if (!rec.cardReason && !rec.reasonAsked) {
    rec.reasonAsked = true;
    storedCardReason(rec);
  }
  return rec.cardReason;
}

async function storedCardReason(rec) {
  let stored;
  try {
    stored = await getJson(`/api/calls/${encodeURIComponent(rec.state.call_id)}`);
  } catch {
    return; // not stored (yet): the live card, when it comes, gives the reason
  }
  for (const row of Array.isArray(stored.prompts) ? stored.prompts : []) {
    const p = row && (row.event || row);
    if (row.action !== "withdraw" && p && p.kind === "critical") rec.cardReason = criticalTag((p.data || {}).reason) || rec.cardReason;
  }
  if (rec.cardReason && calls.get(rec.state.call_id) === rec) renderRow(rec);
}

/**
 * A pinned call that ended before this page opened (or left the table): its crisis numbers and those the
 * operator told, as the store kept them from its last call state (null while asked, or when none is stored).
 * One light request per call (/api/calls?call=ID: [] when not stored); after a failure, again 30 s later. The
 * pins are drawn again when the answer comes. A row leaving the table leaves its own state here first.
 */
function storedHandoff(callId) {
  const known = storedHandoffs.get(callId);
  if (known && known.retryAt === undefined) return known;
  if (known === null || (known && Date.now() < known.retryAt)) return null;
  storedHandoffs.set(callId, null);
  getJson(`/api/calls?call=${encodeURIComponent(callId)}`)
    .then((page) => {
      const call = ((page && page.calls) || [])[0] || {};
      if (!Array.isArray(call.crisis_numbers) || !call.crisis_numbers.length) return;
      storedHandoffs.set(callId, { numbers: call.crisis_numbers, told: Array.isArray(call.told) ? call.told : [],
        owed: call.owed });
      queue.render();
    })
    .catch(() => storedHandoffs.set(callId, { retryAt: Date.now() + HANDOFF_RETRY_MS }));
  return null;
}

/** Order: critical first, then the angriest, then the oldest call. */
function sortRows() {
  const rank = { high: 0, medium: 1, low: 2, calm: 3 };
  const recs = [...calls.values()].sort((a, b) => {
    const ea = a.state.active === false ? 1 : 0;
    const eb = b.state.active === false ? 1 : 0;
    if (ea !== eb) return ea - eb;
    const ca = a.state.critical ? 0 : 1;
    const cb = b.state.critical ? 0 : 1;
    if (ca !== cb) return ca - cb;
    const la = rank[a.row.dataset.level] ?? 3;
    const lb = rank[b.row.dataset.level] ?? 3;
    if (la !== lb) return la - lb;
    return (a.state.started_at || 0) - (b.state.started_at || 0);
  });
  recs.forEach((rec, i) => {
    if (tbody.children[i] !== rec.row) tbody.insertBefore(rec.row, tbody.children[i] || null);
  });
  const live = recs.filter((r) => r.state.active !== false).length;
  callsCount.textContent = `(${live})`;
  callsEmpty.hidden = recs.length > 0;
}

let sortFrame = 0;
/** Reorder the table once per animation frame, however many call states arrived. */
function scheduleSort() {
  if (sortFrame) return;
  sortFrame = window.requestAnimationFrame(() => {
    sortFrame = 0;
    sortRows();
  });
}

function applyCallState(cs) {
  const rec = callRecord(cs.call_id, cs.agent_id);
  rec.state = { ...rec.state, ...cs };
  if (cs.active === false) markEnded(rec);
  renderRow(rec);
  scheduleSort();
}

function markEnded(rec, summary) {
  rec.state.active = false;
  queue.callsChanged();
  if (summary && typeof summary.duration === "number") rec.state.duration = summary.duration;
  if (rec.removeTimer) return;
  rec.endedAt = Date.now();
  rec.removeTimer = setTimeout(() => {
    rec.row.remove();
    const numbers = rec.state.crisis_numbers || [];
    if (numbers.length) storedHandoffs.set(rec.state.call_id, { numbers, told: rec.state.told || [], owed: rec.state.owed });
    calls.delete(rec.state.call_id);
    sortRows();
  }, ENDED_ROW_MS);
}

// ------------------------------------------------------------------ per-call buffers + detail panel

function buffer(ev) {
  const isNew = !calls.has(ev.call_id);
  const rec = callRecord(ev.call_id, ev.agent_id);
  if (isNew) {
    renderRow(rec);
    scheduleSort();
  }
  if (ev.type === "transcript") {
    const old = rec.lines.get(ev.utterance_id);
    if (!(old && old.final && !ev.final)) {
      rec.lines.delete(ev.utterance_id); // keep insertion order = recency for trimming
      rec.lines.set(ev.utterance_id, ev);
    }
    while (rec.lines.size > MAX_BUFFERED_LINES) rec.lines.delete(rec.lines.keys().next().value);
  } else if (ev.type === "prompt") {
    if (ev.action === "withdraw") rec.prompts.delete(ev.prompt_id);
    else rec.prompts.set(ev.prompt_id, ev);
    if (ev.kind === "critical" && ev.action !== "withdraw") {
      const tag = criticalTag((ev.data || {}).reason);
      if (tag && tag !== rec.cardReason) {
        rec.cardReason = tag;
        renderRow(rec);
      }
    }
  }
  return rec;
}

async function select(callId) {
  const rec = calls.get(callId);
  if (!rec) return selectStored(callId);
  selected = callId;
  for (const r of calls.values()) r.row.classList.toggle("selected", r.state.call_id === callId);
  detailPanel.hidden = false;
  document.body.dataset.detail = "open";
  detail.reset(callId, { agentId: rec.state.agent_id });
  detail.applyCallState(rec.state);
  const lines = [...rec.lines.values()].sort((a, b) => a.start - b.start);
  for (const t of lines) detail.applyTranscript(t);
  for (const p of rec.prompts.values()) detail.applyPrompt(p, { backfill: true });
  if (rec.state.active === false) detail.applyEnded({ summary: { duration: rec.state.duration } });
  try {
    const stored = await getJson(`/api/calls/${encodeURIComponent(callId)}`);
    if (selected === callId) detail.applyHistory(stored);
  } catch {
    /* not stored yet: the live buffer is all there is */
  }
}

/**
 * A call that has left the table (ended a while ago, or before the page opened): its detail from the store, as
 * the history page shows it (trial 6: 查看通话 on a pinned crisis of an ended call did nothing).
 */
async function selectStored(callId) {
  selected = callId;
  for (const r of calls.values()) r.row.classList.remove("selected");
  detailPanel.hidden = false;
  document.body.dataset.detail = "open";
  detail.reset(callId, { waitingText: "正在读取通话记录…", pending: true });
  try {
    const stored = await getJson(`/api/calls/${encodeURIComponent(callId)}`);
    if (selected === callId) detail.applyHistory(stored);
  } catch (err) {
    if (selected === callId) detail.showWaiting(`读取通话记录失败:${err && err.message ? err.message : err}`);
  }
}

function closeDetail() {
  selected = null;
  detailPanel.hidden = true;
  delete document.body.dataset.detail;
  for (const r of calls.values()) r.row.classList.remove("selected");
}

// ------------------------------------------------------------------ stats (drop counters)

function applyStats(ev) {
  const parts = [];
  for (const [key, value] of Object.entries(ev)) {
    if (key === "type" || typeof value !== "number") continue;
    parts.push(`${STAT_LABELS[key] || key} ${value}`);
  }
  statsEl.textContent = parts.join(" · ");
  statsEl.hidden = parts.length === 0;
  statsEl.classList.toggle("has-drops", Number(ev.dropped || ev.dropped_events || 0) > 0);
}

// ------------------------------------------------------------------ event dispatch

function onEvent(ev) {
  switch (ev.type) {
    case "subscribed": {
      const seen = new Set();
      for (const cs of ev.calls || []) {
        seen.add(cs.call_id);
        applyCallState(cs);
      }
      for (const rec of calls.values()) {
        if (!seen.has(rec.state.call_id) && rec.state.active !== false) {
          markEnded(rec); // ended while we were disconnected
          renderRow(rec);
        }
      }
      sortRows();
      for (const a of ev.alerts || []) queue.apply(a, { fresh: false });
      return;
    }
    case "call_state":
      applyCallState(ev);
      break;
    case "call_started":
      applyCallState({ ...ev, active: true, duration: Math.max(0, Date.now() / 1000 - ev.started_at) });
      break;
    case "call_ended":
    case "ended": {
      const rec = calls.get(ev.call_id);
      if (rec) {
        markEnded(rec, ev.summary);
        renderRow(rec);
        sortRows();
      }
      break;
    }
    case "transcript":
    case "prompt":
      if (typeof ev.call_id === "string") buffer(ev);
      break;
    case "alert":
      queue.apply(ev);
      return;
    case "alert_ack":
      queue.applyAck(ev);
      return;
    case "stats":
      applyStats(ev);
      return;
    case "error":
      showNotice(`服务器提示:${ev.message || ev.code}`);
      return;
    default:
      return; // unknown event types are ignored
  }
  if (selected !== null && ev.call_id === selected) detail.apply(ev);
}

function main() {
  initName();
  $('[data-testid="detail-close"]').addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && selected !== null) closeDetail();
  });
  sortRows();
  queue.render();
  startTicker(document);
  const render = statusRenderer($('[data-testid="connection-status"]'));
  sock = new AssistSocket({
    subscription: { all: true },
    onEvent,
    onStatus: (st) => {
      document.body.dataset.conn = st.state;
      render(st);
    },
  });
  sock.start();
}

main();
