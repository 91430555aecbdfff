import "server-only";
import { StringDecoder } from "node:string_decoder";
import type { Sampling, Turn } from "../llm/generate";
import { errorText, openRequest, readBody, UpstreamError, type Endpoint } from "./http";
import type { NodeKind } from "./schema";

/*
 * One chat completion streamed from an OpenAI-compatible node (SSE). Yields text deltas, then one
 * "finish" with the usage the node reported. Failures before any text are UpstreamErrors that say
 * whether another node may take the request; a stream that breaks after text is a StreamCut.
 */

export type RemoteTarget = Endpoint & {
  kind: NodeKind;
  /** The model name on the node. */
  model: string;
  /** Engine-specific request fields (llama-server's per-request `lora`). */
  extra?: Record<string, unknown> | null;
};

export type RemoteChatRequest = {
  systemPrompt: string;
  turns: Turn[];
  sampling: Sampling;
  /** The conversation: an Atelier node keeps it on the sequence that holds its earlier turns. */
  affinity?: string | null;
  signal?: AbortSignal;
  firstByteTimeoutMs: number;
  /** llama-server: the prompt as token ids (prompt.ts), sent to its native /completion. */
  promptTokens?: number[];
};

export type RemoteChatEvent =
  | { type: "text"; text: string }
  | { type: "finish"; reason: string | null; promptTokens: number | null; completionTokens: number | null };

/** The stream broke after text had been sent: the answer is partial. */
export class StreamCut extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamCut";
  }
}

/** Largest SSE event accepted from a node (a token delta is a few dozen bytes). */
const MAX_EVENT_BYTES = 1 << 20;

/** The request body in the dialect of each engine (sampling names differ; OpenAI proper refuses unknown fields). */
export function completionBody(target: RemoteTarget, req: Pick<RemoteChatRequest, "systemPrompt" | "turns" | "sampling">): Record<string, unknown> {
  const s = req.sampling;
  const messages = [...(req.systemPrompt.trim() ? [{ role: "system", content: req.systemPrompt }] : []), ...req.turns.map((t) => ({ role: t.role, content: t.content }))];
  const body: Record<string, unknown> = {
    model: target.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxTokens,
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
  };
  if (target.kind === "atelier" || target.kind === "llama-server") Object.assign(body, { top_k: s.topK, repeat_penalty: s.repeatPenalty });
  if (target.kind === "llama-server") body.cache_prompt = true;
  if (target.kind === "vllm") Object.assign(body, { top_k: s.topK, repetition_penalty: s.repeatPenalty });
  if (target.kind === "ollama") Object.assign(body, { top_k: s.topK, repeat_penalty: s.repeatPenalty });
  return { ...body, ...target.extra };
}

/** llama-server's native /completion body: the rendered prompt's tokens, its sampling names. */
export function llamaServerCompletionBody(target: RemoteTarget, req: Pick<RemoteChatRequest, "sampling" | "promptTokens">): Record<string, unknown> {
  const s = req.sampling;
  const { model: _model, ...extra } = target.extra ?? {};
  return {
    prompt: req.promptTokens,
    n_predict: s.maxTokens,
    temperature: s.temperature,
    top_p: s.topP,
    top_k: s.topK,
    min_p: 0,
    repeat_penalty: s.repeatPenalty,
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    stream: true,
    cache_prompt: true,
    ...extra,
  };
}

export async function* streamRemoteChat(target: RemoteTarget, req: RemoteChatRequest): AsyncGenerator<RemoteChatEvent> {
  const headers: Record<string, string> = {};
  if (target.kind === "atelier" && req.affinity) headers["x-atelier-affinity"] = req.affinity;
  const native = target.kind === "llama-server" && req.promptTokens !== undefined;
  const res = await openRequest(target, native ? "completion" : "v1/chat/completions", {
    method: "POST",
    body: JSON.stringify(native ? llamaServerCompletionBody(target, req) : completionBody(target, req)),
    headers,
    timeoutMs: req.firstByteTimeoutMs,
    signal: req.signal,
  });
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const text = await readBody(res, 64 * 1024).then((b) => b.toString("utf8"), () => "");
    throw new UpstreamError(`HTTP ${status}${text ? `: ${errorText(text)}` : ""}`, status >= 500 || status === 429 || status === 408, status);
  }

  let sentText = false;
  let finish: Extract<RemoteChatEvent, { type: "finish" }> | null = null;
  let done = false;
  const decoder = new StringDecoder("utf8");
  let buffer = "";
  // The first-byte deadline ends with the headers; a node that then stalls is cut by this idle timer.
  res.setTimeout(req.firstByteTimeoutMs, () => res.destroy(new Error("the node stopped sending")));
  try {
    for await (const chunk of res) {
      buffer += decoder.write(chunk as Buffer);
      if (buffer.length > MAX_EVENT_BYTES) throw new UpstreamError("the node sent an oversized event", false);
      let sep: number;
      while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const event = buffer.slice(0, sep);
        buffer = buffer.slice(sep + (buffer[sep] === "\r" ? 4 : 2));
        const data = event
          .split(/\r?\n/)
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (!data) continue;
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        let parsed: SseChunk;
        try {
          parsed = JSON.parse(data) as SseChunk;
        } catch {
          throw new UpstreamError("the node sent a stream event that is not JSON", !sentText);
        }
        if (parsed.error) {
          const message = typeof parsed.error === "string" ? parsed.error : (parsed.error.message ?? "unknown error");
          throw new UpstreamError(`the node failed: ${message}`, !sentText);
        }
        if (native) {
          // llama-server /completion: { content, stop, tokens_predicted, tokens_evaluated, stop_type }
          if (typeof parsed.content === "string" && parsed.content.length > 0) {
            sentText = true;
            yield { type: "text", text: parsed.content };
          }
          if (parsed.stop) {
            done = true;
            finish = { type: "finish", reason: parsed.stop_type === "limit" ? "length" : "stop", promptTokens: parsed.tokens_evaluated ?? null, completionTokens: parsed.tokens_predicted ?? null };
          }
          continue;
        }
        const choice = parsed.choices?.[0];
        const text = choice?.delta?.content;
        if (typeof text === "string" && text.length > 0) {
          sentText = true;
          yield { type: "text", text };
        }
        if (choice?.finish_reason) finish = { type: "finish", reason: choice.finish_reason, promptTokens: null, completionTokens: null };
        if (parsed.usage) {
          finish ??= { type: "finish", reason: null, promptTokens: null, completionTokens: null };
          finish.promptTokens = parsed.usage.prompt_tokens ?? null;
          finish.completionTokens = parsed.usage.completion_tokens ?? null;
        }
      }
    }
  } catch (err) {
    if (req.signal?.aborted) return;
    if (err instanceof UpstreamError && !sentText) throw err;
    if (!sentText) throw new UpstreamError(`the connection broke before the first token (${(err as Error).message})`, true);
    throw new StreamCut(`The node's stream was cut after part of the answer (${(err as Error).message}).`);
  } finally {
    res.destroy();
  }
  if (req.signal?.aborted) return;
  if (!done && !finish) {
    if (!sentText) throw new UpstreamError("the node closed the stream before the first token", true);
    throw new StreamCut("The node's stream ended before the answer was complete.");
  }
  yield finish ?? { type: "finish", reason: null, promptTokens: null, completionTokens: null };
}

type SseChunk = {
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
  // llama-server /completion
  content?: string;
  stop?: boolean;
  stop_type?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
};
