import { randomBytes } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

// No "server-only" and no config: instrumentation.ts loads this before anything else.

/*
 * The socket's peer address, carried from Node's HTTP server to route handlers. A route handler's
 * Request does not carry the socket, and `next start` (Next 16) copies the peer into
 * X-Forwarded-For only when the client sent none (base-server.js: `x-forwarded-for ??=`), so that
 * header cannot tell a forged value from a real one. instrumentation.ts therefore subscribes to
 * Node's "http.server.request.start" diagnostics channel, which fires for every request before
 * Next sees it, and stamps the peer into PEER_HEADER, replacing anything a client sent. The stamp
 * carries a random per-process token, so were the subscriber ever missing, a header made by a
 * client is still refused (the address is then unknown: such clients share one rate-limit bucket,
 * they never get one each).
 */

export const PEER_HEADER = "x-atelier-peer";

/** Shared through globalThis: instrumentation.ts and the route handlers are separate bundles. */
const TOKEN = Symbol.for("atelier.peerToken");
const g = globalThis as unknown as { [TOKEN]?: string };
const peerToken = () => (g[TOKEN] ??= randomBytes(18).toString("base64url"));

/** The PEER_HEADER value for a socket's remote address (set by the server, never the client). */
export function peerStamp(remoteAddress: string | undefined): string {
  return `${peerToken()} ${remoteAddress ?? ""}`;
}

/** The socket's remote address stamped on this request, or null when there is no valid stamp. */
export function peerAddress(headers: Headers): string | null {
  const stamp = headers.get(PEER_HEADER);
  if (!stamp) return null;
  const space = stamp.indexOf(" ");
  if (space < 0 || stamp.slice(0, space) !== peerToken()) return null;
  return normalizeAddress(stamp.slice(space + 1));
}

/** "::ffff:10.0.0.1" → "10.0.0.1", "[::1]" → "::1", "1.2.3.4:5678" → "1.2.3.4"; null when not an IP. */
export function normalizeAddress(raw: string): string | null {
  let a = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1]!;
  return isIP(a) ? a.toLowerCase() : null;
}


const SUBSCRIBED = Symbol.for("atelier.peerStamping");
const gs = globalThis as unknown as { [SUBSCRIBED]?: boolean };

/**
 * Stamps every incoming HTTP request of this process with its socket's peer (once per process;
 * instrumentation.ts calls it when the server starts). The channel publishes before the server
 * emits "request", so Next and every route handler see the stamp.
 */
export function stampPeersOnRequests(): void {
  if (gs[SUBSCRIBED]) return;
  gs[SUBSCRIBED] = true;
  diagnostics.subscribe("http.server.request.start", (message) => {
    const { request } = message as { request: IncomingMessage };
    request.headers[PEER_HEADER] = peerStamp(request.socket?.remoteAddress);
  });
}
