// The one websocket client used by every page: connect to /ws/subscribe, send the
// subscription, hand each JSON event to the page, reconnect with backoff when the
// connection drops and re-subscribe. Also builds URLs carrying the page's auth ticket.

/** Reconnect delays (ms): 1, 2, 4, 8 s, then 10 s for every further attempt. */
export const BACKOFF_MS = [1000, 2000, 4000, 8000, 10000];

/** Error codes after which retrying cannot help (issue 6 auth). */
const GIVE_UP_CODES = new Set(["unauthorized", "forbidden"]);

/** The page's query parameters. */
export function pageParams() {
  return new URLSearchParams(window.location.search);
}

/** The auth ticket of this page (`?ticket=…`), or null. */
export function pageTicket() {
  const t = pageParams().get("ticket");
  return t ? t : null;
}

/** A page `path` (absolute, may have a query) keeping this page's ticket, for links between pages. */
export function withTicket(path) {
  const url = new URL(path, window.location.origin);
  const ticket = pageTicket();
  if (ticket) url.searchParams.set("ticket", ticket);
  return url.pathname + url.search;
}

/** ws(s)://<same host>/ws/subscribe[?ticket=…] */
export function subscribeUrl(ticket = pageTicket()) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const url = new URL(`${scheme}//${window.location.host}/ws/subscribe`);
  if (ticket) url.searchParams.set("ticket", ticket);
  return url.toString();
}

// The newest ticket this page holds: the page's own, then each one the server renews on a subscription.
let latestTicket = null;

/** The ticket to send with API requests (the server checks it without using it up). */
export function currentTicket() {
  return latestTicket || pageTicket();
}

/**
 * GET a same-origin JSON API path, with the page's current ticket when it has one.
 * Throws Error (with .status) and a Chinese message on failure.
 */
export async function getJson(path) {
  let resp;
  const url = new URL(path, window.location.origin);
  const ticket = currentTicket();
  if (ticket) url.searchParams.set("ticket", ticket);
  try {
    resp = await fetch(url.pathname + url.search, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch {
    throw new Error("无法连接服务器");
  }
  if (!resp.ok) {
    let detail = "";
    try {
      const body = await resp.json();
      // {"error": code, "message": text} or {"error": {"code": code, "message": text}}
      const inner = body && typeof body.error === "object" && body.error !== null ? body.error : {};
      const text = body ? body.message || inner.message || inner.code || body.error : "";
      detail = text && typeof text === "string" ? `:${text}` : "";
    } catch {
      /* not JSON */
    }
    const err = new Error(`请求失败(HTTP ${resp.status})${detail}`);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

/**
 * A self-healing subscription.
 *
 * The first connection uses the page's `?ticket=`. If the server sends
 * `{"type":"ticket","ticket":T}` (a renewed ticket, for servers whose tickets are single use),
 * later connections use T instead.
 *
 *   const sock = new AssistSocket({
 *     subscription: { agent_id: "A01" },       // or { call_id }, or { all: true }
 *     onEvent: (ev) => …,                       // every server event (object with a string `type`)
 *     onStatus: (st) => …,                      // { state, attempt, retryAt, error }
 *   });
 *   sock.start();
 *
 * states: "connecting" → "open" (after `subscribed`) → "retrying" (waiting retryAt, ms epoch)
 * → "connecting" …; "stopped" after an auth error or stop().
 */
export class AssistSocket {
  constructor({ subscription, onEvent, onStatus = () => {}, ticket = pageTicket(), backoff = BACKOFF_MS }) {
    this.subscription = subscription;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.ticket = ticket;
    this.backoff = backoff;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.lastError = null;
    this._onOnline = () => {
      if (this.timer !== null) this._connectNow();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this._onOnline);
    this._connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) this.ws.close(1000);
    this._status("stopped");
  }

  /** Send a message object; false when not connected. */
  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  _status(state, extra = {}) {
    this.onStatus({ state, attempt: this.attempt, error: this.lastError, ...extra });
  }

  _connectNow() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    this._status("connecting");
    let ws;
    try {
      ws = new WebSocket(subscribeUrl(this.ticket));
    } catch (exc) {
      this.lastError = { code: "bad_url", message: String(exc) };
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "subscribe", ...this.subscription }));
    };
    ws.onmessage = (msg) => {
      if (typeof msg.data !== "string") return;
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        console.warn("assist-ws: ignoring a message that is not JSON");
        return;
      }
      if (!ev || typeof ev.type !== "string") return;
      if (ev.type === "subscribed") {
        this.attempt = 0;
        this.lastError = null;
        this._status("open");
      } else if (ev.type === "ticket") {
        if (typeof ev.ticket === "string" && ev.ticket) {
          this.ticket = ev.ticket;
          latestTicket = ev.ticket;
        }
        return;
      } else if (ev.type === "error") {
        this.lastError = { code: ev.code, message: ev.message };
        if (GIVE_UP_CODES.has(ev.code)) {
          this.stopped = true; // a new connection with the same ticket cannot do better
          ws.close(1000);
        }
      }
      try {
        this.onEvent(ev);
      } catch (exc) {
        console.error("assist-ws: page failed to handle event", ev.type, exc);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) {
        this._status("stopped");
        return;
      }
      this._scheduleRetry();
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  _scheduleRetry() {
    const delay = this.backoff[Math.min(this.attempt, this.backoff.length - 1)];
    this.attempt += 1;
    const retryAt = Date.now() + delay;
    this._status("retrying", { retryAt });
    this.timer = setTimeout(() => this._connectNow(), delay);
  }
}

/**
 * Show the socket state in `node` (data-state = connecting | open | retrying | stopped).
 * Returns the onStatus callback for AssistSocket.
 */
export function statusRenderer(node) {
  let countdown = null;
  return (st) => {
    clearInterval(countdown);
    countdown = null;
    node.dataset.state = st.state;
    node.replaceChildren();
    const main = document.createElement("span");
    main.className = "status-text";
    const extra = document.createElement("span");
    extra.className = "status-extra";
    node.append(main, extra);
    if (st.state === "open") {
      main.textContent = "已连接";
    } else if (st.state === "connecting") {
      main.textContent = st.attempt ? "连接已断开,正在重连…" : "正在连接…";
    } else if (st.state === "retrying") {
      main.textContent = "连接已断开,正在重连…";
      const show = () => {
        const secs = Math.max(0, Math.ceil((st.retryAt - Date.now()) / 1000));
        extra.textContent = `${secs} 秒后重试`;
      };
      show();
      countdown = setInterval(show, 500);
    } else {
      const auth = st.error && GIVE_UP_CODES.has(st.error.code);
      main.textContent = auth ? "未授权,请重新登录后打开本页" : "连接已停止";
      if (st.error && st.error.message) extra.textContent = st.error.message;
    }
  };
}
