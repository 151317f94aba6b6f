// The crises pinned above the supervisor's alert queue: one row per call with unacknowledged
// critical alerts. The server sends a continuing crisis as ONE alert (re-sent with its count and
// last time updated, its acknowledgement kept), so an acknowledged crisis re-raised stays acknowledged
// and unpinned (a crisis the operator stood down on the caller's confirmed correction stays pinned, marked 危急已解除 ·
// 请复核, with the stood_down alert's words, until a supervisor acknowledges it); a new kind of danger or an escalation is a new alert, pinned again. A crisis raised again in the same call (the same or another reason) updates
// that call's row (newest reason and message, "共 n 次") instead of adding a row.
//
// Order (docs/client.md): calls still live first, then calls that have ended; within each, the
// newest crisis first (by when the call's row appeared: its oldest open critical alert), so a new
// crisis always lands on top of the live ones and a re-raise does not make rows jump. Every
// pinned alert is critical, so there is no severity order among them.
//
// 确认 acknowledges every open critical alert of the call at once; 确认并备注… opens a note
// field in the row (focused), and Enter or its 确认 sends the note with the acknowledgement.
// A row that moves (another call ended) keeps the focus and the caret of a half-typed note.

import { el, setTicking } from "./dom.js";
import { criticalTag, handoff } from "./labels.js";

/** The <datalist> of quick notes (alert-queue.js adds it to the page). */
export const QUICK_NOTES_ID = "ack-notes";

/**
 * Open critical alerts grouped by call, in pinned order.
 * records: [{alert, pending}]; isLive(callId) → bool; handoff(callId) → {numbers, told, owed} of the call's
 * crisis (call_state.crisis_numbers / told) or null when the page does not know the call.
 * Returns [{callId, recs (oldest first), since, latest, live, handoff}].
 */
export function pinGroups(records, isLive, handoff = () => null) {
  const byCall = new Map();
  const stood = new Map(); // call_id → its newest stood_down alert (the operator confirmed the caller's correction)
  for (const rec of records) {
    const a = rec.alert;
    if (a.kind === "stood_down" && (a.created_at || 0) >= ((stood.get(a.call_id) || {}).created_at || 0)) {
      stood.set(a.call_id, a);
    }
    if (a.severity !== "critical" || a.acknowledged_by) continue;
    if (!byCall.has(a.call_id)) byCall.set(a.call_id, []);
    byCall.get(a.call_id).push(rec);
  }
  const groups = [...byCall].map(([callId, recs]) => {
    recs.sort((x, y) => (x.alert.created_at || 0) - (y.alert.created_at || 0));
    const latest = recs[recs.length - 1].alert;
    const down = stood.get(callId);
    return {
      callId,
      recs,
      since: recs[0].alert.created_at || 0,
      latest,
      live: Boolean(isLive(callId)),
      handoff: handoff(callId),
      // stood down after the call's newest crisis raise: still pinned (a supervisor reviews it), marked 已解除
      stoodDown: down && (down.created_at || 0) >= (latest.last_at || latest.created_at || 0) ? down : null,
    };
  });
  // a crisis stood down (green, for review) after the active ones
  return groups.sort((a, b) => Number(Boolean(a.stoodDown)) - Number(Boolean(b.stoodDown)) || Number(b.live) - Number(a.live)
    || b.since - a.since || a.callId.localeCompare(b.callId));
}

/**
 * An ended crisis call: were its crisis numbers said to the caller (trial 6, M11: a transfer to 120 and a
 * caller at risk hung up on looked the same)? 已告知 120 (green) when every one was; any number not told is
 * named, 未告知 110 · 请回访, in red, so the calls to return stand out (a knife attack told 110 and never 120).
 */
function handoffText(node, group) {
  const h = group.handoff;
  const { told, untold } = handoff(h && h.numbers, h && h.told, h && h.owed);
  node.hidden = group.live || told.length + untold.length === 0;
  const parts = [];
  if (told.length) parts.push(`已告知 ${told.join("、")}`);
  if (untold.length) parts.push(`未告知 ${untold.join("、")} · 请回访`);
  node.textContent = node.hidden ? "" : parts.join(" · ");
  node.classList.toggle("pin-untold", !node.hidden && untold.length > 0);
  node.dataset.told = told.join(" ");
}

