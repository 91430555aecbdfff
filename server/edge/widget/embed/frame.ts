// public/widget-frame.js: the chat inside the iframe at /w/PUBLIC_ID (served by Atelier, so it
// talks to the public endpoints same-origin). Everything from the model or the visitor is put in
// the DOM with textContent only, so no markup in an answer or a message can ever run.
import type { EmbedConfig, ToFrame, ToLauncher } from "./protocol";

type Citation = { n: number; documentTitle: string; heading: string | null; excerpt: string };
type Msg = { id: string; role: "user" | "assistant"; content: string; status: string; citations: Citation[]; feedback: 1 | -1 | null };
type Event =
  | { type: "conversation"; conversationId: string }
  | { type: "user"; message: Msg }
  | { type: "start"; messageId: string }
  | { type: "token"; text: string }
  | { type: "done"; message: Msg }
  | { type: "error"; error: string };

const cfg = JSON.parse(document.getElementById("atelier-config")!.textContent!) as EmbedConfig & { publicId: string };
const api = (action: string) => `/api/widget/${encodeURIComponent(cfg.publicId)}/${action}`;
const $ = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
};

// The site that frames us. The browser only lets allowed sites frame this page (CSP frame-ancestors).
const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
let hostOrigin: string | null = ancestors?.[0] ?? (document.referrer ? new URL(document.referrer).origin : null);
let visitorId = "";
let conversationId: string | null = null;
let identity: string | null = null;
let busy = false;

document.documentElement.style.setProperty("--c", cfg.color);
const log = document.getElementById("log")!;
const form = document.getElementById("composer") as HTMLFormElement;
const input = document.getElementById("input") as HTMLTextAreaElement;
const sendBtn = document.getElementById("send") as HTMLButtonElement;
const starters = document.getElementById("starters")!;

const tell = (msg: ToLauncher) => {
  if (window.parent !== window) window.parent.postMessage(msg, hostOrigin ?? "*");
};

const headers = () => ({ "content-type": "application/json", "x-atelier-embed-origin": hostOrigin ?? "" });
const body = (extra: Record<string, unknown>) => JSON.stringify({ visitorId, identity, conversationId, ...extra });

function scroll() {
  log.scrollTop = log.scrollHeight;
}

function notice(text: string) {
  const el = $("div", "notice", text);
  el.setAttribute("role", "alert");
  el.setAttribute("data-testid", "widget-notice");
  log.appendChild(el);
  scroll();
}

function bubble(m: Pick<Msg, "role" | "content">) {
  const el = $("div", `m ${m.role}`);
  el.setAttribute("data-role", m.role);
  const text = $("div", "t", m.content);
  el.appendChild(text);
  log.appendChild(el);
  scroll();
  return { el, text };
}

