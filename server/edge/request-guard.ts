import diagnostics from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";

// No "server-only" and no config: instrumentation.ts loads this before anything else.

/*
 * Requests Next.js itself answers with a bare 500: a path that is not valid percent-encoding
 * ("/v1/%", "/w/%E0%A4%A": Next's router throws decoding it and then fails to render its 400
 * page), and a method other than GET/HEAD on a static file ("POST /widget.js"). Such requests are
 * sent, before Next sees them, to one route (app/api/bad-request) that answers 400 or 405 with a
 * JSON body, so a malformed request can never look like a server failure.
 */

export const BAD_REQUEST_ROUTE = "/api/bad-request";

/** A path that is a file Next serves (public/, /_next/static): it has an extension, outside the API. */
const STATIC_FILE = /^\/(?!api\/|v1\/|w\/)(?:[^?#]*\/)?[^/?#]+\.[A-Za-z0-9]{1,8}$/;

/** Where a request with this method and URL should go instead, or null to leave it alone. */
export function redirectFor(method: string | undefined, url: string | undefined): string | null {
  const raw = url ?? "/";
  const q = raw.indexOf("?");
  const pathname = q < 0 ? raw : raw.slice(0, q);
  try {
    decodeURIComponent(pathname);
  } catch {
    return `${BAD_REQUEST_ROUTE}?reason=encoding`;
  }
  if (method !== "GET" && method !== "HEAD" && STATIC_FILE.test(pathname)) return `${BAD_REQUEST_ROUTE}?reason=method`;
  return null;
}

const SUBSCRIBED = Symbol.for("atelier.requestGuard");
const g = globalThis as unknown as { [SUBSCRIBED]?: boolean };

/** Once per process (instrumentation.ts): rewrites the URL of such requests before Next routes them. */
export function guardRequests(): void {
  if (g[SUBSCRIBED]) return;
  g[SUBSCRIBED] = true;
  diagnostics.subscribe("http.server.request.start", (message) => {
    const { request } = message as { request: IncomingMessage };
    const to = redirectFor(request.method, request.url);
    if (to) request.url = to;
  });
}