export class PinnedCrises {
  /**
   * list: the <ol> above the queue. onSelectCall(callId); acknowledge(recs, note) sends the acks.
   */
  constructor(list, { onSelectCall, acknowledge }) {
    this.list = list;
    this.onSelectCall = onSelectCall;
    this.acknowledge = acknowledge;
    /** call_id → {node, parts, group, noteOpen} */
    this.rows = new Map();
  }

  render(groups) {
    const want = new Set(groups.map((g) => g.callId));
    for (const [callId, row] of this.rows) {
      if (!want.has(callId)) {
        row.node.remove();
        this.rows.delete(callId);
      }
    }
    const focus = this._focus();
    groups.forEach((group, i) => {
      let row = this.rows.get(group.callId);
      if (!row) {
        row = this._build(group.callId);
        this.rows.set(group.callId, row);
      }
      row.group = group;
      this._update(row);
      if (this.list.children[i] !== row.node) this.list.insertBefore(row.node, this.list.children[i] || null);
    });
    this.list.hidden = groups.length === 0;
    focus();
  }

  /**
   * Moving a row (insertBefore) takes the focus off it: a supervisor typing a note in a pin when another
   * call ends, and that pin moves up, would type into nothing. Returns what gives the focus (and the
   * note's caret) back after the rows moved, if the focused row is still pinned.
   */
  _focus() {
    const active = document.activeElement;
    if (!active || !this.list.contains(active)) return () => {};
    const caret = active instanceof HTMLInputElement
      ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
    return () => {
      if (!active.isConnected || document.activeElement === active) return;
      active.focus({ preventScroll: true });
      if (caret && caret[0] !== null) active.setSelectionRange(caret[0], caret[1], caret[2] || "none");
    };
  }

  _build(callId) {
    const parts = {
      reason: el("strong", { className: "pin-reason", testid: "pinned-reason" }),
      agent: el("span", { className: "pin-agent", testid: "pinned-agent" }),
      // which call: two ended pins of one agent were told apart by nothing (new-user trial 8)
      callId: el("span", { className: "pin-call muted", testid: "pinned-call-id", text: callId }),
      state: el("span", { className: "pin-state", testid: "pinned-call-state" }),
      handoff: el("span", { className: "pin-handoff", testid: "pinned-handoff" }),
      count: el("span", { className: "pin-count", testid: "pinned-count" }),
      age: el("span", { className: "pin-age", testid: "pinned-age" }),
      waitLabel: el("span", { className: "pin-wait-label", text: "已等待 " }),
      msg: el("p", { className: "pin-msg", testid: "pinned-message" }),
      ack: el("button", { className: "btn primary", testid: "pinned-ack", attrs: { type: "button" }, text: "确认" }),
      noteOpen: el("button", { className: "btn", testid: "pinned-ack-note", attrs: { type: "button", "aria-expanded": "false" },
        text: "确认并备注…" }),
      note: el("input", { className: "ack-note-input", testid: "pinned-note",
        attrs: { type: "text", maxlength: "200", placeholder: "备注,回车确认", list: QUICK_NOTES_ID, "aria-label": "确认备注" } }),
      send: el("button", { className: "btn primary", testid: "pinned-note-send", attrs: { type: "button" }, text: "确认" }),
      cancel: el("button", { className: "btn", testid: "pinned-note-cancel", attrs: { type: "button" }, text: "取消" }),
    };
    parts.form = el("div", { className: "pin-note", testid: "pinned-note-form", hidden: true }, parts.note, parts.send, parts.cancel);
    const node = el("li", { className: "pin", testid: "pinned-critical", dataset: { callId } },
      el("div", { className: "pin-head" },
        el("span", { className: "badge kind kind-critical", text: "危急" }),
        parts.reason, parts.agent, parts.callId, parts.state, parts.handoff, parts.count,
        parts.wait = el("span", { className: "pin-wait muted", testid: "pinned-wait" }, parts.waitLabel, parts.age)),
      parts.msg,
      el("div", { className: "pin-actions" },
        el("button", { className: "btn", testid: "pinned-open", attrs: { type: "button" }, text: "查看通话",
          on: { click: () => this.onSelectCall(callId) } }),
        parts.noteOpen, parts.ack),
      parts.form);
    const row = { node, parts, group: null, noteOpen: false };
    const send = () => this.acknowledge(row.group.recs, parts.note.value.trim().slice(0, 200));
    parts.ack.addEventListener("click", () => this.acknowledge(row.group.recs, ""));
    parts.send.addEventListener("click", send);
    parts.noteOpen.addEventListener("click", () => this._openNote(row, true));
    parts.cancel.addEventListener("click", () => this._openNote(row, false));
    parts.note.addEventListener("keydown", (e) => {
      e.stopPropagation(); // typing a note is not queue navigation
      if (e.key === "Enter") {
        e.preventDefault();
        send();
      } else if (e.key === "Escape") {
        this._openNote(row, false);
      }
    });
    return row;
  }

