// Glanceable card bodies for the operator overlay: the knowledge answer as a short snippet with
// the caller's words highlighted (the full answer one click away), and the empathy script
// showing the one step that fits now (the others one tap away).

import { el } from "./dom.js";

/** Characters of a knowledge answer shown before the card is expanded. */
export const SNIPPET_CHARS = 40;

/**
 * Ranges [start, end) of `text` that also occur in `words` (the caller's utterance): at each
 * position the longest shared run of 2 to 6 characters.
 */
export function sharedRanges(text, words) {
  const ranges = [];
  const source = String(words || "");
  if (!source) return ranges;
  let i = 0;
  while (i < text.length) {
    let found = 0;
    for (let k = Math.min(6, text.length - i); k >= 2; k -= 1) {
      const piece = text.slice(i, i + k);
      if (/[\p{P}\s]/u.test(piece)) continue;
      if (source.includes(piece)) {
        found = k;
        break;
      }
    }
    if (found) {
      ranges.push([i, i + found]);
      i += found;
    } else {
      i += 1;
    }
  }
  return ranges;
}

/** The ~40-character window of `answer` around its first match (or its start). */
export function snippet(answer, words, size = SNIPPET_CHARS) {
  const text = String(answer || "");
  if (text.length <= size) return { text, start: 0, cut: false };
  const ranges = sharedRanges(text, words);
  let start = ranges.length ? Math.max(0, ranges[0][0] - 6) : 0;
  start = Math.min(start, text.length - size);
  // begin at a clause boundary when one is close before the match
  const boundary = Math.max(text.lastIndexOf("。", start), text.lastIndexOf(";", start), text.lastIndexOf(",", start));
  if (boundary >= 0 && start - boundary <= 8) start = boundary + 1;
  return { text: text.slice(start, start + size), start, cut: true };
}

/** Text with the shared ranges wrapped in <mark> nodes. */
export function highlighted(text, words, className = "kb-hit") {
  const out = [];
  let at = 0;
  for (const [s, e] of sharedRanges(text, words)) {
    if (s > at) out.push(text.slice(at, s));
    out.push(el("mark", { className, text: text.slice(s, e) }));
    at = e;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/**
 * Knowledge card body: question, snippet with highlights, source and date; a click (or Enter)
 * on the snippet shows the full answer.  Only words the caller said are highlighted (never the
 * entry's own question: trial 3, e6 marked 拖欠工资 / 工资 on a noise complaint).
 */
export function knowledgeBody(d, callerWords) {
  const answer = String(d.answer || "");
  const words = String(callerWords || "").replace(/\s+/g, "");
  const part = snippet(answer, words);
  const full = el("p", { className: "kb-answer", testid: "kb-answer", hidden: part.cut }, highlighted(answer, words));
  const short = el(
    "p",
    {
      className: "kb-snippet",
      testid: "kb-snippet",
      hidden: !part.cut,
      attrs: { role: "button", tabindex: "0", "aria-expanded": "false", title: "点击查看完整答案" },
    },
    part.start > 0 ? "…" : "",
    highlighted(part.text, words),
    part.cut ? el("span", { className: "more", text: "… 展开" }) : null,
  );
  const toggle = () => {
    const open = full.hidden;
    full.hidden = !open;
    short.hidden = open;
    short.setAttribute("aria-expanded", String(open));
  };
  short.addEventListener("click", toggle);
  short.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      toggle();
    }
  });
  full.addEventListener("click", () => { if (part.cut) toggle(); });
  const meta = [d.source ? `来源:${d.source}` : "", d.updated ? `更新:${d.updated}` : ""].filter(Boolean).join(" · ");
  return [
    el("h3", { className: "kb-question", text: String(d.question || "") }),
    short,
    full,
    meta ? el("footer", { className: "card-meta", testid: "kb-meta", text: meta }) : null,
  ];
}

/**
 * Empathy steps: the step at `now` is shown, the others are folded under one tap
 * ("其他步骤"). `steps` is [{name, text}].
 */
export function empathyBody(steps, now) {
  const current = Math.max(0, Math.min(steps.length - 1, now));
  const list = el("ol", { className: "steps", dataset: { now: String(current) } },
    steps.map((s, i) => el("li", { className: i === current ? "step-now" : "step-other", dataset: { step: String(i) } },
      el("span", { className: "step-name", text: s.name }), el("span", { className: "step-text", text: s.text }))));
  const more = steps.length > 1
    ? el("button", {
      className: "steps-more linkish",
      testid: "empathy-more",
      attrs: { type: "button", "aria-expanded": "false" },
      text: "其他步骤",
      on: {
        click: (e) => {
          const open = list.classList.toggle("steps-open");
          e.currentTarget.setAttribute("aria-expanded", String(open));
          e.currentTarget.textContent = open ? "收起" : "其他步骤";
        },
      },
    })
    : null;
  return [list, more];
}

/** Move an empathy card's shown step to `now` (the operator has spoken since it appeared). */
export function setEmpathyStep(card, now) {
  const list = card.querySelector(".steps");
  if (!list) return;
  const items = list.querySelectorAll("li");
  const current = Math.max(0, Math.min(items.length - 1, now));
  if (list.dataset.now === String(current)) return;
  list.dataset.now = String(current);
  items.forEach((li, i) => { li.className = i === current ? "step-now" : "step-other"; });
}
