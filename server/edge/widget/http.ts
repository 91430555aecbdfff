import "server-only";
import type { AtelierDb } from "../../db/client";
import { env } from "../../env";
import { AtelierError, publicError } from "../../errors";
import { readJsonBody } from "../body";
import { clientIp } from "../client-ip";
import { originAllowed, parseRequestOrigin } from "../origins";
import {
  admit,
  chatBody,
  config,
  feedbackBody,
  history,
  historyBody,
  liveDeployment,
  parseBody,
  setFeedback,
  startChat,
  type WidgetEvent,
} from "./public";

/** Header the iframe page (served by Atelier itself) uses to say which site embeds it. */
export const EMBED_ORIGIN_HEADER = "x-atelier-embed-origin";

/** The host this server answers as (behind a proxy: the forwarded host). */
export function selfHost(req: Request): string {
  return req.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || req.headers.get("host") || new URL(req.url).host;
}

/**
 * The embedding site's origin. A browser always sends Origin on these POSTs and on cross-origin
 * GETs. When the request comes from Atelier's own iframe page (Origin = this host), the page states
 * the embedding site in a header; the browser only lets allowed sites frame that page
 * (Content-Security-Policy frame-ancestors), so a page on another site cannot get there.
 */
export function siteOrigin(req: Request): { site: string | null; direct: boolean } {
  const origin = parseRequestOrigin(req.headers.get("origin"));
  if (!origin) return { site: null, direct: false };
  if (new URL(origin).host === selfHost(req)) return { site: parseRequestOrigin(req.headers.get(EMBED_ORIGIN_HEADER)), direct: false };
  return { site: origin, direct: true };
}

const BASE_HEADERS = { "cache-control": "no-store, no-transform", "x-content-type-options": "nosniff" };

/** CORS for direct calls from an allowed site (the launcher's config fetch, custom integrations). */
function corsHeaders(req: Request, allowed: boolean): Record<string, string> {
  const origin = req.headers.get("origin");
  if (!allowed || !origin) return {};
  return { "access-control-allow-origin": origin, vary: "Origin" };
}

export function widgetJson(body: unknown, status: number, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...BASE_HEADERS, "content-type": "application/json; charset=utf-8", ...extra } });
}

/**
 * The widget's error body is `{ error: sentence }`, the sentence shown to the visitor. Only the
 * widget's own refusals (surface "widget") are shown as they are; anything else is logged and
 * answered with a generic sentence, so no console detail reaches a third-party page.
 */
function errorResponse(req: Request, err: unknown, allowedCors: boolean): Response {
  if (err instanceof AtelierError && err.surface === "widget") {
    const extra: Record<string, string> = { ...corsHeaders(req, allowedCors) };
    if (err.retryAfterSec) extra["retry-after"] = String(err.retryAfterSec);
    return widgetJson({ error: err.message }, err.httpStatus, extra);
  }
  const reported = publicError(err, "widget");
  if (reported === err) console.error("[widget] request failed:", err);
  return widgetJson({ error: "Something went wrong. Please try again later.", requestId: reported.details?.requestId ?? null }, 500, corsHeaders(req, allowedCors));
}

/** NDJSON: one JSON event per line, flushed as the answer grows. */
function ndjson(events: AsyncGenerator<WidgetEvent>, headers: Record<string, string>): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await events.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
    },
    async cancel() {
      await events.return(undefined);
    },
  });
  return new Response(stream, { status: 200, headers: { ...BASE_HEADERS, "content-type": "application/x-ndjson; charset=utf-8", ...headers } });
}

const ACTIONS = new Set(["config", "chat", "history", "feedback"]);

/** A visitor's request body: the longest allowed message, JSON-escaped, and the ids around it. */
export const widgetBodyLimit = () => env().ATELIER_WIDGET_MAX_MESSAGE_CHARS * 6 + 8 * 1024;

/** `database` is the process's bootstrapped database (the route handler passes `ready`). */
export async function handleWidget(req: Request, publicId: string, action: string, database: () => Promise<AtelierDb>): Promise<Response> {
  const { site, direct } = siteOrigin(req);
  let corsOk = false;
  try {
    if (!ACTIONS.has(action)) throw new AtelierError("not_found:widget", "Unknown widget endpoint.");
    const db = await database();
    if (req.method === "OPTIONS") return preflight(db, req, publicId);
    const target = admit(db, publicId, site, clientIp(req), { count: req.method !== "GET" && req.method !== "HEAD" });
    corsOk = direct;
    const cors = corsHeaders(req, corsOk);
    if (action === "config") {
      if (req.method !== "GET") throw new AtelierError("method_not_allowed:widget", "Use GET.");
      return widgetJson(config(target), 200, cors);
    }
    if (req.method !== "POST") throw new AtelierError("method_not_allowed:widget", "Use POST.");
    const body = await readJsonBody(req, widgetBodyLimit(), "widget", "a chat message");
    if (action === "history") return widgetJson(history(db, target, parseBody(historyBody, body)), 200, cors);
    if (action === "feedback") return widgetJson(setFeedback(db, target, parseBody(feedbackBody, body)), 200, cors);
    return ndjson(startChat(db, target, parseBody(chatBody, body), req.signal), cors);
  } catch (err) {
    return errorResponse(req, err, corsOk || (direct && err instanceof AtelierError && err.type === "rate_limit"));
  }
}

function preflight(db: AtelierDb, req: Request, publicId: string): Response {
  const { site, direct } = siteOrigin(req);
  try {
    const { deployment } = liveDeployment(db, publicId);
    if (!direct || !site || !originAllowed(deployment, site)) return new Response(null, { status: 403, headers: BASE_HEADERS });
  } catch {
    return new Response(null, { status: 404, headers: BASE_HEADERS });
  }
  return new Response(null, {
    status: 204,
    headers: {
      ...BASE_HEADERS,
      ...corsHeaders(req, true),
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "600",
    },
  });
}
