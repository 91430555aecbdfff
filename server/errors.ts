// No "server-only": the forge CLI runs this under plain node/tsx (forge's ForgeError extends it).
import { randomBytes } from "node:crypto";

/*
 * Atelier's one error type. A code says what went wrong and where it surfaced, `type:surface`
 * (e.g. "not_found:assistant", "rate_limit:widget"). The type alone decides the HTTP status, the
 * tRPC code and the OpenAI error type, in ERROR_TYPES below and nowhere else; the surface tells
 * logs and clients which capability refused. The message is always the sentence a user can act on.
 */

export const ERROR_TYPES = {
  bad_request: { http: 400, trpc: "BAD_REQUEST", openai: "invalid_request_error" },
  unauthorized: { http: 401, trpc: "UNAUTHORIZED", openai: "invalid_request_error" },
  forbidden: { http: 403, trpc: "FORBIDDEN", openai: "permission_error" },
  not_found: { http: 404, trpc: "NOT_FOUND", openai: "invalid_request_error" },
  method_not_allowed: { http: 405, trpc: "METHOD_NOT_SUPPORTED", openai: "invalid_request_error" },
  conflict: { http: 409, trpc: "CONFLICT", openai: "invalid_request_error" },
  precondition: { http: 412, trpc: "PRECONDITION_FAILED", openai: "invalid_request_error" },
  too_large: { http: 413, trpc: "PAYLOAD_TOO_LARGE", openai: "invalid_request_error" },
  rate_limit: { http: 429, trpc: "TOO_MANY_REQUESTS", openai: "rate_limit_exceeded" },
  internal: { http: 500, trpc: "INTERNAL_SERVER_ERROR", openai: "server_error" },
  upstream: { http: 502, trpc: "BAD_GATEWAY", openai: "server_error" },
  unavailable: { http: 503, trpc: "SERVICE_UNAVAILABLE", openai: "server_error" },
} as const;

export type ErrorType = keyof typeof ERROR_TYPES;

/** Where an error surfaced: a capability, or a part of the engine it runs on. */
export const SURFACES = [
  "assistant",
  "auth",
  "chat",
  "conversation",
  "deploy",
  "engine",
  "eval",
  "forge",
  "knowledge",
  "loop",
  "model",
  "studio",
  "user",
  "widget",
  "api",
  "node",
  "worker",
  "server",
] as const;
export type Surface = (typeof SURFACES)[number];

export type ErrorCode = `${ErrorType}:${Surface}`;

export type AtelierErrorOptions = {
  cause?: unknown;
  /** The request field at fault (OpenAI's `param`). */
  param?: string;
  /** A stable machine-readable reason, finer than the code (OpenAI's `code`, e.g. "invalid_api_key"). */
  reason?: string;
  /** For rate limits: when to try again. */
  retryAfterSec?: number;
  /** Structured detail a client can show (e.g. the failing files of an upload). */
  details?: Record<string, unknown>;
};

export class AtelierError extends Error {
  readonly type: ErrorType;
  readonly surface: Surface;
  readonly param?: string;
  readonly reason?: string;
  readonly retryAfterSec?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AtelierErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AtelierError";
    const [type, surface] = code.split(":") as [ErrorType, Surface];
    this.type = type;
    this.surface = surface;
    this.param = options.param;
    this.reason = options.reason;
    this.retryAfterSec = options.retryAfterSec;
    this.details = options.details;
  }

  /** "type:surface" */
  get errorCode(): ErrorCode {
    return `${this.type}:${this.surface}`;
  }

  get httpStatus(): number {
    return ERROR_TYPES[this.type].http;
  }

  get trpcCode(): (typeof ERROR_TYPES)[ErrorType]["trpc"] {
    return ERROR_TYPES[this.type].trpc;
  }
}

export const notFound = (surface: Surface, what: string, id: string) => new AtelierError(`not_found:${surface}`, `${what} ${id} does not exist.`);

export const isAtelierError = (err: unknown): err is AtelierError => err instanceof AtelierError;

/** A short random id that ties the "Internal error" a client sees to the log line that explains it. */
export function newRequestId(): string {
  return randomBytes(6).toString("hex");
}

/** The request id of an error already reported by publicError, if it is one. */
export function reportedRequestId(err: unknown): string | null {
  return err instanceof AtelierError && err.type === "internal" && typeof err.details?.requestId === "string" ? err.details.requestId : null;
}

/**
 * The error as a client may see it. An AtelierError is shown as it is; anything else (a bug, a
 * failed read, a native error whose message names files) is logged here once, with a request id,
 * and becomes "Internal error (request id …)." so nothing internal reaches the client but the
 * operator can find the cause in the log by that id.
 */
export function publicError(err: unknown, surface: Surface = "server", requestId?: string): AtelierError {
  if (err instanceof AtelierError && (err.type !== "internal" || reportedRequestId(err))) return err;
  const id = requestId ?? newRequestId();
  const cause = err instanceof AtelierError ? (err.cause ?? err) : err;
  console.error(`[atelier] internal error, request id ${id} (${surface}):`, cause);
  return new AtelierError(`internal:${surface}`, `Internal error (request id ${id}).`, { cause: err, details: { requestId: id } });
}

/** An AtelierError as it is; anything else (a bug) becomes internal:server, logged with a request id (publicError). */
export function asAtelierError(err: unknown, surface: Surface = "server"): AtelierError {
  return publicError(err, surface);
}

const NO_STORE = { "cache-control": "no-store, no-transform" };

/**
 * The JSON error response of a console route handler: `{ error: { code, message, ...details } }`
 * with the status of the code's type. Unexpected errors are logged once, with the request id the
 * client sees.
 */
export function errorResponse(err: unknown, log = "server"): Response {
  const e = publicError(err, SURFACES.includes(log as Surface) ? (log as Surface) : "server");
  return Response.json({ error: { code: e.errorCode, message: e.message, ...e.details } }, { status: e.httpStatus, headers: NO_STORE });
}

/** OpenAI's error body, `{ error: { message, type, param, code } }`. */
export function openAIErrorBody(err: AtelierError) {
  return { error: { message: err.message, type: ERROR_TYPES[err.type].openai, param: err.param ?? null, code: err.reason ?? null } };
}
