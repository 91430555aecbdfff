import "server-only";
import { initTRPC, TRPCError } from "@trpc/server";
import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import { ZodError } from "zod";
import { CSRF_HEADER, SESSION_COOKIE, readCookie } from "../auth/cookies";
import { hasRole, type Access } from "../auth/roles";
import { sessionFromToken, type Session } from "../auth/sessions";
import { ready } from "../bootstrap";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import { EngineError, type EngineErrorCode } from "../llm/errors";

export type Context = {
  db: AtelierDb;
  session: Session | null;
  /** Where Set-Cookie and other response headers go; null for in-process callers. */
  resHeaders: Headers | null;
  /** False only for an HTTP request whose CSRF header does not match its session. */
  csrfOk: boolean;
  /** Client address as seen by the server (for rate limits); null in-process. */
  ip: string | null;
  /** The request's Origin header, if any. */
  origin: string | null;
};

export async function createContext(opts: FetchCreateContextFnOptions): Promise<Context> {
  const db = await ready();
  const { req, resHeaders } = opts;
  const session = sessionFromToken(db, readCookie(req.headers.get("cookie"), SESSION_COOKIE));
  const sent = req.headers.get(CSRF_HEADER);
  return {
    db,
    session,
    resHeaders,
    csrfOk: !!session && !!sent && sent === session.csrfToken,
    ip: req.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || req.headers.get("x-real-ip") || null,
    origin: req.headers.get("origin"),
  };
}

/** Context for trusted in-process callers (tests, scripts): already authenticated, no CSRF. */
export function internalContext(db: AtelierDb, session: Session | null): Context {
  return { db, session, resHeaders: null, csrfOk: true, ip: null, origin: null };
}

export type Meta = { access: Access };

const ENGINE_CODES: Record<EngineErrorCode, TRPCError["code"]> = {
  MODEL_NOT_FOUND: "NOT_FOUND",
  MODEL_FILE_MISSING: "PRECONDITION_FAILED",
  MODEL_FILE_INVALID: "BAD_REQUEST",
  MODEL_LOAD_FAILED: "PRECONDITION_FAILED",
  NETWORK_UNREACHABLE: "PRECONDITION_FAILED",
  DOWNLOAD_FAILED: "BAD_GATEWAY",
  BAD_URI: "BAD_REQUEST",
  CONTEXT_OVERFLOW: "BAD_REQUEST",
  ENGINE_BUSY: "SERVICE_UNAVAILABLE",
};

/** Domain errors keep their message and get the matching tRPC code; anything else is a 500. */
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.cause instanceof AppError || err.cause instanceof EngineError) return toTRPCError(err.cause);
    return err;
  }
  if (err instanceof AppError) return new TRPCError({ code: err.code, message: err.message, cause: err });
  if (err instanceof EngineError) return new TRPCError({ code: ENGINE_CODES[err.code], message: err.message, cause: err });
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error.", cause: err });
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
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        stack: undefined,
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
  if (!access) throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Procedure declares no access level." });
  if (access === "public") return next();
  const session = ctx.session;
  if (!session) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in to continue (your session may have expired)." });
  if (!hasRole(session.user.role, access)) {
    throw new TRPCError({ code: "FORBIDDEN", message: `This needs the ${access} role; you are ${session.user.role}.` });
  }
  if (type !== "query" && !ctx.csrfOk) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Missing or invalid CSRF token; reload the page and try again." });
  }
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
