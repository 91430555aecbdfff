import { CSRF_HEADER, hasRole, readCookie, SESSION_COOKIE, sessionFromToken, type Session } from "@/server/auth";
import { ready } from "@/server/bootstrap";
import type { AtelierDb } from "@/server/db/client";
import { AtelierError, errorResponse } from "@/server/errors";

// The model-upload routes' one gate: the session cookie, the admin role (models are admin's), and
// the CSRF header on every request that writes. Same rules as a tRPC admin mutation.

export async function adminRequest(req: Request, opts: { write: boolean }): Promise<{ db: AtelierDb; session: Session }> {
  const db = await ready();
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  if (!session) throw new AtelierError("unauthorized:auth", "Sign in to continue (your session may have expired).");
  if (!hasRole(session.user.role, "admin")) throw new AtelierError("forbidden:auth", `Uploading models needs the admin role; you are ${session.user.role}.`);
  if (opts.write && req.headers.get(CSRF_HEADER) !== session.csrfToken) throw new AtelierError("forbidden:auth", "Missing or invalid CSRF token; reload the page and try again.");
  return { db, session };
}

/** Runs a handler and renders any error once (errorResponse). */
export async function handle(fn: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json(await fn(), { headers: { "cache-control": "no-store" } });
  } catch (err) {
    return errorResponse(err, "[model upload]");
  }
}

/** A JSON body, bounded before it is parsed. */
export async function jsonBody(req: Request, maxBytes = 16 * 1024): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new AtelierError("too_large:model", `The request body is over ${maxBytes} bytes.`);
  const text = await req.text();
  if (text.length > maxBytes) throw new AtelierError("too_large:model", `The request body is over ${maxBytes} bytes.`);
  try {
    return JSON.parse(text);
  } catch {
    throw new AtelierError("bad_request:model", "Expected a JSON body.");
  }
}
