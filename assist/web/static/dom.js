// Small DOM and formatting helpers shared by all pages.
// Text always goes in through textContent: never innerHTML with data from the server.

/**
 * Create an element.
 * props: className, text, testid, dataset {}, attrs {}, title, hidden, on {event: handler}.
 * children: nodes, strings (become text nodes), null/undefined/false (skipped) or arrays of those.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
  if (props.testid) node.dataset.testid = props.testid;
  if (props.title) node.title = String(props.title);
  if (props.hidden) node.hidden = true;
  for (const [k, v] of Object.entries(props.dataset || {})) {
    if (v !== undefined && v !== null) node.dataset[k] = String(v);
  }
  for (const [k, v] of Object.entries(props.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const [k, v] of Object.entries(props.on || {})) node.addEventListener(k, v);
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `node`. */
export function setChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

/** Seconds of call audio / duration → "m:ss" or "h:mm:ss". */
export function fmtClock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const pad2 = (n) => String(n).padStart(2, "0");

/** Unix time (s) → "HH:MM:SS" local time. */
export function fmtTime(unix) {
  if (typeof unix !== "number" || !isFinite(unix)) return "";
  const d = new Date(unix * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Unix time (s) → "YYYY-MM-DD HH:MM" local time. */
export function fmtDateTime(unix) {
  if (typeof unix !== "number" || !isFinite(unix)) return "";
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

const SPACE_NEXT_TO_CJK =
  /\s+(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])|(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])\s+/g;
// a space between two lone digits (a number spelt one digit a word: 1 2 3 4 5; not 3 5000), as assist/text.py
const SPACE_IN_NUMBER = /(?<=(?<![0-9])[0-9])\s+(?=[0-9](?![0-9]))/g;
// a space next to full-width punctuation (，。？！、：；)
const SPACE_NEXT_TO_PUNCT = /(?<=[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20])\s+|\s+(?=[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20])/g;

/**
 * Transcript text for display: Vosk writes Chinese with spaces between words ("我 想 问 一下");
 * whitespace next to a CJK ideograph or full-width punctuation is removed, as the server's normaliser
 * does, so evidence spans (`prompt.span.text`, counted without those spaces) are found in the line.
 * The digits of one number stay together: "1 2 3 4 5" (typed text split into characters) is "12345",
 * while two numbers of several digits ("138 1234") keep their space (assist/text.py join_cjk).
 */
export function displayText(text) {
  return String(text ?? "")
    .replace(SPACE_NEXT_TO_CJK, "")
    .replace(SPACE_IN_NUMBER, "")
    .replace(SPACE_NEXT_TO_PUNCT, "")
    .trim();
}

/** A 0..1 score → "82%". */
export function fmtPercent(x) {
  const n = Number(x);
  return isFinite(n) ? `${Math.round(Math.max(0, Math.min(1, n)) * 100)}%` : "";
}

/** True when a scrollable element is (nearly) scrolled to its bottom. */
export function nearBottom(node, slack = 48) {
  return node.scrollHeight - node.scrollTop - node.clientHeight <= slack;
}

/**
 * Tick every element carrying data-tick-base (seconds) and data-tick-at (ms, performance.now()
 * when the base was known) once a second, showing base + elapsed as a clock. Elements with
 * data-tick-stopped keep their base. Returns the interval id.
 */
export function startTicker(root = document) {
  const tick = () => {
    const now = performance.now();
    for (const node of root.querySelectorAll("[data-tick-base]")) {
      const base = Number(node.dataset.tickBase) || 0;
      const since = Number(node.dataset.tickAt) || now;
      const secs = node.dataset.tickStopped !== undefined ? base : base + (now - since) / 1000;
      node.textContent = fmtClock(secs);
    }
  };
  tick();
  return setInterval(tick, 1000);
}

/** Mark a ticking element with a new base duration (s); `running` false freezes it. */
export function setTicking(node, seconds, running) {
  node.dataset.tickBase = String(Number(seconds) || 0);
  node.dataset.tickAt = String(performance.now());
  if (running) delete node.dataset.tickStopped;
  else node.dataset.tickStopped = "";
  node.textContent = fmtClock(seconds);
}
