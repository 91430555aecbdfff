import "server-only";
import { initTRPC, TRPCError } from "@trpc/server";
import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import { ZodError } from "zod";
import { CSRF_HEADER, hasRole, readCookie, SESSION_COOKIE, sessionFromToken, type Access, type Session } from "../auth";
import { ready } from "../bootstrap";
import type { AtelierDb } from "../db/client";
import { clientIp } from "../edge";
import { AtelierError, newRequestId, publicError, reportedRequestId } from "../errors";
import { refusedBody } from "./request-limits";

export type Context = {
  db: AtelierDb;
  session: Session | null;
  /** Where Set-Cookie and other response headers go; null for in-process callers. */
  resHeaders: Headers | null;
  /** False only for an HTTP request whose CSRF header does not match its session. */
  csrfOk: boolean;
  /** The client's address (clientIp: the socket, or past trusted proxies), for sign-in throttling; null in-process. */
  ip: string | null;
  /** The request's Origin header, if any. */
  origin: string | null;
};

export async function createContext(opts: FetchCreateContextFnOptions): Promise<Context> {
  const { req, resHeaders } = opts;
  const tooLarge = refusedBody(req);
  if (tooLarge) throw tooLarge;
  const db = await ready();
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  const sent = req.headers.get(CSRF_HEADER);
  return {
    db,
    session,
    resHeaders,
    csrfOk: !!session && !!sent && sent === session.csrfToken,
    ip: clientIp(req),
    origin: req.headers.get("origin"),
  };
}

/** Context for trusted in-process callers (tests, scripts): already authenticated, no CSRF. */
export function internalContext(db: AtelierDb, session: Session | null): Context {
  return { db, session, resHeaders: null, csrfOk: true, ip: null, origin: null };
}

export type Meta = { access: Access };

/**
 * Every error leaves a procedure as a TRPCError: an AtelierError keeps its message and gets the
 * tRPC code of its type (server/errors.ts, the one table); anything else is logged once with a
 * request id and becomes a 500 that says only "Internal error (request id …)".
 */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.cause instanceof AtelierError) return toTRPCError(err.cause);
    return err.code === "INTERNAL_SERVER_ERROR" ? toTRPCError(err.cause ?? new Error(err.message)) : err;
  }
  const e = publicError(err);
  return new TRPCError({ code: e.trpcCode, message: e.message, cause: e });
}

/** Wraps a streaming procedure so errors raised mid-stream map like any other. */
export async function* mapStreamErrors<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    throw toTRPCError(err);
  }
}

const t = initTRPC.context<Context>().meta<Meta>().create({
  errorFormatter({ shape, error, path }) {
    // The last guard: a 500 that did not pass toTRPCError (a failure in tRPC itself or before a
    // procedure ran) is logged here and its message replaced, so no internal detail leaves.
    let message = shape.message;
    let requestId = reportedRequestId(error.cause);
    if (error.code === "INTERNAL_SERVER_ERROR" && !requestId) {
      requestId = newRequestId();
      console.error(`[atelier] internal error, request id ${requestId} (trpc ${path ?? "?"}):`, error.cause ?? error);
      message = `Internal error (request id ${requestId}).`;
    }
    return {
      ...shape,
      message,
      data: {
        ...shape.data,
        requestId,
        stack: undefined,
        /** The AtelierError code ("type:surface"), when the error is one. */
        errorCode: error.cause instanceof AtelierError ? error.cause.errorCode : null,
        zodError: error.cause instanceof ZodError ? error.cause.issues.map((i) => `${i.path.join(".")}: ${i.message}`) : null,
      },
    };
  },
});

const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTRPCError(result.error);
  return result;
});

/**
 * Every procedure declares who may call it (its meta.access); this is checked before input is
 * parsed, so anonymous callers learn nothing about a procedure's input shape. A procedure without
 * a declared access level fails closed.
 */
const accessControl = t.middleware(async ({ ctx, meta, type, next }) => {
  const access = meta?.access;
  if (!access) throw new AtelierError("internal:server", "Procedure declares no access level.");
  if (access === "public") return next();
  const session = ctx.session;
  if (!session) throw new AtelierError("unauthorized:auth", "Sign in to continue (your session may have expired).");
  if (!hasRole(session.user.role, access)) throw new AtelierError("forbidden:auth", `This needs the ${access} role; you are ${session.user.role}.`);
  if (type !== "query" && !ctx.csrfOk) throw new AtelierError("forbidden:auth", "Missing or invalid CSRF token; reload the page and try again.");
  return next({ ctx: { ...ctx, session } });
});

const base = t.procedure.use(errorMapping).use(accessControl);

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
/** No login needed (sign-in, setup, public widget). */
export const publicProcedure = base.meta({ access: "public" });
/** Signed in: read the console and chat. */
export const viewerProcedure = base.meta({ access: "viewer" });
/** Configure assistants, knowledge, datasets, training, deployments. */
export const editorProcedure = base.meta({ access: "editor" });
/** Users, models on disk, keys and system settings. */
export const adminProcedure = base.meta({ access: "admin" });
