import "server-only";

/** An error in OpenAI's shape: { error: { message, type, param, code } } with the matching status. */
export class OpenAIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "OpenAIError";
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new OpenAIError(400, message, "invalid_request_error", code, param);

export const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store, no-transform" };

export function errorResponse(err: unknown, extra: Record<string, string> = {}): Response {
  const e =
    err instanceof OpenAIError
      ? err
      : (console.error("[openai] request failed:", err), new OpenAIError(500, "The server had an error while processing your request.", "server_error"));
  return new Response(JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } }), {
    status: e.status,
    headers: { ...JSON_HEADERS, ...extra },
  });
}
