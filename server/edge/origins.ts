import "server-only";
import { AtelierError } from "../errors";

/**
 * An allowed origin is exactly scheme://host[:port] (what browsers send in Origin): no path,
 * query, credentials or wildcard. Returns the canonical form (lower-case host, default port dropped).
 */
export function normalizeOrigin(input: string): string {
  const raw = input.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AtelierError("bad_request:deploy", `"${raw}" is not an origin; write it as https://example.com (scheme, host and optional port).`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new AtelierError("bad_request:deploy", `"${raw}": only http and https origins can embed the widget.`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new AtelierError("bad_request:deploy", `"${raw}" has more than an origin; keep only scheme://host[:port].`);
  }
  if (raw.includes("*")) throw new AtelierError("bad_request:deploy", `"${raw}": wildcards are not supported; list each origin, or choose "any origin".`);
  return url.origin;
}

/** The origin as browsers send it, or null when the header is not a plain http(s) origin. */
export function parseRequestOrigin(header: string | null): string | null {
  if (!header || header === "null") return null;
  try {
    const url = new URL(header);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    return url.origin;
  } catch {
    return null;
  }
}

export function originAllowed(d: { allowedOrigins: string[]; anyOrigin: boolean }, origin: string): boolean {
  return d.anyOrigin || d.allowedOrigins.includes(origin);
}
