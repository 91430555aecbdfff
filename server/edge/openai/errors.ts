import "server-only";
import { AtelierError, openAIErrorBody, publicError } from "../../errors";

/*
 * The OpenAI-compatible API answers errors in OpenAI's shape, { error: { message, type, param,
 * code } }, from the one error type: the status and `type` come from the AtelierError's type
 * (server/errors.ts), `code` from its reason and `param` from its param.
 */

export const invalidRequest = (message: string, param?: string, reason?: string) => new AtelierError("bad_request:api", message, { param, reason });

export const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store, no-transform" };

/** An error the API may show as it is: its own refusals, and the engine's (model missing, busy). */
const shown = (err: unknown): err is AtelierError => err instanceof AtelierError && (err.surface === "api" || err.surface === "engine" || err.surface === "model");

/** The error as the API shows it; anything else is logged (with a request id) and becomes a generic server_error. */
export function apiError(err: unknown): AtelierError {
  if (shown(err) && err.type !== "internal") return err;
  const reported = publicError(err, "api");
  const id = reported.details?.requestId;
  return new AtelierError("internal:api", `The server had an error while processing your request${id ? ` (request id ${id})` : ""}.`, { cause: reported, details: reported.details });
}

export function errorResponse(err: unknown): Response {
  const e = apiError(err);
  const extra: Record<string, string> = e.type === "rate_limit" ? { "retry-after": String(e.retryAfterSec ?? 60) } : {};
  return new Response(JSON.stringify(openAIErrorBody(e)), { status: e.httpStatus, headers: { ...JSON_HEADERS, ...extra } });
}