function finishAssistant(el: HTMLElement, m: Msg) {
  el.setAttribute("data-status", m.status);
  if (m.citations.length) {
    const list = $("ol", "cites");
    list.setAttribute("aria-label", "Sources");
    for (const c of m.citations) {
      const li = $("li", undefined, `[${c.n}] ${c.documentTitle}${c.heading ? ` — ${c.heading}` : ""}`);
      li.title = c.excerpt;
      list.appendChild(li);
    }
    el.appendChild(list);
  }
  if (m.status !== "complete") return;
  const bar = $("div", "fb");
  const make = (value: 1 | -1, label: string, glyph: string) => {
    const b = $("button", undefined, glyph);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.setAttribute("aria-pressed", String(m.feedback === value));
    b.onclick = async () => {
      const next = m.feedback === value ? null : value;
      const res = await fetch(api("feedback"), { method: "POST", headers: headers(), body: body({ messageId: m.id, value: next }) });
      if (!res.ok) return;
      m.feedback = next;
      for (const other of bar.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
      b.setAttribute("aria-pressed", String(next === value));
    };
    return b;
  };
  bar.append(make(1, "Helpful", "👍"), make(-1, "Not helpful", "👎"));
  el.appendChild(bar);
}

function render(messages: Msg[]) {
  log.textContent = "";
  if (cfg.greeting) bubble({ role: "assistant", content: cfg.greeting }).el.classList.add("greeting");
  for (const m of messages) {
    const { el } = bubble(m);
    if (m.role === "assistant") finishAssistant(el, m);
  }
  starters.hidden = messages.length > 0 || cfg.starterQuestions.length === 0;
}

async function errorText(res: Response) {
  try {
    return ((await res.json()) as { error?: string }).error ?? `Error ${res.status}`;
  } catch {
    return `Error ${res.status}`;
  }
}

async function loadHistory() {
  render([]);
  if (!conversationId) return;
  const res = await fetch(api("history"), { method: "POST", headers: headers(), body: body({}) });
  if (res.status === 404) {
    conversationId = null;
    tell({ type: "conversation", id: null });
    return;
  }
  if (!res.ok) return notice(await errorText(res));
  render(((await res.json()) as { messages: Msg[] }).messages);
}

function setBusy(on: boolean) {
  busy = on;
  sendBtn.disabled = on;
  log.setAttribute("aria-busy", String(on));
}

async function send(text: string) {
  if (busy || !visitorId || !text.trim()) return;
  starters.hidden = true;
  setBusy(true);
  const user = bubble({ role: "user", content: text });
  let answer: { el: HTMLElement; text: HTMLElement } | null = null;
  try {
    const res = await fetch(api("chat"), { method: "POST", headers: headers(), body: body({ content: text }) });
    if (!res.ok || !res.body) {
      user.el.remove();
      input.value = text;
      return notice(await errorText(res));
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buffer.slice(0, nl)) as Event;
        buffer = buffer.slice(nl + 1);
        if (ev.type === "conversation" && ev.conversationId !== conversationId) {
          conversationId = ev.conversationId;
          tell({ type: "conversation", id: conversationId });
        } else if (ev.type === "start") {
          answer = bubble({ role: "assistant", content: "" });
          answer.el.setAttribute("data-status", "streaming");
        } else if (ev.type === "token" && answer) {
          answer.text.textContent += ev.text;
          scroll();
        } else if (ev.type === "done" && answer) {
          answer.text.textContent = ev.message.content;
          finishAssistant(answer.el, ev.message);
        } else if (ev.type === "error") {
          answer?.el.setAttribute("data-status", "error");
          notice(ev.error);
        }
      }
    }
  } catch {
    notice("The connection was lost. Please try again.");
  } finally {
    setBusy(false);
    scroll();
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = input.value;
  if (!text.trim() || busy) return;
  input.value = "";
  void send(text);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
document.addEventListener("keydown", (e) => {
  // Closing only hides the panel; an answer being written keeps streaming in.
  if (e.key === "Escape") tell({ type: "close" });
});
document.getElementById("close")!.addEventListener("click", () => tell({ type: "close" }));
for (const q of cfg.starterQuestions) {
  const b = $("button", "starter", q);
  b.type = "button";
  b.onclick = () => void send(q);
  starters.appendChild(b);
}

window.addEventListener("message", (e: MessageEvent<ToFrame>) => {
  // Only the page that frames us; once its origin is known, only from that origin.
  if (e.source !== window.parent || (hostOrigin && e.origin !== hostOrigin)) return;
  hostOrigin = e.origin;
  const msg = e.data;
  if (msg?.type === "init") {
    visitorId = msg.visitorId;
    conversationId = msg.conversationId;
    identity = msg.identity;
    void loadHistory();
  } else if (msg?.type === "send") void send(msg.text);
  else if (msg?.type === "identify") {
    if (msg.token !== identity) {
      identity = msg.token;
      conversationId = null;
      tell({ type: "conversation", id: null });
      render([]);
    }
  } else if (msg?.type === "focus") input.focus();
});
render([]);
tell({ type: "ready" });
