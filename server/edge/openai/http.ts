import "server-only";
import type { AtelierDb } from "../../db/client";
import { AtelierError, openAIErrorBody } from "../../errors";
import { readJsonBody } from "../body";
import { clientIp } from "../client-ip";
import { authenticate } from "./auth";
import { parseCompletionBody, startCompletion, type CompletionEvent } from "./completions";
import { completionIdOf, parseFeedbackBody, recordFeedback } from "./feedback";
import { apiError, errorResponse, invalidRequest, JSON_HEADERS } from "./errors";

/** GET /v1/models: the assistants this key may use (one per key), id = the public id. */
export async function listModels(req: Request, database: () => Promise<AtelierDb>): Promise<Response> {
  try {
    const db = await database();
    const who = authenticate(db, req);
    const created = Math.floor(who.assistant.createdAt / 1000);
    const data = [{ id: who.deployment.publicId, object: "model", created, owned_by: "atelier", name: who.assistant.name }];
    return new Response(JSON.stringify({ object: "list", data }), { headers: JSON_HEADERS });
  } catch (err) {
    return errorResponse(err);
  }
}

/** Any /v1 path Atelier does not serve: OpenAI's 404, as JSON (never Next's HTML page). */
export function unknownRoute(req: Request): Response {
  const { pathname } = new URL(req.url);
  return errorResponse(
    new AtelierError("not_found:api", `Invalid URL (${req.method} ${pathname}): Atelier serves GET /v1/models and POST /v1/chat/completions.`, { reason: "unknown_url" }),
  );
}

/** A served /v1 path called with the wrong method: 405 with an Allow header, as JSON. */
export function wrongMethod(req: Request, allowed: string): Response {
  const { pathname } = new URL(req.url);
  const res = errorResponse(new AtelierError("method_not_allowed:api", `Method ${req.method} is not allowed on ${pathname}; use ${allowed}.`, { reason: "method_not_allowed" }));
  res.headers.set("allow", allowed);
  return res;
}

/** Largest request body /v1/chat/completions reads: every character of the allowed messages JSON-escaped, plus the other fields. */
export const completionBodyLimit = (maxRequestChars: number) => maxRequestChars * 6 + 64 * 1024;

/** POST /v1/chat/completions, streaming (SSE) or not. */
export async function chatCompletions(req: Request, database: () => Promise<AtelierDb>, maxBodyBytes: number): Promise<Response> {
  try {
    const db = await database();
    // The key first: an anonymous caller gets nothing read from its body.
    const who = authenticate(db, req);
    const raw = await readJsonBody(req, maxBodyBytes, "api").catch((err: unknown) => {
      if (err instanceof AtelierError) throw err.type === "too_large" ? err : invalidRequest("The request body is not valid JSON.");
      throw err;
    });
    const body = parseCompletionBody(raw);
    const events = startCompletion(db, who, body, clientIp(req), req.signal);
    // Up to the start of the answer: everything that can refuse the request (the prompt not
    // fitting the context included) does so here, while the status can still say so.
    const first = await events.next();
    if (first.done || first.value.type !== "start") throw new AtelierError("unavailable:api", "The answer was interrupted.");
    // The response id names the stored answer, so a client can rate it (POST /v1/feedback).
    const id = completionIdOf(first.value.messageId);
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    if (body.stream) return streamResponse(events, { id, created, model }, body.stream_options?.include_usage === true);
    let done: Extract<CompletionEvent, { type: "done" }> | null = null;
    for await (const ev of events) if (ev.type === "done") done = ev;
    if (!done) throw new AtelierError("unavailable:api", "The answer was interrupted.");
    return new Response(
      JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: done.text, refusal: null }, logprobs: null, finish_reason: done.finishReason }],
        usage: usage(done),
      }),
      { headers: JSON_HEADERS },
    );
  } catch (err) {
    return errorResponse(err);
  }
}

const usage = (d: { promptTokens: number; completionTokens: number }) => ({
  prompt_tokens: d.promptTokens,
  completion_tokens: d.completionTokens,
  total_tokens: d.promptTokens + d.completionTokens,
});

function streamResponse(events: AsyncGenerator<CompletionEvent>, meta: { id: string; created: number; model: string }, includeUsage: boolean): Response {
  const encoder = new TextEncoder();
  // With include_usage, as OpenAI does: every chunk carries "usage": null, and one last chunk with no choices carries the usage.
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    encoder.encode(`data: ${JSON.stringify({ ...meta, object: "chat.completion.chunk", choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
    },
    async pull(controller) {
      try {
        let next = await events.next();
        while (!next.done && next.value.type === "start") next = await events.next(); // consumed before the stream began
        if (next.done) {
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
          return;
        }
        const ev = next.value;
        if (ev.type === "token") controller.enqueue(chunk([{ index: 0, delta: { content: ev.text }, logprobs: null, finish_reason: null }]));
        else if (ev.type === "done") {
          controller.enqueue(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: ev.finishReason }]));
          if (includeUsage) controller.enqueue(chunk([], { usage: usage(ev) }));
        }
      } catch (err) {
        const { error } = openAIErrorBody(apiError(err));
        controller.enqueue(encoder.encode(`data: ${JSON.stringify({ error: { ...error, param: null } })}\n\n`));
        controller.close();
      }
    },
    async cancel() {
      await events.return(undefined);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive" } });
}

/** POST /v1/feedback: { id, rating: 1 | -1 | "up" | "down" | null, comment? } for an answer of this key's assistant. */
export async function chatFeedback(req: Request, database: () => Promise<AtelierDb>): Promise<Response> {
  try {
    const db = await database();
    const who = authenticate(db, req);
    // A rating and a comment of at most 2,000 characters: 16 KiB is ample, and bounds what is read.
    const raw = await readJsonBody(req, 16 * 1024, "api").catch((err: unknown) => {
      if (err instanceof AtelierError) throw err.type === "too_large" ? err : invalidRequest("The request body is not valid JSON.");
      throw err;
    });
    return new Response(JSON.stringify(recordFeedback(db, who, parseFeedbackBody(raw))), { headers: JSON_HEADERS });
  } catch (err) {
    return errorResponse(err);
  }
}
