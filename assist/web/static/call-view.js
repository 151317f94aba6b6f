// Renders one call: header, critical banner, banned-phrase warning, category, emotion meter,
// prompt cards and the live transcript. Used by the operator overlay and by the supervisor's
// call panel. The page decides which events belong to the call and passes them to apply().

import { displayText, el, fmtClock, fmtPercent, nearBottom, setChildren, setTicking } from "./dom.js";
import { CRISIS_STEPS, EMPATHY_STEPS, END_REASON_LABEL, MODE_LABEL, NEGATIVE_EMOTIONS, ROLE_LABEL, emotionLevel, handoff } from "./labels.js";
import { empathyBody, knowledgeBody, setEmpathyStep } from "./card-views.js";

/** Newest cards kept per kind (older ones drop off). */
export const CARD_LIMITS = { referral: 3, knowledge: 3, empathy: 2 };
/** How long the banned-phrase warning stays at the top before moving to the list (ms). */
export const FLASH_MS = 8000;
/** The least time a warning stays before the next one takes its place; later ones wait their turn (ms). */
export const FLASH_MIN_MS = 4000;
const MAX_LINES = 2000;

const str = (v) => (v === undefined || v === null ? "" : String(v));

// Each prompt kind has one payload shape (docs/protocol.md, assist/protocol/payloads.py):
//   emotion {label, intensity}        category {intent, department}
//   referral {number, name, reason, script}
//   knowledge {id, question, answer, score, source, updated}
//   empathy {label, steps}            banned {rule, said, suggestion}
//   critical {reason, referrals, first_aid, correction}

/** Empathy prompt data → [{name, text}]: `steps` are the three steps in order. */
export function empathySteps(data) {
  return data.steps.map((text, i) => ({ name: EMPATHY_STEPS[i] || `第${i + 1}步`, text: str(text) }));
}

/** The words a banned prompt caught. */
function bannedPhrase(p) {
  return str(p.data.said);
}

function cardKey(p) {
  if (p.kind === "referral") return `referral:${p.data.number}`;
  if (p.kind === "knowledge") return `knowledge:${p.data.id}`;
  return `${p.kind}:${p.prompt_id}`;
}

/** Does a compact card hide anything: a clamped or cut text, other steps, a source line, the rest of an answer? */
function cardHidesSomething(node) {
  if (node.querySelector(".steps li.step-other, .card-meta, .kb-snippet:not([hidden]) .more")) return true;
  const texts = node.querySelectorAll(".card-note, .ref-name, .script, .kb-question, .kb-snippet, .step-now .step-text");
  return [...texts].some((t) => t.scrollHeight > t.clientHeight + 1 || t.scrollWidth > t.clientWidth + 1);
}

export class CallView {
  /**
   * @param {HTMLElement} root  container to render into (emptied)
   * @param {{flashMs?: number, flashMinMs?: number, compactBelow?: number}} options  flashMs: how long
   *   the banned-phrase warning stays on top; flashMinMs: how long at least before the next warning
   *   replaces it; compactBelow: a card slot narrower than this (px) shows its cards compact from the
   *   first one (the overlay), a wider one only once they do not fit
   */
  constructor(root, { flashMs = FLASH_MS, flashMinMs = FLASH_MIN_MS, compactBelow = 0 } = {}) {
    this.flashMs = flashMs;
    this.compactBelow = compactBelow;
    this.flashMinMs = Math.min(flashMinMs, flashMs);
    this.flashQueue = []; // banned prompts waiting for the one shown to have had its time
    this.root = root;
    this._build();
    this.reset(null);
  }

