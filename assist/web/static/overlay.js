// Operator overlay: one call (/?call=ID) or one agent's current call (/?agent=ID).

import { AssistSocket, getJson, pageParams, statusRenderer, withTicket } from "./assist-ws.js";
import { CallView } from "./call-view.js";
import { el, setChildren, startTicker } from "./dom.js";

const NOTICE_MS = 8000;
const WAITING_TEXT = "等待通话开始";

const params = pageParams();
const callParam = params.get("call") || null;
const agentParam = params.get("agent") || null;
const root = document.getElementById("call");
const notice = document.querySelector('[data-testid="notice"]');
const status = document.querySelector('[data-testid="connection-status"]');

/** Without ?call= or ?agent=, ask for one. */
function showChooser() {
  const input = el("input", { attrs: { name: "agent", required: true, autocomplete: "off", placeholder: "例如 A01" }, testid: "agent-input" });
  const form = el(
    "form",
    { className: "chooser", on: { submit: (e) => {
      e.preventDefault();
      const url = new URL(withTicket("/"), window.location.origin);
      url.searchParams.set("agent", input.value.trim());
      window.location.assign(url.pathname + url.search);
    } } },
    el("h2", { text: "请选择要跟随的坐席" }),
    el("label", {}, "坐席工号", input),
    el("button", { className: "btn primary", attrs: { type: "submit" }, text: "打开" }),
    el("p", { className: "hint", text: "也可在地址中写 ?agent=坐席工号 或 ?call=通话编号。" }),
  );
  setChildren(root, form);
  status.hidden = true;
}

let noticeTimer = null;
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, NOTICE_MS);
}

function main() {
  if (!callParam && !agentParam) {
    showChooser();
    return;
  }
  // the overlay's narrow column (320–420 px; overlay.css's own 520 px breakpoint) shows its cards compact
  // from the first one: a card laid out in full and then shrunk when the next one comes moves under the
  // operator's eyes
  const view = new CallView(root, { compactBelow: 520 });
  let current = callParam;
  let currentEnded = false;
  // ?call=ID: not 通话中 until the call shows up live (or stored, when it is over already)
  let pending = Boolean(callParam);
  view.reset(current, { agentId: agentParam, waitingText: "等待来电…", pending });
  updateTitle();

  function updateTitle() {
    document.title = current ? `坐席助手 · ${current}` : "坐席助手 · 等待来电";
  }

  function switchTo(callId, agentId) {
    current = callId;
    currentEnded = false;
    view.reset(callId, { agentId: agentId || agentParam });
    updateTitle();
  }

  async function backfill(callId) {
    let detail;
    try {
      detail = await getJson(`/api/calls/${encodeURIComponent(callId)}`);
    } catch {
      return; // not stored (yet) or no history API: live events are enough
    }
    if (callId === current) view.applyHistory(detail);
  }

  /** Whether the store has `callId` (asked without a 404: the list filtered by id); null: unknown. */
  async function isStored(callId) {
    try {
      const body = await getJson(`/api/calls?call=${encodeURIComponent(callId)}`);
      return Array.isArray(body.calls) && body.calls.some((c) => c.call_id === callId);
    } catch {
      return null; // no history API here (no store, or not allowed)
    }
  }

  /** ?call=ID that is not live: the stored call if it is over, else wait for it to start. */
  async function findCall(callId) {
    const stored = await isStored(callId);
    if (callId !== current || !pending) return; // it started meanwhile
    if (stored) {
      pending = false;
      backfill(callId);
    } else {
      view.showWaiting(WAITING_TEXT);
    }
  }

  function onSubscribed(ev) {
    const calls = Array.isArray(ev.calls) ? ev.calls : [];
    let target = callParam;
    if (!target) {
      const mine = calls.find((c) => c.agent_id === agentParam && c.active !== false);
      target = ev.following || (mine ? mine.call_id : null);
    }
    if (target && target !== current) switchTo(target);
    const state = calls.find((c) => c.call_id === current);
    if (state) {
      pending = false;
      view.applyCallState(state);
      currentEnded = state.active === false;
    }
    if (current && pending) findCall(current);
    else if (current) backfill(current);
  }

  function onEvent(ev) {
    if (ev.type === "subscribed") {
      onSubscribed(ev);
      return;
    }
    if (ev.type === "error") {
      showNotice(`服务器提示:${ev.message || ev.code}`);
      return;
    }
    const cid = ev.call_id;
    if (typeof cid !== "string") return; // stats and other call-less events
    if (ev.type === "call_started" && agentParam && !callParam && ev.agent_id === agentParam && cid !== current) {
      switchTo(cid, ev.agent_id);
    } else if (cid !== current) {
      // following an agent: adopt a call we did not see start (e.g. missed while reconnecting)
      const live = ev.type === "transcript" || ev.type === "prompt" || (ev.type === "call_state" && ev.active !== false);
      if (!(agentParam && !callParam && live && (current === null || currentEnded))) return;
      switchTo(cid, ev.agent_id);
    }
    if (ev.type === "call_ended" || ev.type === "ended" || (ev.type === "call_state" && ev.active === false)) {
      currentEnded = true;
    }
    if (pending) {
      // the awaited call has started: its own events from the first one, nothing to fetch
      pending = false;
      if (ev.type === "transcript" || ev.type === "prompt") view.applyCallState({ call_id: cid, agent_id: ev.agent_id, active: true });
    }
    view.apply(ev);
  }

  const render = statusRenderer(status);
  const sock = new AssistSocket({
    subscription: callParam ? { call_id: callParam } : { agent_id: agentParam },
    onEvent,
    onStatus: (st) => {
      document.body.dataset.conn = st.state;
      render(st);
    },
  });
  startTicker(root);
  sock.start();
}

main();
