// public/widget.js: the snippet a site pastes. A launcher button in a shadow root (host CSS
// cannot reach it, its CSS cannot leak out) that opens the chat in an iframe served by Atelier.
// No dependencies; keep it small (a test holds it to 8 KB gzipped).
import { SIZES, type EmbedConfig, type ToFrame, type ToLauncher } from "./protocol";

type Api = { open(): void; close(): void; send(text: string): void; identify(token: string | null): void };

(() => {
  const w = window as unknown as { Atelier?: Api };
  if (w.Atelier) return;
  const script = (document.currentScript ?? document.querySelector("script[data-assistant]")) as HTMLScriptElement | null;
  const publicId = script?.dataset.assistant;
  if (!script || !publicId) return console.warn("[atelier] widget.js needs data-assistant");
  const base = new URL(script.src).origin;
  let identity = script.dataset.identity || null;

  const key = `atelier:${publicId}`;
  type Saved = { v?: string; c?: string | null; open?: boolean };
  const load = (): Saved => {
    try {
      return JSON.parse(localStorage.getItem(key) || "{}") as Saved;
    } catch {
      return {};
    }
  };
  const saved = load();
  const save = () => {
    try {
      localStorage.setItem(key, JSON.stringify(saved));
    } catch {
      /* storage blocked: the conversation lasts for this page only */
    }
  };
  if (!saved.v) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    saved.v = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    save();
  }

  let frame: HTMLIFrameElement | null = null;
  let ready = false;
  const queue: ToFrame[] = [];
  let isOpen = false;
  let button: HTMLButtonElement;
  let panel: HTMLDivElement;
  let configured = false;
  let pendingOpen = false;

  let title = "";
  let glyph = "";
  const setButton = (open: boolean) => {
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", `${open ? "Close" : "Open"} chat: ${title}`);
    button.textContent = open ? "×" : glyph;
  };

  const post = (msg: ToFrame) => {
    if (ready && frame?.contentWindow) frame.contentWindow.postMessage(msg, base);
    else queue.push(msg);
  };

  const api: Api = {
    open() {
      if (!configured) {
        pendingOpen = true;
        return;
      }
      if (!frame) {
        frame = document.createElement("iframe");
        frame.src = `${base}/w/${encodeURIComponent(publicId)}`;
        frame.title = button.title;
        frame.setAttribute("allow", "clipboard-write");
        panel.appendChild(frame);
      }
      isOpen = saved.open = true;
      save();
      panel.hidden = false;
      setButton(true);
      frame.contentWindow?.focus();
      post({ type: "focus" });
    },
    close() {
      if (!isOpen) return;
      isOpen = saved.open = false;
      save();
      panel.hidden = true;
      setButton(false);
      button.focus();
    },
    send(text) {
      api.open();
      post({ type: "send", text: String(text) });
    },
    identify(token) {
      identity = token || null;
      post({ type: "identify", token: identity });
    },
  };
  w.Atelier = api;

  window.addEventListener("message", (e: MessageEvent<ToLauncher>) => {
    // Only our own iframe, served from Atelier's origin, may talk to the launcher.
    if (!frame || e.source !== frame.contentWindow || e.origin !== base) return;
    const msg = e.data;
    if (msg?.type === "ready") {
      ready = true;
      frame.contentWindow!.postMessage({ type: "init", visitorId: saved.v!, conversationId: saved.c ?? null, identity } satisfies ToFrame, base);
      for (const m of queue.splice(0)) frame.contentWindow!.postMessage(m, base);
    } else if (msg?.type === "conversation") {
      saved.c = msg.id;
      save();
    } else if (msg?.type === "close") api.close();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && isOpen) api.close();
  });

  fetch(`${base}/api/widget/${encodeURIComponent(publicId)}/config`)
    .then(async (res) => {
      const body = (await res.json()) as EmbedConfig & { error?: string };
      if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
      mount(body);
    })
    .catch((err: Error) => console.warn(`[atelier] chat widget unavailable: ${err.message}`));

  function mount(cfg: EmbedConfig) {
    const host = document.createElement("div");
    host.setAttribute("data-atelier-widget", publicId!);
    const root = host.attachShadow({ mode: "open" });
    const [width, height] = SIZES[cfg.size] ?? SIZES.medium;
    const side = cfg.position === "left" ? "left" : "right";
    const style = document.createElement("style");
    style.textContent = `:host{all:initial}
.b{position:fixed;bottom:20px;${side}:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;background:var(--c);color:#fff;font:600 22px/1 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.b:focus-visible{outline:3px solid #111;outline-offset:3px}
.p{position:fixed;bottom:88px;${side}:20px;z-index:2147483001;width:${width}px;height:${height}px;max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.3);background:#fff}
.p[hidden]{display:none}
iframe{border:0;width:100%;height:100%;display:block}
@media (max-width:640px){.p{inset:0;width:auto;height:auto;max-height:none;border-radius:0}}`;
    button = document.createElement("button");
    button.className = "b";
    button.type = "button";
    button.title = cfg.title;
    button.setAttribute("aria-haspopup", "dialog");
    title = cfg.title;
    glyph = cfg.avatar || "💬";
    setButton(false);
    button.style.setProperty("--c", cfg.color);
    button.onclick = () => (isOpen ? api.close() : api.open());
    panel = document.createElement("div");
    panel.className = "p";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", cfg.title);
    root.append(style, panel, button);
    document.body.appendChild(host);
    configured = true;
    if (pendingOpen || cfg.openOnLoad || saved.open) api.open();
  }
})();