  _build() {
    this.callIdEl = el("span", { className: "call-id", testid: "call-id" });
    this.agent = el("span", { className: "call-agent", testid: "call-agent" });
    this.mode = el("span", { className: "badge badge-mode", testid: "call-mode", hidden: true, text: MODE_LABEL.training });
    this.state = el("span", { className: "call-state", testid: "call-state" });
    this.duration = el("span", { className: "call-duration", testid: "call-duration" });
    this.callbar = el(
      "section",
      { className: "callbar", testid: "call-info" },
      el("div", { className: "callbar-main" }, this.callIdEl, this.mode, this.agent),
      el("div", { className: "callbar-side" }, this.state, this.duration),
    );
    this.criticalZone = el("div", { className: "critical-zone", attrs: { role: "alert" } });
    // An ended crisis call: what the operator still owes the caller (trial 7: after a crisis caller hung up the
    // overlay offered no call-back step, and lost the call on reload). It lies just below the card slot, over the
    // top of the ended call's transcript, so nothing on the page moves when the call ends.
    this.followUp = el("p", { className: "crisis-followup", testid: "crisis-followup", hidden: true, attrs: { role: "alert" } });
    this.flash = el("div", {
      className: "flash",
      testid: "banned-warning",
      hidden: true,
      attrs: { role: "alert", "aria-live": "assertive" },
    });
    this.category = el("span", { className: "badge badge-category", testid: "category-badge" });
    this.department = el("span", { className: "department", testid: "department" });
    this.meterLabel = el("span", { className: "meter-label", testid: "emotion-label" });
    this.meterFill = el("span", { className: "meter-fill" });
    this.meterValue = el("span", { className: "meter-value" });
    this.meter = el(
      "div",
      { className: "meter", testid: "emotion-meter", title: "来电人情绪" },
      el("span", { className: "meter-caption", text: "情绪" }),
      this.meterLabel,
      el("span", { className: "meter-bar", attrs: { "aria-hidden": "true" } }, this.meterFill),
      this.meterValue,
    );
    this.warningsChip = el("button", {
      className: "warnings-chip",
      testid: "warnings-toggle",
      attrs: { type: "button", "aria-expanded": "false", title: "本通话的禁用语提醒" },
      on: { click: () => this._toggleWarnings() },
    });
    this.statusRow = el(
      "section",
      { className: "status-row" },
      el("div", { className: "category", title: "诉求分类 / 承办部门" }, this.category, this.department),
      this.warningsChip,
      this.meter,
    );
    this.cards = el("section", { className: "cards", testid: "cards", attrs: { "aria-label": "提示卡片" } });
    const KIND_SLOT = { referral: "转介号码", empathy: "共情话术", knowledge: "知识库答案" };
    this.kindSlots = {};
    this.kindMore = {}; // kind → its "另有 n 条" button, in the head of the kind's newest card
    for (const [kind, name] of Object.entries(KIND_SLOT)) {
      const slot = el("div", { className: `kind-slot kind-slot-${kind}`, testid: "kind-slot", dataset: { kind, count: "0" } },
        el("p", { className: "slot-empty", text: `${name}会出现在这里` }),
        el("div", { className: "kind-cards" }));
      this.kindMore[kind] = el("button", { className: "kind-more linkish", testid: "kind-more", attrs: { type: "button" }, hidden: true,
        on: { click: (e) => { e.stopPropagation(); slot.toggleAttribute("data-open"); this._renderCards(); } } });
      this.kindSlots[kind] = slot;
      this.cards.append(slot);
    }
    this.warningsCount = el("span", { className: "count" });
    this.warningsList = el("ol", { className: "warnings-items" });
    this.warnings = el(
      "section",
      { className: "warnings", testid: "warnings-list", hidden: true },
      el("h2", {}, "本通话禁用语提醒 ", this.warningsCount,
        el("button", { className: "flash-close", text: "收起", on: { click: () => this._toggleWarnings(false) } })),
      this.warningsList,
    );
    // In a crisis the routine cards fold away behind one line; a tap shows them again.
    this.routineToggle = el("button", {
      className: "routine-toggle",
      testid: "routine-toggle",
      attrs: { type: "button" },
      on: { click: () => this._toggleRoutine() },
    });
    // One slot for the crisis banner and the cards: the banned-phrase warning and the warnings
    // list lie over it, so nothing else on the page moves. Its content scrolls inside it
    // (slot-scroll) when a banner (危急 or 安全确认) leaves the cards less room than they need:
    // nothing spills over the transcript, and every card can be read in full.
    this.slotBody = el("div", { className: "slot-scroll", testid: "slot-scroll" },
      this.criticalZone, this.routineToggle, this.cards);
    // more below the fold of the one scrolling column: its bottom edge fades and a mark says so
    this.moreBelow = el("span", { className: "more-below", testid: "more-below", hidden: true, text: "↓ 下方还有",
      attrs: { "aria-hidden": "true" } });
    this.slotBody.addEventListener("scroll", () => this._markMoreBelow());
    if (typeof ResizeObserver === "function") {
      const watch = new ResizeObserver(() => this._scheduleFit());
      for (const node of [this.slotBody, this.criticalZone, this.cards]) watch.observe(node);
    }
    this.slot = el("section", { className: "card-slot", testid: "card-slot" },
      this.slotBody, this.moreBelow, this.followUp, this.flash, this.warnings);
    this.transcript = el("div", { className: "transcript", testid: "transcript", attrs: { tabindex: "0" } });
    this.jump = el("button", {
      className: "jump",
      testid: "jump-latest",
      hidden: true,
      text: "↓ 有新内容,回到最新",
      on: { click: () => this._scrollToEnd() },
    });
    // follow the newest line unless the user scrolled up; layout changes keep following. Only a
    // scroll upwards stops following: when the cards above grow, the transcript box shrinks and
    // is briefly not at the bottom without anyone scrolling.
    this.follow = true;
    this.lastScrollTop = 0;
    this.transcript.addEventListener("scroll", () => {
      const top = this.transcript.scrollTop;
      if (nearBottom(this.transcript)) this.follow = true;
      else if (top < this.lastScrollTop) this.follow = false;
      this.lastScrollTop = top;
      if (this.follow) this.jump.hidden = true;
    });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => {
        if (this.follow) this.transcript.scrollTop = this.transcript.scrollHeight;
      }).observe(this.transcript);
    }
    setChildren(
      this.root,
      this.callbar,
      this.statusRow,
      this.slot,
      el(
        "section",
        { className: "transcript-wrap" },
        el("h2", { className: "transcript-title" }, "实时转写",
          el("span", { className: "legend legend-agent", text: ROLE_LABEL.agent }),
          el("span", { className: "legend legend-caller", text: ROLE_LABEL.caller })),
        this.transcript,
        this.jump,
      ),
    );
  }

  /**
   * Forget everything and show `callId` (null: waiting for a call). `pending`: the call is not
   * known to be live yet (no 通话中 until it is; see showWaiting).
   */
  reset(callId, { agentId = null, waitingText = "等待来电…", pending = false } = {}) {
    this.callId = callId;
    this.lines = new Map(); // utterance_id → line record
    this.prompts = new Map(); // prompt_id → {prompt, seq, version}
    this.seenPrompts = new Set(); // every prompt_id ever applied (withdrawn ones stay)
    this.marks = new Map(); // utterance_id → Map(prompt_id → {text, kind})
    this.cardEls = new Map(); // prompt_id → {node, version}
    this.expanded = new Set(); // keys (cardKey) of the cards opened with 更多 (kept through updates)
    this.warningItems = new Map(); // prompt_id → li
    this.seq = 0;
    this.backSeq = -1e9;
    this.categorySeq = -Infinity;
    this.callEmotion = null;
    this.callCategory = null;
    this.crisisNumbers = []; // the call's crisis numbers and those the operator told (its call state)
    this.told = [];
    this.owed = null; // of them, those still owed the caller (null: not said, every number not told)
    this._showFollowUp(false);
    clearTimeout(this.flashTimer);
    this.flashPrompt = null;
    this.flashQueue = [];
    this.flash.hidden = true;
    this.flash.replaceChildren();
    this.criticalZone.replaceChildren();
    this.transcript.replaceChildren();
    this.warningsList.replaceChildren();
    this.warnings.hidden = true;
    delete this.slot.dataset.crisis;
    delete this.slot.dataset.banner;
    this.slot.removeAttribute("data-show-routine");
    for (const slot of Object.values(this.kindSlots)) {
      slot.querySelector(".kind-cards").replaceChildren();
      slot.removeAttribute("data-open");
    }
    this.slot.removeAttribute("data-compact");
    this._updateWarningCount();
    this.jump.hidden = true;
    this.follow = true;
    this.lastScrollTop = 0;
    this.utteranceSeq = new Map(); // utterance_id → seq of its first prompt (cards group by utterance)
    this.callIdEl.textContent = callId ? callId : waitingText;
    this.agent.textContent = agentId ? `坐席 ${agentId}` : "";
    this.mode.hidden = true;
    this.state.textContent = callId && !pending ? "通话中" : "";
    this.callbar.dataset.state = callId && !pending ? "active" : "waiting";
    delete this.callbar.dataset.critical;
    this.duration.textContent = "";
    delete this.duration.dataset.tickBase;
    this._setEmotion(null, 0);
    this._setCategory(null, null);
    this._renderCards();
  }

  /** Apply one server event of this call. Unknown types are ignored. */
  apply(ev, { backfill = false } = {}) {
    switch (ev.type) {
      case "call_state":
        this.applyCallState(ev);
        break;
      case "call_started":
        this.applyCallState({ ...ev, active: true, duration: Math.max(0, Date.now() / 1000 - ev.started_at) });
        break;
      case "transcript":
        this.applyTranscript(ev);
        break;
      case "prompt":
        this.applyPrompt(ev, { backfill });
        break;
      case "call_ended":
      case "ended":
        this.applyEnded(ev);
        break;
      default:
        break;
    }
  }

  applyCallState(cs) {
    this.callIdEl.textContent = str(cs.call_id);
    if (cs.agent_id) this.agent.textContent = `坐席 ${cs.agent_id}`;
    this.mode.hidden = cs.mode !== "training";
    if (typeof cs.duration === "number") setTicking(this.duration, cs.duration, cs.active !== false);
    this.state.textContent = cs.active === false ? "已结束" : "通话中";
    this.callbar.dataset.state = cs.active === false ? "ended" : "active";
    if (cs.critical) this.callbar.dataset.critical = "true";
    if (Array.isArray(cs.crisis_numbers)) this.crisisNumbers = cs.crisis_numbers;
    if (Array.isArray(cs.told)) this.told = cs.told;
    if (Array.isArray(cs.owed)) this.owed = cs.owed;
    if (cs.active === false) this._showFollowUp(true);
    if (cs.emotion) {
      this.callEmotion = cs.emotion;
      this._setEmotion(cs.emotion.label, cs.emotion.intensity);
    }
    if (cs.intent || cs.department) {
      this.callCategory = { intent: cs.intent, department: cs.department };
      this.categorySeq = ++this.seq;
      this._refreshCategory();
    }
  }

  /**
   * The header of a stored call: its agent and mode, and for an ended call 已结束 with how it
   * ended and its duration (a call that ended before the page opened has no live call_state).
   */
  applyStoredCall(call) {
    if (call.agent_id) this.agent.textContent = `坐席 ${call.agent_id}`;
    if (call.ended_at === null || call.ended_at === undefined) return;
    this.mode.textContent = MODE_LABEL[call.mode] || MODE_LABEL.live;
    this.mode.hidden = false;
    if (typeof call.duration === "number") setTicking(this.duration, call.duration, false);
    const reason = END_REASON_LABEL[call.end_reason];
    this.state.textContent = reason && call.end_reason !== "completed" ? `已结束 · ${reason}` : "已结束";
    this.callbar.dataset.state = "ended";
    if (Array.isArray(call.crisis_numbers) && call.crisis_numbers.length) {
      this.crisisNumbers = call.crisis_numbers;
      this.told = Array.isArray(call.told) ? call.told : [];
      this.owed = Array.isArray(call.owed) ? call.owed : null;
    }
    this._showFollowUp(true);
  }

  /**
   * An ended call with a crisis: the numbers not told the caller, in red, with the call-back step; or, all told,
   * the return visit. Hidden for any other call, and while the call is live.
   */
  _showFollowUp(ended) {
    const { told, untold } = handoff(this.crisisNumbers, this.told, this.owed);
    const node = this.followUp;
    node.hidden = !ended || told.length + untold.length === 0;
    node.dataset.untold = untold.join(" ");
    if (node.hidden) {
      node.textContent = "";
    } else if (untold.length) {
      const done = told.length ? `已告知 ${told.join("、")}；` : "";
      node.textContent = `危急来电已结束:${done}未告知 ${untold.join("、")}。请立即回拨来电人确认安全,`
        + `联系不上时代为拨打 ${untold[0]} 并报告值班长。`;
    } else {
      node.textContent = `危急来电已结束:已告知 ${told.join("、")}。请按规定回访,确认来电人安全。`;
    }
  }

  /** The page's call is neither live nor stored: it has not started yet. */
  showWaiting(text) {
    this.state.textContent = text;
    this.callbar.dataset.state = "waiting";
  }

  applyEnded(ev) {
    const duration = ev.summary && typeof ev.summary.duration === "number" ? ev.summary.duration : null;
    if (duration !== null) setTicking(this.duration, duration, false);
    else if (this.duration.dataset.tickBase !== undefined) this.duration.dataset.tickStopped = "";
    this.state.textContent = "已结束";
    this.callbar.dataset.state = "ended";
    this._showFollowUp(true);
  }

  // ------------------------------------------------------------ transcript

  applyTranscript(t) {
    const uid = str(t.utterance_id);
    if (!uid) return;
    let line = this.lines.get(uid);
    if (line && line.final && !t.final) return; // a late partial never undoes a final
    const stick = this.follow || nearBottom(this.transcript);
    if (!line) {
      line = this._newLine(t);
      this._insertLine(line);
    }
    line.text = displayText(t.text);
    line.final = Boolean(t.final);
    line.node.dataset.final = String(line.final);
    line.node.classList.toggle("partial", !line.final);
    line.time.textContent = fmtClock(t.start);
    this._renderLineText(line);
    while (this.lines.size > MAX_LINES) {
      const [oldId, old] = this.lines.entries().next().value;
      old.node.remove();
      this.lines.delete(oldId);
    }
    if (stick) this._scrollToEnd();
    else this.jump.hidden = false;
    if (line.final && line.role === "agent") this._advanceEmpathy();
  }

  _newLine(t) {
    const role = ROLE_LABEL[t.role] ? t.role : "mixed";
    const who = el("span", { className: "who", text: ROLE_LABEL[role] });
    const time = el("span", { className: "time" });
    const text = el("span", { className: "text" });
    const node = el(
      "div",
      {
        className: `line role-${role}`,
        testid: "transcript-line",
        dataset: { role, utteranceId: t.utterance_id },
      },
      el("div", { className: "line-head" }, who, time),
      text,
    );
    return { id: str(t.utterance_id), node, textEl: text, time, start: Number(t.start) || 0, text: "", final: false, role };
  }

  _insertLine(line) {
    this.lines.set(line.id, line);
    let before = null;
    for (let node = this.transcript.lastElementChild; node; node = node.previousElementSibling) {
      const other = this.lines.get(node.dataset.utteranceId);
      if (!other || other.start <= line.start) break;
      before = node;
    }
    this.transcript.insertBefore(line.node, before);
  }

  /** Line text with evidence spans of live prompts highlighted (text nodes only). */
  _renderLineText(line) {
    const marks = this.marks.get(line.id);
    const text = line.text;
    const ranges = [];
    if (marks) {
      for (const { text: needle, kind } of marks.values()) {
        if (!needle) continue;
        const at = text.indexOf(needle);
        if (at >= 0) ranges.push({ at, end: at + needle.length, kind });
      }
    }
    ranges.sort((a, b) => a.at - b.at);
    const parts = [];
    let pos = 0;
    for (const r of ranges) {
      if (r.at < pos) continue; // overlapping evidence: keep the first
      if (r.at > pos) parts.push(text.slice(pos, r.at));
      parts.push(el("mark", { className: `ev ev-${r.kind}`, testid: "evidence", dataset: { kind: r.kind } },
        text.slice(r.at, r.end)));
      pos = r.end;
    }
    if (pos < text.length) parts.push(text.slice(pos));
    setChildren(line.textEl, parts);
  }

  _scrollToEnd() {
    this.follow = true;
    this.transcript.scrollTop = this.transcript.scrollHeight;
    this.jump.hidden = true;
  }

  // ------------------------------------------------------------ prompts

  applyPrompt(p, { backfill = false } = {}) {
    const id = str(p.prompt_id);
    if (!id) return;
    this.seenPrompts.add(id);
    if (p.action === "withdraw") {
      this._withdraw(id);
      return;
    }
    const known = this.prompts.get(id);
    // backfilled prompts are older than anything received live: they sort behind
    const seq = known ? known.seq : backfill ? ++this.backSeq : ++this.seq;
    const rec = { prompt: p, seq, version: known ? known.version + 1 : 0 };
    if (!this.utteranceSeq.has(str(p.utterance_id))) this.utteranceSeq.set(str(p.utterance_id), seq);
    this.prompts.set(id, rec);
    this._setMark(p);
    switch (p.kind) {
      case "emotion":
        this._refreshEmotion();
        break;
      case "category":
        this._refreshCategory();
        break;
      case "banned":
        if (backfill) this._toWarningList(p);
        else this._showFlash(p);
        break;
      case "critical":
        this.callbar.dataset.critical = "true";
        this._renderCritical();
        break;
      case "safety":
      case "handling":
        this._renderCritical();
        break;
      default:
        this._renderCards();
    }
  }

  _withdraw(id) {
    const rec = this.prompts.get(id);
    if (!rec) return;
    this.prompts.delete(id);
    const p = rec.prompt;
    this._clearMark(p);
    if (p.kind === "emotion") this._refreshEmotion();
    else if (p.kind === "category") this._refreshCategory();
    else if (p.kind === "banned") {
      this.flashQueue = this.flashQueue.filter((q) => q.prompt_id !== id);
      if (this.flashPrompt && this.flashPrompt.prompt_id === id) {
        this._hideFlash();
        this._nextFlash();
      } else this._renderFlashQueued();
      const li = this.warningItems.get(id);
      if (li) li.remove();
      this.warningItems.delete(id);
      this._updateWarningCount();
    } else if (p.kind === "critical" || p.kind === "safety" || p.kind === "handling") this._renderCritical();
    else this._renderCards();
  }

  _setMark(p) {
    const uid = str(p.utterance_id);
    if (!uid) return;
    const text = p.span && p.span.text ? String(p.span.text) : "";
    let marks = this.marks.get(uid);
    if (!text) {
      if (marks && marks.delete(p.prompt_id)) this._rerenderLine(uid);
      return;
    }
    if (!marks) this.marks.set(uid, (marks = new Map()));
    marks.set(p.prompt_id, { text, kind: p.kind });
    this._rerenderLine(uid);
  }

  _clearMark(p) {
    const marks = this.marks.get(str(p.utterance_id));
    if (marks && marks.delete(p.prompt_id)) this._rerenderLine(str(p.utterance_id));
  }

  _rerenderLine(uid) {
    const line = this.lines.get(uid);
    if (line) this._renderLineText(line);
  }

  _latest(kind) {
    let best = null;
    for (const rec of this.prompts.values()) {
      if (rec.prompt.kind === kind && (!best || rec.seq > best.seq)) best = rec;
    }
    return best;
  }

  // ------------------------------------------------------------ emotion + category

  _setEmotion(label, intensity) {
    const x = Math.max(0, Math.min(1, Number(intensity) || 0));
    const level = emotionLevel(label, x);
    this.meter.dataset.level = label ? level : "none";
    this.meter.dataset.label = str(label);
    this.meterLabel.textContent = label ? label : "—";
    // an intensity is a negative emotion's: 平静 and 满意 show their label alone (trial 6, L9: 「满意 0%」)
    const graded = NEGATIVE_EMOTIONS.has(label);
    this.meterFill.style.width = `${graded ? Math.round(Math.max(x, 0.04) * 100) : 0}%`;
    this.meterValue.textContent = graded ? fmtPercent(x) : "";
  }

  _refreshEmotion() {
    // one source of truth: the call's emotion, decided by the server with hysteresis (call_state)
    // — the same one the empathy card names; an utterance's emotion prompt only marks its words,
    // and stands in on the meter only until the first call_state with an emotion arrives
    if (this.callEmotion) {
      this._setEmotion(this.callEmotion.label, this.callEmotion.intensity);
      return;
    }
    const rec = this._latest("emotion");
    if (rec) this._setEmotion(rec.prompt.data.label, rec.prompt.data.intensity);
    else this._setEmotion(null, 0);
  }

  _setCategory(intent, department) {
    this.category.textContent = intent ? intent : "未分类";
    this.category.dataset.intent = str(intent);
    this.department.textContent = department ? `承办:${department}` : "";
  }

  _refreshCategory() {
    // the call's category (decided by the server for the whole call, with hysteresis) once there
    // is one; before that, the newest hint of a category prompt
    const rec = this._latest("category");
    const fallback = this.callCategory || {};
    if (rec && !fallback.intent) {
      const d = rec.prompt.data;
      this._setCategory(d.intent || fallback.intent, d.department || fallback.department);
    } else {
      this._setCategory(fallback.intent, fallback.department);
    }
  }

  // ------------------------------------------------------------ critical banner

  _renderCritical() {
    // at most one banner: the newest critical prompt, with every number the others gave
    const recs = [...this.prompts.values()].filter((r) => r.prompt.kind === "critical").sort((a, b) => b.seq - a.seq);
    if (!recs.length) {
      // no crisis: the newest safety question (a weaker sign of risk) takes the zone, without crisis mode
      const safety = this._latest("safety");
      if (safety) {
        setChildren(this.criticalZone, this._safetyBanner(safety.prompt));
        this.slot.dataset.banner = "safety";
      } else {
        this.criticalZone.replaceChildren();
        delete this.slot.dataset.banner;
      }
      delete this.slot.dataset.crisis;
      this._fit();
      return;
    }
    const numbers = [];
    for (const r of recs) {
      const refs = (r.prompt.data || {}).referrals;
      for (const n of Array.isArray(refs) ? refs : []) if (n && !numbers.includes(String(n))) numbers.push(String(n));
    }
    const top = recs[0].prompt;
    const merged = numbers.length ? { ...top, data: { ...(top.data || {}), referrals: numbers } } : top;
    const handling = this._latest("handling");
    setChildren(this.criticalZone, this._criticalBanner(merged, handling ? handling.prompt : null));
    this.slot.dataset.crisis = "true";
    this.slot.dataset.banner = "critical";
    this._renderCards();
  }

  /** The crisis banner; `handling`: the operator's latest routine answer to this caller at risk (a ticket, working
   *  days), shown at its top with what to do instead, while the crisis still needs the transfer. */
  _criticalBanner(p, handling = null) {
    const d = p.data;
    const h = handling ? handling.data || {} : null;
    const message = d.reason || "危急情况";
    const number = d.referrals.join(" / ");
    const aid = Array.isArray(d.first_aid) ? d.first_aid : [];
    return el(
      "div",
      { className: "critical", testid: "critical-banner", dataset: { promptId: p.prompt_id } },
      el("div", { className: "critical-head" }, el("strong", { text: "危急" }), el("span", { text: message })),
      d.correction
        ? el("div", { className: "correction", testid: "crisis-correction" },
          el("strong", { text: "来电人更正" }), el("span", { className: "phrase", text: `“${str(d.correction)}”` }),
          el("p", { text: "核实现场确无危险后,向来电人复述确认(如:确认一下,没有着火、没有人受伤,是吗?),提示随即解除;仍有疑问请照常转接。" }))
        : null,
      h
        ? el("div", { className: "handling", testid: "handling-nudge" },
          el("strong", { text: `⚠ ${str(h.finding)}` }),
          el("span", { className: "phrase", text: `“${str(h.said)}”` }),
          el("p", { testid: "handling-suggestion", text: str(h.suggestion) }))
        : null,
      number
        ? el("div", { className: "critical-action" }, "建议转接",
          el("span", { className: "critical-number", testid: "critical-number", text: number }))
        : null,
      aid.length
        ? el("div", { className: "first-aid", testid: "first-aid" }, el("strong", { text: "现场指导" }),
          ...aid.map((s) => el("p", { text: str(s) })))
        : null,
      el("ol", { className: "crisis-steps", testid: "crisis-steps" },
        CRISIS_STEPS.map((step) => {
          const text = step.replace("{number}", number || "110");
          return el("li", {}, el("label", {}, el("input", { attrs: { type: "checkbox" } }), ` ${text}`));
        })),
    );
  }

  _safetyBanner(p) {
    const d = p.data || {};
    const numbers = Array.isArray(d.referrals) ? d.referrals.join(" / ") : "";
    return el(
      "div",
      { className: "safety", testid: "safety-banner", dataset: { promptId: p.prompt_id } },
      el("div", { className: "safety-head" }, el("strong", { text: "安全确认" }),
        el("span", { testid: "safety-question", text: str(d.question) })),
      d.reason ? el("div", { className: "safety-reason", text: str(d.reason) }) : null,
      numbers
        ? el("div", { className: "safety-action" }, "如确认有危险,转接 ",
          el("span", { className: "safety-number", testid: "safety-number", text: numbers }))
        : null,
    );
  }

  /**
   * Show or fold the routine cards under the crisis banner. Shown, they open right under it and
   * scroll beneath it (it is sticky): the crisis headline never scrolls out of view.
   */
  _toggleRoutine() {
    this.slot.toggleAttribute("data-show-routine");
    this.slotBody.scrollTop = 0;
    this._renderRoutineToggle();
    this._fit();
  }

  _renderRoutineToggle() {
    const open = this.slot.hasAttribute("data-show-routine");
    const n = this.routineCount || 0;
    this.routineToggle.textContent = open ? `其他提示 ${n} 条(点击收起)` : `其他提示 ${n} 条(危急处置中已收起,点击查看)`;
    this.routineToggle.setAttribute("aria-expanded", String(open));
    this.routineToggle.hidden = !this.slot.dataset.crisis || n === 0;
  }

  // ------------------------------------------------------------ banned-phrase warning

  // One warning at a time over the bottom of the slot. Each stays FLASH_MS (or until 知道了); a
  // warning arriving while another shows waits until that one has been up FLASH_MIN_MS, so every
  // warning can be read ("还有 n 条" counts the waiting ones). Gone from the top, it joins the list.

  _showFlash(p) {
    const id = p.prompt_id;
    if (this.warningItems.has(id)) {
      this._toWarningList(p); // an update of a warning already in the list: refresh it there
      return;
    }
    if (this.flashPrompt && this.flashPrompt.prompt_id === id) {
      this._renderFlash(p, false); // an update of the warning shown: same place, same time left
      return;
    }
    const waiting = this.flashQueue.findIndex((q) => q.prompt_id === id);
    if (waiting >= 0) this.flashQueue[waiting] = p;
    else if (!this.flashPrompt) this._renderFlash(p, true);
    else {
      this.flashQueue.push(p);
      this._renderFlashQueued();
      this._scheduleFlash();
    }
  }

  _renderFlash(p, isNew) {
    const d = p.data;
    this.flashPrompt = p;
    this.flash.dataset.promptId = p.prompt_id;
    this.flashQueued = el("span", { className: "flash-queued", testid: "banned-queued" });
    setChildren(
      this.flash,
      el("div", { className: "flash-head" },
        el("strong", { text: "⚠ 禁用语提醒" }),
        this.flashQueued,
        el("button", { className: "flash-close", text: "知道了", on: { click: () => this._expireFlash() } })),
      el("div", { className: "flash-row" },
        el("span", { className: "flash-label", text: "您刚才说:" }),
        el("span", { className: "phrase", testid: "banned-phrase", text: `“${bannedPhrase(p)}”` })),
      d.suggestion
        ? el("div", { className: "flash-row" },
          el("span", { className: "flash-label", text: "请改说:" }),
          el("span", { className: "suggestion", testid: "banned-suggestion", text: str(d.suggestion) }))
        : null,
    );
    this._renderFlashQueued();
    this.flash.hidden = false;
    if (isNew) {
      this.flashShownAt = Date.now();
      this.flash.classList.remove("flashing");
      void this.flash.offsetWidth; // restart the flash animation
      this.flash.classList.add("flashing");
      this._scheduleFlash();
    }
  }

  _renderFlashQueued() {
    if (!this.flashQueued) return;
    const n = this.flashQueue.length;
    this.flashQueued.textContent = n ? `还有 ${n} 条` : "";
    this.flashQueued.hidden = n === 0;
  }

  /** The shown warning goes after FLASH_MS, or after FLASH_MIN_MS when another one waits. */
  _scheduleFlash() {
    clearTimeout(this.flashTimer);
    if (!this.flashPrompt) return;
    const due = this.flashShownAt + (this.flashQueue.length ? this.flashMinMs : this.flashMs);
    this.flashTimer = setTimeout(() => this._expireFlash(), Math.max(0, due - Date.now()));
  }

  /** The shown warning joins the list; the next waiting one (if any) takes its place. */
  _expireFlash() {
    const p = this.flashPrompt;
    this._hideFlash();
    if (p && this.prompts.has(p.prompt_id)) this._toWarningList(this.prompts.get(p.prompt_id).prompt);
    this._nextFlash();
  }

  _nextFlash() {
    const next = this.flashQueue.shift();
    if (next) this._renderFlash(next, true);
  }

  _hideFlash() {
    clearTimeout(this.flashTimer);
    this.flashPrompt = null;
    this.flashQueued = null;
    this.flash.hidden = true;
    this.flash.classList.remove("flashing");
    delete this.flash.dataset.promptId;
  }

  _toWarningList(p) {
    const d = p.data;
    const li = el(
      "li",
      { testid: "warning-item", dataset: { promptId: p.prompt_id } },
      el("span", { className: "time", text: fmtClock(p.audio_time) }),
      el("span", { className: "phrase", text: `“${bannedPhrase(p)}”` }),
      d.suggestion ? el("span", { className: "suggestion", text: `→ ${str(d.suggestion)}` }) : null,
    );
    const old = this.warningItems.get(p.prompt_id);
    if (old) old.replaceWith(li);
    else this.warningsList.prepend(li);
    this.warningItems.set(p.prompt_id, li);
    this._updateWarningCount();
  }

  _updateWarningCount() {
    const n = this.warningItems.size;
    this.warningsChip.textContent = `禁用语 ${n}`;
    this.warningsChip.dataset.count = String(n);
    this.warningsCount.textContent = `(${n})`;
    if (n === 0) this._toggleWarnings(false);
  }

  /** The warnings list opens over the cards (never pushing them) and closes again. */
  _toggleWarnings(open = this.warnings.hidden) {
    const show = open && this.warningItems.size > 0;
    this.warnings.hidden = !show;
    this.warningsChip.setAttribute("aria-expanded", String(show));
  }

  /**
   * The empathy step that fits now: the server's `stage` (moved on only when the operator's words did
   * the step before it); a server without it: one further for each line the operator finished.
   */
  _empathyStage(p) {
    const stage = (p.data || {}).stage;
    return typeof stage === "number" ? stage : this._agentLinesSince(p.audio_time);
  }

  _advanceEmpathy() {
    for (const [id, cached] of this.cardEls) {
      const rec = this.prompts.get(id);
      if (!rec || rec.prompt.kind !== "empathy") continue;
      setEmpathyStep(cached.node, this._empathyStage(rec.prompt));
    }
  }

  _agentLinesSince(t) {
    let n = 0;
    for (const line of this.lines.values()) if (line.final && line.role === "agent" && line.start >= Number(t || 0)) n += 1;
    return n;
  }

  // ------------------------------------------------------------ cards

  _renderCards() {
    // one place per kind (referral, empathy, knowledge), in that order in the one column: the newest
    // card of a kind is shown in its place, older ones fold behind "另有 n 条" (on the card's first
    // line, so the place keeps its height when they come); at the overlay's width the cards are
    // compact from the first one (_fit), so a card coming above another moves it by a compact
    // card's height at most, never by a full card's that then shrinks
    const recs = [...this.prompts.values()]
      .filter((r) => Object.hasOwn(CARD_LIMITS, r.prompt.kind))
      .sort((a, b) => b.seq - a.seq);
    const keys = new Set();
    const byKind = { referral: [], empathy: [], knowledge: [] };
    for (const rec of recs) {
      const kind = rec.prompt.kind;
      const key = cardKey(rec.prompt);
      if (keys.has(key) || byKind[kind].length >= CARD_LIMITS[kind]) continue;
      keys.add(key);
      byKind[kind].push(rec);
    }
    const keep = new Set(Object.values(byKind).flat().map((r) => r.prompt.prompt_id));
    for (const [id, cached] of this.cardEls) {
      if (!keep.has(id)) {
        cached.node.remove();
        this.cardEls.delete(id);
      }
    }
    let total = 0;
    for (const [kind, shown] of Object.entries(byKind)) {
      const slot = this.kindSlots[kind];
      total += shown.length;
      const nodes = shown.map((rec, i) => {
        const id = rec.prompt.prompt_id;
        let cached = this.cardEls.get(id);
        if (!cached || cached.version !== rec.version) {
          const node = this._card(rec.prompt);
          if (cached) cached.node.replaceWith(node);
          cached = { node, version: rec.version };
          this.cardEls.set(id, cached);
        }
        cached.node.classList.toggle("older", i > 0);
        return cached.node;
      });
      const body = slot.querySelector(".kind-cards");
      nodes.forEach((node, i) => {
        if (body.children[i] !== node) body.insertBefore(node, body.children[i] || null);
      });
      slot.dataset.count = String(shown.length);
      // "另有 n 条" sits in the head of the newest card, on its first line: never cut off below it
      const more = this.kindMore[kind];
      more.hidden = shown.length < 2;
      more.textContent = slot.hasAttribute("data-open") ? "收起" : `另有 ${shown.length - 1} 条`;
      if (nodes.length) {
        const head = nodes[0].querySelector(".card-head");
        if (more.parentNode !== head) head.insertBefore(more, head.querySelector(".card-more"));
      }
    }
    this.cards.classList.toggle("has-cards", total > 0);
    this.routineCount = total;
    this._renderRoutineToggle();
    this._fit();
  }

  // ------------------------------------------------------------ fitting the slot

  _scheduleFit() {
    if (this.fitFrame) return;
    const run = () => {
      this.fitFrame = 0;
      this._fit();
    };
    this.fitFrame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(run) : setTimeout(run, 0);
  }

  /**
   * Compact cards: in a narrow slot (compactBelow, the overlay at 320–420 px) from the first card, so
   * that no card is ever laid out in full and then shrunk, and a card coming above another moves it
   * by a compact card's height only (the scenario calls' layout shift); in a wider slot from the
   * moment the cards at full height do not fit it (measured when a card comes, in the same task: no
   * full-height frame is painted). Then which cards hide something (更多) and whether the column has
   * more below its fold.
   */
  _fit() {
    const slot = this.slot;
    const body = this.slotBody;
    // once compact, the cards stay compact for the call (reset() clears it): cards that went back and
    // forth between full and compact as others come and go would move under the operator's eyes
    const width = slot.clientWidth;
    if (width > 0 && width < this.compactBelow) slot.setAttribute("data-compact", "");
    const shown = this.routineCount > 0 && this.cards.getClientRects().length > 0;
    if (shown && body.scrollHeight > body.clientHeight + 1) slot.setAttribute("data-compact", "");
    const compact = slot.hasAttribute("data-compact");
    for (const { node } of this.cardEls.values()) {
      const expanded = node.hasAttribute("data-expanded");
      const more = compact && !expanded && node.getClientRects().length > 0 && cardHidesSomething(node);
      node.dataset.more = String(more);
      const button = node.querySelector(".card-more");
      button.textContent = expanded ? "收起 ▴" : "更多 ▾";
      button.setAttribute("aria-expanded", String(expanded));
    }
    this._markMoreBelow();
  }

  _markMoreBelow() {
    const b = this.slotBody;
    const more = b.scrollHeight - b.scrollTop - b.clientHeight > 4;
    b.classList.toggle("has-more", more);
    this.moreBelow.hidden = !more;
  }

  /**
   * Open a compact card in full (更多), or fold it again (收起). An empathy card opens with its other
   * steps shown: they stay one tap away, as on a full card (其他步骤).
   */
  _expandCard(node, key, open) {
    if (open) this.expanded.add(key);
    else this.expanded.delete(key);
    node.toggleAttribute("data-expanded", open);
    const steps = node.querySelector(".steps-more");
    const stepsOpen = node.querySelector(".steps.steps-open") !== null;
    if (steps && stepsOpen !== open) steps.click();
    this._fit();
  }

  _card(p) {
    const node = this._cardNode(p);
    const key = cardKey(p);
    const button = el("button", { className: "card-more", testid: "card-more", attrs: { type: "button", "aria-expanded": "false" },
      text: "更多 ▾",
      on: { click: (e) => { e.stopPropagation(); this._expandCard(node, key, !node.hasAttribute("data-expanded")); } } });
    node.querySelector(".card-head").append(button);
    if (this.expanded.has(key)) node.setAttribute("data-expanded", "");
    // a compact card opens with a click anywhere on it (not on its own buttons, links or checkboxes)
    node.addEventListener("click", (e) => {
      if (node.dataset.more !== "true" || node.hasAttribute("data-expanded")) return;
      if (e.target instanceof Element && e.target.closest("button, a, input")) return;
      this._expandCard(node, key, true);
    });
    return node;
  }

  _cardNode(p) {
    const d = p.data;
    const head = (title, ...extra) => el("header", { className: "card-head" }, el("span", { className: "card-kind", text: title }), ...extra);
    const props = { className: `card card-${p.kind}`, testid: "card", dataset: { kind: p.kind, promptId: p.prompt_id } };
    if (p.kind === "referral") {
      return el(
        "article",
        props,
        head("转介", d.reason ? el("span", { className: "card-note", text: str(d.reason) }) : null),
        el("div", { className: "ref-main" },
          el("span", { className: "ref-number", testid: "referral-number", text: str(d.number) }),
          el("span", { className: "ref-name", text: str(d.name) })),
        d.script ? el("p", { className: "script", testid: "card-script" }, el("span", { className: "say", text: "可以这样说:" }), str(d.script)) : null,
      );
    }
    if (p.kind === "knowledge") {
      const said = this.lines.get(str(p.utterance_id));
      return el(
        "article",
        props,
        head("知识库", el("span", { className: "card-score", title: "匹配度", text: `匹配 ${fmtPercent(d.score)}` })),
        knowledgeBody(d, said ? said.text : ""),
      );
    }
    // empathy
    const steps = empathySteps(d);
    return el(
      "article",
      props,
      head("共情话术", d.label ? el("span", { className: "card-note", text: `来电人${d.label}` }) : null),
      empathyBody(steps, this._empathyStage(p)),
    );
  }

  // ------------------------------------------------------------ history backfill

  /** Merge a stored call (GET /api/calls/ID) without duplicating what is already shown. */
  applyHistory(detail) {
    if (detail && detail.call) this.applyStoredCall(detail.call);
    for (const u of (detail && detail.utterances) || []) {
      const uid = u.utterance_id;
      if (!uid || this.lines.has(String(uid))) continue;
      this.applyTranscript({ ...u, utterance_id: String(uid), final: true });
    }
    const live = new Set(this.seenPrompts);
    for (const row of (detail && detail.prompts) || []) {
      // the store gives {prompt_id, kind, action (the last one), event: the last shown prompt event};
      // a bare prompt event is accepted too (docs/client.md)
      if (!row || row.action === "withdraw") continue;
      const p = row.event || row;
      if (p.prompt_id && !live.has(String(p.prompt_id))) {
        this.applyPrompt({ ...p, action: "show" }, { backfill: true });
      }
    }
  }
}
