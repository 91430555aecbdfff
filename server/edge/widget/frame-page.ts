import "server-only";
import type { AtelierDb } from "../../db/client";
import { AtelierError } from "../../errors";
import { config, liveDeployment } from "./public";
import type { DeploymentRow } from "../schema";

/** Only the allowed sites may frame the chat; the page itself loads nothing but our own script. */
export function frameCsp(d: Pick<DeploymentRow, "allowedOrigins" | "anyOrigin">): string {
  const ancestors = d.anyOrigin ? "*" : d.allowedOrigins.length ? d.allowedOrigins.join(" ") : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors}`,
  ].join("; ");
}

const STYLE = `*{box-sizing:border-box}html,body{margin:0;height:100%;font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#18181b;background:#fff}
body{display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--c);color:#fff}
header .av{width:28px;height:28px;border-radius:50%;background:rgba(255,255,255,.2);display:flex;align-items:center;justify-content:center}
header h1{flex:1;margin:0;font-size:15px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
header button{background:none;border:0;color:#fff;font-size:20px;cursor:pointer;width:32px;height:32px;border-radius:6px}
button:focus-visible,textarea:focus-visible{outline:2px solid #111;outline-offset:2px}
#log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.m{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.m.user{align-self:flex-end;background:var(--c);color:#fff}
.m.assistant{align-self:flex-start;background:#f4f4f5}
.cites{margin:6px 0 0;padding-left:18px;font-size:12px;color:#52525b}
.fb{display:flex;gap:4px;margin-top:4px}.fb button{border:1px solid #e4e4e7;background:#fff;border-radius:6px;cursor:pointer;padding:1px 6px}
.fb button[aria-pressed=true]{border-color:var(--c);background:#eef}
.notice{align-self:stretch;padding:8px 11px;border-radius:10px;background:#fef3c7;color:#78350f}
#starters{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}#starters[hidden]{display:none}
.starter{border:1px solid var(--c);color:#18181b;background:#fff;border-radius:999px;padding:4px 10px;cursor:pointer;font:inherit}
form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e4e4e7}
textarea{flex:1;resize:none;height:40px;max-height:120px;padding:9px 10px;border:1px solid #d4d4d8;border-radius:10px;font:inherit}
#send{background:var(--c);color:#fff;border:0;border-radius:10px;padding:0 14px;font:inherit;font-weight:600;cursor:pointer}
#send:disabled{opacity:.5;cursor:default}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside a <script type="application/json"> block: "<" escaped so no text can close the tag. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");

function page(title: string, bodyHtml: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${bodyHtml}</body></html>`;
}

const HTML_HEADERS = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };

/** GET /w/PUBLIC_ID: the chat page the launcher frames. */
export async function framePage(publicId: string, database: () => Promise<AtelierDb>): Promise<Response> {
  const db = await database();
  let target;
  try {
    target = liveDeployment(db, publicId);
  } catch (err) {
    const message = err instanceof AtelierError && err.surface === "widget" ? err.message : "This chat is not available.";
    return new Response(page("Chat unavailable", `<p style="padding:16px">${escapeHtml(message)}</p>`), {
      status: 404,
      headers: { ...HTML_HEADERS, "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *" },
    });
  }
  const { deployment, assistant } = target;
  const cfg = { ...config({ deployment, assistant, origin: "" }), publicId: deployment.publicId };
  const body = `<script type="application/json" id="atelier-config">${scriptJson(cfg)}</script>
<header><span class="av" aria-hidden="true">${escapeHtml(cfg.avatar ?? "💬")}</span><h1>${escapeHtml(cfg.title)}</h1><button id="close" type="button" aria-label="Close chat">×</button></header>
<main id="log" role="log" aria-live="polite" aria-label="Conversation"></main>
<div id="starters" role="group" aria-label="Suggested questions"></div>
<form id="composer"><label class="sr" for="input">Message</label><textarea id="input" rows="1" placeholder="Type your message…" autocomplete="off"></textarea><button id="send" type="submit">Send</button></form>
<script src="/widget-frame.js" defer></script>`;
  return new Response(page(cfg.title, body), { status: 200, headers: { ...HTML_HEADERS, "content-security-policy": frameCsp(deployment) } });
}
