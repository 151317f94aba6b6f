// The supervisor's alert queue: open alerts before handled ones, by severity, then by how long
// they have waited (oldest first); open critical alerts pinned above the queue, one row per call
// (alert-pins.js); filters by severity, kind, agent and open state; acknowledgement with a short
// note; an optional sound and desktop notification for new critical alerts; keyboard navigation.
//
// Rendering is batched: events only mark records dirty, and one animation frame rebuilds the
// changed rows and reorders the list, so a burst of alerts from many calls costs one layout.

import { PinnedCrises, QUICK_NOTES_ID, pinGroups } from "./alert-pins.js";
import { el, fmtTime, setChildren } from "./dom.js";
import { ALERT_KIND_LABEL, SEVERITY_LABEL, criticalTag } from "./labels.js";

export const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const MAX_ALERTS = 1000; // handled alerts are forgotten first beyond this
const ACK_TIMEOUT_MS = 6000;
const PREFS_KEY = "assist.supervisor.alertPrefs";
export const QUICK_NOTES = ["已提醒坐席", "已介入通话", "已协助转接", "已通知相关部门", "误报"];

function loadPrefs() {
  try {
    return JSON.parse(window.localStorage.getItem(PREFS_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function savePrefs(prefs) {
  try {
    window.localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    /* storage disabled */
  }
}

/** Queue order: open first; then severity; open alerts oldest first, handled ones latest handled first. */
export function compareAlerts(a, b) {
  const oa = a.acknowledged_by ? 1 : 0;
  const ob = b.acknowledged_by ? 1 : 0;
  if (oa !== ob) return oa - ob;
  const sa = SEVERITY_RANK[a.severity] ?? 3;
  const sb = SEVERITY_RANK[b.severity] ?? 3;
  if (sa !== sb) return sa - sb;
  if (oa) return (b.acknowledged_at || 0) - (a.acknowledged_at || 0);
  return (a.created_at || 0) - (b.created_at || 0) || String(a.alert_id).localeCompare(String(b.alert_id));
}

export class AlertQueue {
  /**
   * els: feed, pinned, empty, open, shown, severity, kind, agent, onlyOpen, sound, desktop (elements)
   * onSelectCall(callId), sendAck(message) → bool, showNotice(text), supervisorName() → string,
   * onCallCounts(callId, {open, total, critical, reason}) after each render for the calls that changed,
   * isLive(callId) → bool: the call is still going on (its pinned crisis goes above ended calls');
   * handoff(callId) → {numbers, told} | null: the call's crisis numbers and those the operator said.
   */
  constructor(els, { onSelectCall, sendAck, showNotice, supervisorName, onCallCounts, isLive = () => true,
    handoff = () => null }) {
    this.els = els;
    this.isLive = isLive;
    this.handoff = handoff;
    this.pins = new PinnedCrises(els.pinned, {
      onSelectCall: (callId) => onSelectCall(callId),
      acknowledge: (recs, note) => this.acknowledgeAll(recs, note),
    });
    this.onSelectCall = onSelectCall;
    this.sendAck = sendAck;
    this.showNotice = showNotice;
    this.supervisorName = supervisorName;
    this.onCallCounts = onCallCounts;
    /** alert_id → {alert, node, pending, dirty} */
    this.records = new Map();
    this.dirtyCalls = new Set();
    this.frame = 0;
    this.ordered = [];
    this.focusId = null;
    this.agents = new Set();
    this.prefs = { sound: false, desktop: false, ...loadPrefs() };
    this.audio = null;
    this._wire();
  }

  // ---------------------------------------------------------------- input

  /** A new or changed alert. `fresh` is false for the subscription snapshot (no sound for old alerts). */
  apply(a, { fresh = true } = {}) {
    let rec = this.records.get(a.alert_id);
    const isNew = !rec;
    if (!rec) {
      rec = { alert: a, node: null, pending: null, dirty: true };
      this.records.set(a.alert_id, rec);
    } else {
      const prev = rec.alert;
      rec.alert = { ...prev, ...a };
      if (prev.acknowledged_by) {  // the first acknowledgement wins: a later copy of the alert never undoes it
        rec.alert.acknowledged_by = prev.acknowledged_by;
        rec.alert.acknowledged_at = prev.acknowledged_at;
        rec.alert.ack_note = prev.ack_note || a.ack_note || "";
      }
      rec.dirty = true;
    }
    if (a.agent_id && !this.agents.has(a.agent_id)) {
      this.agents.add(a.agent_id);
      this._agentsChanged = true;
    }
    this.dirtyCalls.add(a.call_id);
    if (isNew && fresh && a.severity === "critical" && !a.acknowledged_by) this._announce(a);
    this._trim();
    this.schedule();
  }

  /** The server's `alert_ack`: the first acknowledgement, with its note. */
  applyAck(ev) {
    const rec = this.records.get(ev.alert_id);
    if (!rec) return;
    clearTimeout(rec.pending);
    rec.pending = null;
    rec.alert = { ...rec.alert, acknowledged_by: ev.by, acknowledged_at: ev.at, ack_note: ev.note || "" };
    rec.dirty = true;
    this.dirtyCalls.add(rec.alert.call_id);
    this.schedule();
  }

  /** A call started or ended: its pinned crisis may move between the live and the ended ones. */
  callsChanged() {
    this.schedule();
  }

  /** Counts of one call's alerts (for the calls table). */
  countsFor(callId) {
    let open = 0;
    let total = 0;
    let reason = "";
    let newest = -Infinity;
    for (const { alert } of this.records.values()) {
      if (alert.call_id !== callId) continue;
      total += 1;
      if (!alert.acknowledged_by) open += 1;
      // the call's newest crisis (trial 5, b: 其他危险 → 人身安全 → 急症/受伤 kept "危急 · 其他危险" on the row)
      const tag = alert.severity === "critical" ? criticalTag(alert.message) : "";
      if (tag && Number(alert.audio_time) >= newest) {
        newest = Number(alert.audio_time);
        reason = tag;
      }
    }
    return { open, total, reason };
  }

  get openCount() {
    let n = 0;
    for (const { alert } of this.records.values()) if (!alert.acknowledged_by) n += 1;
    return n;
  }

  // ---------------------------------------------------------------- rendering (batched)

  schedule() {
    if (this.frame) return;
    this.frame = window.requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    performance.mark("alert-queue:render:start");
    this._render();
    performance.measure("alert-queue:render", "alert-queue:render:start"); // user timing, for the scale test
  }

  _render() {
    for (const rec of this.records.values()) {
      if (!rec.dirty) continue;
      rec.dirty = false;
      const node = this._row(rec);
      const hadFocus = rec.node !== null && rec.node.contains(document.activeElement);
      // a note being typed survives the row being redrawn (a later copy of the alert, the waiting time)
      const typing = rec.node && rec.node.querySelector('[data-testid="alert-note"]');
      const kept = node.querySelector('[data-testid="alert-note"]');
      if (typing && kept) kept.value = typing.value;
      const inNote = typing !== null && typing !== undefined && typing === document.activeElement;
      if (rec.node) rec.node.replaceWith(node);
      rec.node = node;
      if (inNote && kept) kept.focus({ preventScroll: true });
      else if (hadFocus) node.focus({ preventScroll: true }); // keyboard users stay where they were
    }
    if (this._agentsChanged) this._renderAgents();
    this.ordered = [...this.records.values()].sort((x, y) => compareAlerts(x.alert, y.alert));
    const feed = this.els.feed;
    let shown = 0;
    this.ordered.forEach((rec, i) => {
      const want = this._matches(rec.alert);
      if (rec.node.hidden === want) rec.node.hidden = !want;
      if (want) shown += 1;
      if (feed.children[i] !== rec.node) feed.insertBefore(rec.node, feed.children[i] || null);
    });
    this._renderPinned();
    const open = this.openCount;
    this.els.open.textContent = `(${open} 未确认)`;
    this.els.open.dataset.open = String(open);
    this.els.shown.textContent = shown === this.records.size ? "" : `筛选后显示 ${shown} / ${this.records.size} 条`;
    this.els.shown.dataset.shown = String(shown);
    this.els.empty.hidden = this.records.size > 0;
    document.title = open ? `(${open}) 值班长监控台` : "值班长监控台";
    for (const callId of this.dirtyCalls) this.onCallCounts(callId, this.countsFor(callId));
    this.dirtyCalls.clear();
    this._restoreFocus();
  }

  _matches(a) {
    const { severity, kind, agent, onlyOpen } = this.els;
    if (onlyOpen.checked && a.acknowledged_by) return false;
    if (severity.value && a.severity !== severity.value) return false;
    if (kind.value && a.kind !== kind.value) return false;
    if (agent.value && a.agent_id !== agent.value) return false;
    return true;
  }

  _row(rec) {
    const a = rec.alert;
    const acked = Boolean(a.acknowledged_by);
    const tag = a.severity === "critical" ? criticalTag(a.message) : "";
    return el(
      "li",
      {
        className: `alert sev-${a.severity || "info"}`,
        testid: "alert",
        dataset: { alertId: a.alert_id, kind: a.kind, severity: a.severity, acknowledged: String(acked), callId: a.call_id },
        attrs: { tabindex: "-1" },
      },
      el("div", { className: "alert-head" },
        el("span", { className: `badge kind kind-${a.kind}`, text: ALERT_KIND_LABEL[a.kind] || SEVERITY_LABEL[a.severity] || a.kind }),
        tag ? el("span", { className: "reason-tag", testid: "alert-reason", text: tag }) : null,
        el("span", { className: "alert-time", text: fmtTime(a.created_at) }),
        this._callLink(a)),
      el("p", { className: "alert-msg", testid: "alert-message", text: a.message || "" }),
      // a continuing crisis re-raised: one alert, its count and when it was last raised (acknowledged or not)
      Number(a.count) > 1
        ? el("p", { className: "alert-again muted", testid: "alert-count", dataset: { count: String(a.count) },
          text: `同一危机共 ${a.count} 次${a.last_at ? ` · 最近 ${fmtTime(a.last_at)}` : ""}` })
        : null,
      el("div", { className: "alert-foot" }, acked ? this._ackInfo(a) : this._ackForm(rec)),
    );
  }

  _callLink(a) {
    return el("button", {
      className: "linkish",
      attrs: { type: "button", title: "查看这通电话", tabindex: "-1" },
      text: `${a.call_id}${a.agent_id ? ` · 坐席 ${a.agent_id}` : ""}`,
      on: { click: () => this.onSelectCall(a.call_id) },
    });
  }

  _ackInfo(a) {
    return el("span", { className: "acked", testid: "alert-ack-info" },
      `✓ 已确认 · ${a.acknowledged_by}${a.acknowledged_at ? ` · ${fmtTime(a.acknowledged_at)}` : ""}`,
      a.ack_note ? el("span", { className: "ack-note", testid: "alert-ack-note", text: ` · 备注:${a.ack_note}` }) : null);
  }

  _ackForm(rec) {
    const waiting = rec.pending !== null;
    const note = el("input", {
      className: "ack-note-input",
      testid: "alert-note",
      attrs: { type: "text", maxlength: "200", placeholder: "备注(可选)", list: QUICK_NOTES_ID, "aria-label": "确认备注", tabindex: "-1" },
      on: {
        keydown: (e) => {
          e.stopPropagation(); // typing a note is not navigation
          if (e.key === "Enter") {
            e.preventDefault();
            this.acknowledge(rec);
          } else if (e.key === "Escape") {
            rec.node.focus();
          }
        },
      },
    });
    return [
      note,
      el("button", {
        className: "btn primary",
        testid: "alert-ack",
        attrs: { type: "button", disabled: waiting, tabindex: "-1" },
        text: waiting ? "确认中…" : "确认",
        on: { click: () => this.acknowledge(rec) },
      }),
    ];
  }

  _renderPinned() {
    this.pins.render(pinGroups(this.ordered, this.isLive, this.handoff));
  }

  _renderAgents() {
    this._agentsChanged = false;
    const select = this.els.agent;
    const current = select.value;
    setChildren(select, el("option", { attrs: { value: "" }, text: "全部坐席" }),
      [...this.agents].sort().map((id) => el("option", { attrs: { value: id }, text: id })));
    select.value = current;
  }

  // ---------------------------------------------------------------- acknowledgement

  /** Acknowledge one alert with `note`; without one, with what its row's note field holds. */
  acknowledge(rec, note = null) {
    if (rec.alert.acknowledged_by || rec.pending !== null) return false;
    if (note === null) {
      const input = rec.node && rec.node.querySelector('[data-testid="alert-note"]');
      note = input ? input.value.trim().slice(0, 200) : "";
    }
    const message = { type: "ack", alert_id: rec.alert.alert_id, by: this.supervisorName() };
    if (note) message.note = note;
    if (!this.sendAck(message)) {
      this.showNotice("未连接服务器,暂时无法确认告警。");
      return false;
    }
    rec.pending = setTimeout(() => {
      rec.pending = null;
      rec.dirty = true;
      this.schedule();
      this.showNotice("确认没有得到服务器回应,请重试。");
    }, ACK_TIMEOUT_MS);
    rec.dirty = true;
    this.schedule();
    return true;
  }

  /** A pinned call's crisis: every open critical alert of the call, each with the same note. */
  acknowledgeAll(recs, note) {
    const open = recs.filter((r) => !r.alert.acknowledged_by && r.pending === null);
    for (const rec of open) if (!this.acknowledge(rec, note)) break; // not connected: said once
  }

  _trim() {
    if (this.records.size <= MAX_ALERTS) return;
    const handled = [...this.records.values()].filter((r) => r.alert.acknowledged_by)
      .sort((x, y) => (x.alert.acknowledged_at || 0) - (y.alert.acknowledged_at || 0));
    for (const rec of handled) {
      if (this.records.size <= MAX_ALERTS) break;
      this.records.delete(rec.alert.alert_id);
      if (rec.node) rec.node.remove();
    }
  }

  // ---------------------------------------------------------------- keyboard

  _visible() {
    return this.ordered.filter((r) => r.node && !r.node.hidden);
  }

  /** Roving tabindex: the focused alert (or the first shown one) is the queue's one tab stop. */
  _restoreFocus() {
    const rec = (this.focusId && this.records.get(this.focusId)) || this._visible()[0];
    for (const r of this.records.values()) {
      const want = r === rec ? 0 : -1;
      if (r.node && r.node.tabIndex !== want) r.node.tabIndex = want;
    }
  }

  _move(step) {
    const list = this._visible();
    if (!list.length) return;
    let i = list.findIndex((r) => r.alert.alert_id === this.focusId);
    i = i < 0 ? 0 : Math.max(0, Math.min(list.length - 1, i + step));
    this._focus(list[i]);
  }

  _focus(rec) {
    this.focusId = rec.alert.alert_id;
    this._restoreFocus();
    rec.node.focus();
    rec.node.scrollIntoView({ block: "nearest" });
  }

  _onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const rec = this.focusId && this.records.get(this.focusId);
    switch (e.key) {
      case "ArrowDown":
      case "j":
        this._move(1);
        break;
      case "ArrowUp":
      case "k":
        this._move(-1);
        break;
      case "Home":
        this._move(-Infinity);
        break;
      case "End":
        this._move(Infinity);
        break;
      case "Enter":
        if (rec) this.onSelectCall(rec.alert.call_id);
        break;
      case "a":
        if (rec) this.acknowledge(rec);
        break;
      case "n":
        if (rec && !rec.alert.acknowledged_by) rec.node.querySelector('[data-testid="alert-note"]').focus();
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  // ---------------------------------------------------------------- sound and desktop notification

  _announce(a) {
    if (this.prefs.sound) this._beep();
    if (this.prefs.desktop && "Notification" in window && Notification.permission === "granted") {
      const n = new Notification(`危急告警 · 坐席 ${a.agent_id || "?"}`, {
        body: `${criticalTag(a.message) || "危机信号"}:${a.message || ""}`,
        tag: a.alert_id,
        requireInteraction: true,
      });
      n.onclick = () => {
        window.focus();
        this.onSelectCall(a.call_id);
      };
    }
  }

  _beep() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      this.audio = this.audio || new Ctx();
      const t = this.audio.currentTime;
      const gain = this.audio.createGain();
      gain.gain.value = 0.2;
      gain.connect(this.audio.destination);
      for (const [i, freq] of [[0, 880], [1, 660]]) {
        const osc = this.audio.createOscillator();
        osc.frequency.value = freq;
        osc.connect(gain);
        osc.start(t + i * 0.22);
        osc.stop(t + i * 0.22 + 0.18);
      }
    } catch {
      /* audio unavailable: the pinned card and title still show the alert */
    }
  }

  // ---------------------------------------------------------------- wiring

  _wire() {
    const { severity, kind, onlyOpen, agent, sound, desktop, feed } = this.els;
    for (const control of [severity, kind, onlyOpen, agent]) control.addEventListener("change", () => this.render());
    sound.checked = Boolean(this.prefs.sound);
    desktop.checked = Boolean(this.prefs.desktop) && "Notification" in window && Notification.permission === "granted";
    sound.addEventListener("change", () => {
      this.prefs.sound = sound.checked;
      savePrefs(this.prefs);
      if (sound.checked) this._beep(); // a user gesture unlocks audio, and the supervisor hears the sound once
    });
    desktop.addEventListener("change", async () => {
      if (desktop.checked && "Notification" in window && Notification.permission !== "granted") {
        const answer = await Notification.requestPermission();
        if (answer !== "granted") {
          desktop.checked = false;
          this.showNotice("浏览器未允许桌面通知。");
        }
      }
      this.prefs.desktop = desktop.checked;
      savePrefs(this.prefs);
    });
    feed.addEventListener("keydown", (e) => this._onKey(e));
    feed.addEventListener("focusin", (e) => {
      const li = e.target.closest('[data-testid="alert"]');
      if (li) this.focusId = li.dataset.alertId;
    });
    const list = el("datalist", { attrs: { id: QUICK_NOTES_ID } }, QUICK_NOTES.map((n) => el("option", { attrs: { value: n } })));
    document.body.append(list);
  }
}
