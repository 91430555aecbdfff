import "server-only";
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { env } from "../../env";
import { generateChat, type GenerationEvent, type Turn } from "../../llm/generate";
import { NodeCatalog } from "./catalog";

/*
 * Node mode: an Atelier that only serves `/v1` (models, chat completions) for the models it is
 * given, authenticated by a node token, on the same engine as a full Atelier (one context with N
 * sequences per model, batched decoding, the conversation kept on its sequence). Its Atelier asks
 * `/node/health` (slots, downloads) and `/node/models` (download a version and serve it).
 */

export type NodeServerOptions = {
  host: string;
  port: number;
  token: string;
  cacheDir: string;
  models: Array<{ name: string; path: string; lora?: string | null }>;
  log?: (line: string) => void;
};

const MAX_BODY_BYTES = 4 << 20;
/** Streamed text is sent at most this often after the first token. */
const STREAM_EVERY_MS = 10;

const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(z.object({ type: z.literal("text"), text: z.string() })), z.null()]).optional(),
});
const completionRequest = z.object({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1).max(10_000),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).max(1000).nullish(),
  repeat_penalty: z.number().min(0.5).max(2).nullish(),
  seed: z.number().int().nullish(),
});

const fileRef = z.object({ url: z.string().url().max(4096), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) });
const syncRequest = z.object({ name: z.string().min(1).max(256), kind: z.enum(["model", "lora"]), file: fileRef, base: fileRef.optional() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `The body is ${declared} bytes; the limit is ${MAX_BODY_BYTES}.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `The body is over the ${MAX_BODY_BYTES}-byte limit.`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "The request body is not valid JSON.");
  }
}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new HttpError(400, `Invalid request: ${i.path.join(".") || "body"}: ${i.message}`);
  }
  return r.data;
}

const textOf = (m: z.infer<typeof message>) => (typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""));

export async function startNodeServer(opts: NodeServerOptions): Promise<{ url: string; close: () => Promise<void>; catalog: NodeCatalog }> {
  const log = opts.log ?? ((line: string) => console.log(`[node] ${line}`));
  const catalog = new NodeCatalog(opts.cacheDir);
  for (const m of opts.models) await catalog.add(m.name, m.path, m.lora ?? null);
  await catalog.restore();
  const token = Buffer.from(opts.token);
  let busy = 0;

  const authorized = (req: http.IncomingMessage) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    return given.length === token.length && timingSafeEqual(given, token);
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, "The node had an error while processing the request.", "server_error");
      if (!(err instanceof HttpError)) log(`error: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, e.status, { error: { message: e.message, type: e.type, param: null, code: null } });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://node");
    if (!authorized(req)) throw new HttpError(401, "Missing or wrong node token. Send it as 'Authorization: Bearer TOKEN'.");
    const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
    if (route === "GET /v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: catalog.list().map((e) => ({ id: e.name, object: "model", created: 0, owned_by: "atelier-node", sha256: e.sha256, ...(e.baseSha256 ? { base_sha256: e.baseSha256 } : {}) })),
      });
    }
    if (route === "GET /node/health") {
      return sendJson(res, 200, { status: "ok", slots: { total: env().ATELIER_SEQUENCES, busy }, models: catalog.list().map((e) => e.name), syncs: [...catalog.syncs.values()] });
    }
    if (route === "POST /node/models") {
      const body = parse(syncRequest, await readJson(req));
      void catalog.sync(body, log);
      return sendJson(res, 202, { accepted: true, name: body.name });
    }
    if (route === "POST /v1/chat/completions") return completions(req, res);
    throw new HttpError(404, `${req.method} ${url.pathname} is not served by an Atelier node (it serves /v1/models and /v1/chat/completions).`);
  }

  async function completions(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = parse(completionRequest, await readJson(req));
    const entry = catalog.get(body.model);
    if (!entry) throw new HttpError(404, `The model '${body.model}' is not served by this node; see GET /v1/models.`);
    const systemPrompt = body.messages.filter((m) => m.role === "system" || m.role === "developer").map(textOf).join("\n\n");
    const turns: Turn[] = body.messages.filter((m) => m.role === "user" || m.role === "assistant").map((m) => ({ role: m.role as Turn["role"], content: textOf(m) }));
    if (turns.at(-1)?.role !== "user") throw new HttpError(400, "The last message must come from the user.");
    const maxTokens = Math.min(body.max_completion_tokens ?? body.max_tokens ?? env().ATELIER_MAX_TOKENS, env().ATELIER_MAX_TOKENS);
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    const affinity = req.headers["x-atelier-affinity"];
    busy++;
    try {
      const events = generateChat({
        spec: catalog.spec(entry),
        systemPrompt,
        turns,
        sampling: {
          temperature: body.temperature ?? 0.7,
          topP: body.top_p ?? 0.95,
          topK: body.top_k ?? 40,
          repeatPenalty: body.repeat_penalty ?? 1.1,
          maxTokens,
          ...(body.seed != null ? { seed: body.seed } : {}),
        },
        signal: abort.signal,
        affinity: typeof affinity === "string" && affinity.length <= 200 ? `remote:${affinity}` : undefined,
      });
      const id = `chatcmpl-${randomBytes(12).toString("base64url")}`;
      const meta = { id, created: Math.floor(Date.now() / 1000), model: body.model };
      if (body.stream) await streamSse(res, events, meta, body.stream_options?.include_usage === true, maxTokens);
      else {
        let end: Extract<GenerationEvent, { type: "end" }> | null = null;
        for await (const ev of events) if (ev.type === "end") end = ev;
        if (!end) throw new HttpError(500, "The answer was interrupted.", "server_error");
        sendJson(res, 200, {
          ...meta,
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: end.text }, logprobs: null, finish_reason: finishReason(end, maxTokens) }],
          usage: usage(end),
        });
      }
    } finally {
      busy--;
    }
  }

  const server_ = await new Promise<http.Server>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
  server_.keepAliveTimeout = 65_000;
  const addr = server_.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    catalog,
    close: () => new Promise<void>((r) => {
      server_.closeAllConnections();
      server_.close(() => r());
    }),
  };
}

