// Chinese display names for wire-format values (roles, prompt and alert kinds, emotions).

import { fmtPercent } from "./dom.js";

export const ROLE_LABEL = { agent: "坐席", caller: "来电人", mixed: "通话" };

export const PROMPT_KIND_LABEL = {
  emotion: "情绪",
  category: "分类",
  referral: "转介",
  knowledge: "知识库",
  empathy: "共情话术",
  banned: "禁用语",
  critical: "危急",
  safety: "安全确认",
  handling: "处置提醒",
};

export const ALERT_KIND_LABEL = { banned: "禁用语", escalation: "情绪升级", critical: "危急", collective: "群体性事件", petition: "信访/舆情",
  handling: "危急按常规处理", stood_down: "危急已解除" };

export const SEVERITY_LABEL = { info: "提示", warning: "警告", critical: "危急" };

export const END_REASON_LABEL = {
  completed: "正常结束",
  client_gone: "连接中断",
  error: "出错",
  interrupted: "中断",
  shutdown: "服务停止",
};

export const MODE_LABEL = { live: "实时", training: "培训" };

/** The names of the three empathy steps, in the order of an empathy prompt's `steps`. */
export const EMPATHY_STEPS = ["情绪承接", "责任表态", "行动承诺"];

/** Caller emotions (assist/protocol/enums.py `Emotion`): the negative ones are coloured. */
export const EMOTIONS = ["愤怒", "焦虑", "失望", "绝望", "平静", "满意"];
export const NEGATIVE_EMOTIONS = new Set(["愤怒", "焦虑", "失望", "绝望"]);

/**
 * Severity of a caller emotion for colouring: "high" | "medium" | "low" | "calm".
 * Negative labels scale with intensity; any other label (平静, 满意) is "calm".
 */
export function emotionLevel(label, intensity) {
  if (!NEGATIVE_EMOTIONS.has(label)) return "calm";
  const x = Number(intensity) || 0;
  if (x >= 0.7) return "high";
  if (x >= 0.4) return "medium";
  return "low";
}

/** An emotion as the pages write it: a negative one with its intensity (愤怒 80%), 平静/满意 alone (trial 6, L9). */
export function emotionText(label, intensity) {
  return NEGATIVE_EMOTIONS.has(label) ? `${label} ${fmtPercent(intensity)}` : String(label);
}

/** Short reasons of critical alerts, matched in the alert's message (the server's full reason). */
// Every crisis kind has its tag (trial 3: the 12356 despair and the model's "其他危险" showed only 危机信号 and a
// bare 危急): the rules' reasons (emotion.toml [[critical]], referrals.toml critical_reason) and the model's
// "可能有{kind}风险(模型判断)" for each kind of referrals.toml [crisis_kinds]. First match wins.
const CRITICAL_TAGS = [
  [/扬言|持刀/, "扬言伤人"],
  [/轻生|自伤|自杀|不想活/, "轻生/自伤"],
  [/绝望|走投无路|撑不下去|心理援助/, "绝望/心理危机"],
  [/家暴|家庭暴力/, "家庭暴力"],
  [/暴力|伤害威胁|人身安全/, "暴力/人身安全"], // (trial 11: the overlay said 暴力, the pin 人身安全)
  [/坠落|高处/, "高处坠落"],
  [/火情、燃气泄漏、被困或落水/, "火情/险情"], // 119's generic reason, before the specific ones
  [/被困|围困|落水|水淹/, "被困/落水"],
  [/燃气|煤气/, "燃气泄漏"],
  [/火/, "火情"],
  [/急症|重伤|摔倒|跌倒|急救/, "急症/受伤"],
  [/走失/, "有人走失"],
  [/其他危险|生命安全|危险/, "其他危险"],
];

/** "轻生/自伤", "火情/险情"… for a critical alert's message; "" when no tag fits. */
export function criticalTag(message) {
  const text = String(message || "");
  for (const [pattern, tag] of CRITICAL_TAGS) if (pattern.test(text)) return tag;
  return "";
}

/** The crisis checklist on the overlay's critical banner (ticks are the operator's own, on this page). */
export const CRISIS_STEPS = [
  "稳住来电人:请对方不要挂断,告诉对方您一直在",
  "问清所在位置和回拨电话",
  "三方转接 {number},说明情况",
  "对方接通、交接完成后再离开",
];

/**
 * An ended crisis call's numbers split into those the operator told the caller and those not (the
 * supervisor's pins and the operator's follow-up line read it the same way).
 */
export function handoff(numbers, told, owed) {
  const all = Array.isArray(numbers) ? numbers : [];
  const said = Array.isArray(told) ? told.filter((n) => all.includes(n)) : [];
  // owed: the server's list (a number of a kind where one is enough is excused once another was told: 被困 119 or
  // 110, as the training report counts it); a call stored before the server said: every number not told
  const untold = Array.isArray(owed) ? owed.filter((n) => all.includes(n) && !said.includes(n))
    : all.filter((n) => !said.includes(n));
  return { told: said, untold };
}
