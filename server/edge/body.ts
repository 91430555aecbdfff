import "server-only";
import { AtelierError, type Surface } from "../errors";

/*
 * Request bodies are read under a limit, before anything parses them: a declared Content-Length
 * over it is refused without reading a byte, and a body sent without one (chunked) is counted as
 * it streams in and cut off at the limit. The limit is in the 413's message.
 */

export function formatLimit(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

export function bodyTooLarge(surface: Surface, limit: number, what = "this request"): AtelierError {
  return new AtelierError(`too_large:${surface}`, `The request body is too large: the limit for ${what} is ${formatLimit(limit)}.`, {
    reason: "request_too_large",
    details: { limitBytes: limit },
  });
}

/** The declared Content-Length, or null when there is none (chunked) or it is not a number. */
export function declaredLength(req: Request): number | null {
  const raw = req.headers.get("content-length");
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  return Number(raw);
}

/** The body's bytes, at most `limit` of them; throws too_large (413) past that. */
export async function readBodyBytes(req: Request, limit: number, surface: Surface, what?: string): Promise<Uint8Array<ArrayBuffer>> {
  const declared = declaredLength(req);
  if (declared !== null && declared > limit) {
    await req.body?.cancel().catch(() => undefined);
    throw bodyTooLarge(surface, limit, what);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge(surface, limit, what);
    }
    parts.push(value);
  }
  if (parts.length === 1 && parts[0]!.buffer instanceof ArrayBuffer) return parts[0] as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The body parsed as JSON under `limit` bytes: 413 past the limit, 400 when it is not JSON. */
export async function readJsonBody(req: Request, limit: number, surface: Surface, what?: string): Promise<unknown> {
  const bytes = await readBodyBytes(req, limit, surface, what);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AtelierError(`bad_request:${surface}`, "The request body must be JSON.");
  }
}