const finishReason = (end: Extract<GenerationEvent, { type: "end" }>, maxTokens: number) =>
  end.stats.stopReason === "maxTokens" || end.stats.completionTokens >= maxTokens ? "length" : "stop";

const usage = (end: Extract<GenerationEvent, { type: "end" }>) => ({
  prompt_tokens: end.stats.promptTokens,
  completion_tokens: end.stats.completionTokens,
  total_tokens: end.stats.promptTokens + end.stats.completionTokens,
});

async function streamSse(
  res: http.ServerResponse,
  events: AsyncGenerator<GenerationEvent>,
  meta: { id: string; created: number; model: string },
  includeUsage: boolean,
  maxTokens: number,
): Promise<void> {
  // Headers go out once the engine has started (a model that fails to load is still a clean error).
  const first = await events.next();
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", connection: "keep-alive" });
  res.flushHeaders();
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(`data: ${JSON.stringify({ ...meta, object: "chat.completion.chunk", choices, ...extra })}\n\n`);
  send([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
  // Text goes out at once for the first token (time to first token), then at most every
  // STREAM_EVERY_MS: a fast model would otherwise cost one SSE event (and a JSON parse on the
  // routing Atelier) per token. The Atelier it serves batches for its own clients the same way.
  let pending = "";
  let lastSent = 0;
  const flush = () => {
    if (pending) send([{ index: 0, delta: { content: pending }, logprobs: null, finish_reason: null }]);
    pending = "";
    lastSent = performance.now();
  };
  try {
    for (let next = first; !next.done; next = await events.next()) {
      const ev = next.value;
      if (ev.type === "text") {
        pending += ev.text;
        if (performance.now() - lastSent >= STREAM_EVERY_MS) flush();
        continue;
      }
      flush();
      if (!ev.aborted) {
        send([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(ev, maxTokens) }]);
        if (includeUsage) send([], { usage: usage(ev) });
      }
    }
    flush();
    res.end("data: [DONE]\n\n");
  } catch (err) {
    flush();
    res.end(`data: ${JSON.stringify({ error: { message: (err as Error).message, type: "server_error", param: null, code: null } })}\n\n`);
  }
}