  _update(row) {
    const { parts, group } = row;
    const a = group.latest;
    // a continuing crisis is one alert whose count the server updates (assist/live/alerts.py)
    const n = group.recs.reduce((sum, r) => sum + (Number(r.alert.count) || 1), 0);
    const waiting = group.recs.some((r) => r.pending !== null);
    row.node.dataset.alertId = a.alert_id; // the newest alert of the call
    row.node.dataset.alertIds = group.recs.map((r) => r.alert.alert_id).join(" ");
    row.node.dataset.live = String(group.live);
    row.node.dataset.count = String(n);
    parts.reason.textContent = criticalTag(a.message) || "危机信号";
    parts.agent.textContent = a.agent_id ? `坐席 ${a.agent_id}` : "";
    parts.state.textContent = group.live ? "" : "通话已结束";
    parts.state.hidden = group.live;
    handoffText(parts.handoff, group);
    parts.count.textContent = n > 1 ? `共 ${n} 次` : "";
    parts.count.hidden = n < 2;
    parts.count.title = n > 1 ? "同一通话再次出现危机信号,已合并为一行" : "";
    // a live call's crisis counts its wait; when the call ends, its wait stops where it was (trial 4:
    // ended calls' pins kept growing to 4:41 and pushed live crises down). A pin first seen ended (the
    // call ended before this page opened) has no wait to show: when it ended is not known here.
    const waited = () => Math.max(0, Date.now() / 1000 - (group.since || Date.now() / 1000));
    if (group.live) {
      if (row.since !== group.since || row.stopped) setTicking(parts.age, waited(), true);
      row.since = group.since;
      row.stopped = false;
      row.seenLive = true;
      parts.waitLabel.textContent = "已等待 ";
      parts.wait.hidden = false;
    } else if (!row.stopped) {
      row.stopped = true;
      if (row.seenLive) setTicking(parts.age, waited(), false);
      parts.waitLabel.textContent = "等待 "; // "通话已结束 等待 3:00": stopped when it ended
      parts.wait.hidden = !row.seenLive;
    }
    parts.msg.textContent = group.stoodDown ? group.stoodDown.message : a.message || "";
    row.node.classList.toggle("pin-stood", Boolean(group.stoodDown));
    if (group.stoodDown) {
      parts.state.textContent = group.live ? "危急已解除 · 请复核" : "通话已结束 · 危急已解除 · 请复核";
      parts.state.hidden = false;
      parts.handoff.hidden = true; // nothing is owed once the crisis stood down
    }
    for (const b of [parts.ack, parts.noteOpen, parts.send]) b.disabled = waiting;
    parts.ack.textContent = waiting ? "确认中…" : "确认";
    parts.ack.title = n > 1 ? `确认这通电话的 ${n} 条危急告警` : "";
  }

  _openNote(row, open) {
    row.noteOpen = open;
    row.parts.form.hidden = !open;
    row.parts.noteOpen.setAttribute("aria-expanded", String(open));
    if (open) {
      row.parts.note.focus();
      row.node.scrollIntoView({ block: "nearest" });
    } else {
      row.parts.noteOpen.focus();
    }
  }
}
