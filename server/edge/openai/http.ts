import "server-only";
import { randomBytes } from "node:crypto";
import type { AtelierDb } from "../../db/client";
import { AtelierError, openAIErrorBody } from "../../errors";
import { clientIp } from "../client-ip";
import { authenticate } from "./auth";
import { parseCompletionBody, startCompletion, type CompletionEvent } from "./completions";
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

/** POST /v1/chat/completions, streaming (SSE) or not. */
export async function chatCompletions(req: Request, database: () => Promise<AtelierDb>): Promise<Response> {
  try {
    const db = await database();
    const who = authenticate(db, req);
    const raw = await req.json().catch(() => {
      throw invalidRequest("The request body is not valid JSON.");
    });
    const body = parseCompletionBody(raw);
    const events = startCompletion(db, who, body, clientIp(req), req.signal);
    const id = `chatcmpl-${randomBytes(12).toString("base64url")}`;
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
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    encoder.encode(`data: ${JSON.stringify({ ...meta, object: "chat.completion.chunk", choices, ...extra })}\n\n`);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]));
    },
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
          return;
        }
        const ev = next.value;
        if (ev.type === "token") controller.enqueue(chunk([{ index: 0, delta: { content: ev.text }, logprobs: null, finish_reason: null }]));
        else {
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
