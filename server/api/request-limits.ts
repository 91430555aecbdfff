import "server-only";
import { TRPCError } from "@trpc/server";
import { readCookie, SESSION_COOKIE, sessionFromToken } from "../auth";
import type { AtelierDb } from "../db/client";
import { bodyTooLarge, completionBodyLimit, readBodyBytes } from "../edge";
import { env } from "../env";
import type { AtelierError } from "../errors";
import { maxUploadBytes } from "../knowledge";

/*
 * tRPC request bodies are read here, under a limit, before tRPC parses them. Anonymous callers
 * (no live session) get the smallest limit, checked first: sign-in and setup need a few hundred
 * bytes. Signed-in callers get room for the largest message set a procedure accepts ("Try it",
 * ATELIER_MAX_REQUEST_CHARS), and file uploads (base64) for ATELIER_KNOWLEDGE_MAX_FILE_MB.
 */

export const ANONYMOUS_BODY_LIMIT = 64 * 1024;

/** Procedures whose input carries a whole file, base64-encoded. */
const FILE_PROCEDURES = new Set(["knowledge.upload", "knowledge.preview"]);

export function signedInBodyLimit(): number {
  return Math.max(2 * 1024 * 1024, completionBodyLimit(env().ATELIER_MAX_REQUEST_CHARS));
}

export function fileBodyLimit(): number {
  return Math.ceil(maxUploadBytes() / 3) * 4 + 64 * 1024;
}

/** The procedures a tRPC URL calls ("/api/trpc/a.b,c.d?batch=1"). */
export function proceduresOf(url: string): string[] {
  const { pathname } = new URL(url);
  const tail = pathname.replace(/^.*\/api\/trpc\/?/, "");
  return decodeURIComponent(tail).split(",").filter(Boolean);
}

function limitFor(signedIn: boolean, procedures: string[]): { bytes: number; what: string } {
  if (!signedIn) return { bytes: ANONYMOUS_BODY_LIMIT, what: "requests without a session" };
  if (procedures.some((p) => FILE_PROCEDURES.has(p))) return { bytes: fileBodyLimit(), what: "a file upload (ATELIER_KNOWLEDGE_MAX_FILE_MB, base64)" };
  return { bytes: signedInBodyLimit(), what: "console requests" };
}

/** Requests whose body was over its limit, with the error their tRPC calls answer (createContext throws it). */
const refused = new WeakMap<Request, AtelierError>();

export function refusedBody(req: Request): TRPCError | null {
  const err = refused.get(req);
  return err ? new TRPCError({ code: err.trpcCode, message: err.message, cause: err }) : null;
}

/**
 * The request with its body read under the caller's limit, ready for tRPC. A body over the limit
 * is not read further: the request goes on with an empty body, and createContext answers every
 * call in it with the 413 (so batched and single calls get tRPC's usual error shape).
 */
export async function boundedTrpcRequest(req: Request, db: AtelierDb): Promise<Request> {
  if (req.method !== "POST" && req.method !== "PUT" && req.method !== "PATCH") return req;
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  const limit = limitFor(session !== null, proceduresOf(req.url));
  const headers = new Headers(req.headers);
  headers.delete("content-length");
  try {
    const bytes = await readBodyBytes(req, limit.bytes, "server", limit.what);
    return new Request(req.url, { method: req.method, headers, body: bytes, signal: req.signal });
  } catch (err) {
    const tooLarge = (err as AtelierError).type === "too_large" ? (err as AtelierError) : bodyTooLarge("server", limit.bytes, limit.what);
    const empty = new Request(req.url, { method: req.method, headers, body: "{}", signal: req.signal });
    refused.set(empty, tooLarge);
    return empty;
  }
}
