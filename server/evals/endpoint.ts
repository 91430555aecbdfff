import "server-only";

/*
 * A minimal client for an external OpenAI-compatible chat endpoint (the judge or the writer of
 * candidate rows): one non-streamed POST /chat/completions with a timeout and a bounded
 * response. Every failure is an EndpointError whose message says what went wrong in words.
 */

export const ENDPOINT_TIMEOUT_MS = 60_000;
/** Larger responses are cut off and refused: a judge's line or a question fits in far less. */
export const ENDPOINT_MAX_RESPONSE_BYTES = 1024 * 1024;

export class EndpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EndpointError";
  }
}

export type Endpoint = { url: string; model: string; apiKey?: string | null };

/** Checks a user-given base URL ("https://host/v1" or the full ".../chat/completions"); returns the completions URL. */
export function completionsUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new EndpointError(`"${url}" is not a URL; give the endpoint's base, like https://api.example.com/v1.`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new EndpointError(`The endpoint must be http or https (got ${u.protocol}).`);
  if (u.username || u.password) throw new EndpointError("Put the API key in the key field, not in the URL.");
  const base = u.toString().replace(/\/+$/, "");
  return base.endsWith("/chat/completions") ? base : `${base}/chat/completions`;
}

async function readBounded(res: Response, limit: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new EndpointError(`The endpoint's response is larger than ${Math.round(limit / 1024)} KB; refusing it.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** One chat completion; returns the assistant message's text. */
export async function completeWithEndpoint(
  endpoint: Endpoint,
  opts: { system: string; prompt: string; maxTokens: number; signal?: AbortSignal; timeoutMs?: number },
): Promise<string> {
  const url = completionsUrl(endpoint.url);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? ENDPOINT_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}) },
      body: JSON.stringify({
        model: endpoint.model,
        messages: [
          { role: "system", content: opts.system },
          { role: "user", content: opts.prompt },
        ],
        max_tokens: opts.maxTokens,
        temperature: 0,
        stream: false,
      }),
      signal,
      redirect: "error",
    });
  } catch (err) {
    if (timeout.aborted) throw new EndpointError(`${url} did not answer within ${Math.round((opts.timeoutMs ?? ENDPOINT_TIMEOUT_MS) / 1000)} s.`, { cause: err });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new EndpointError(`${url} is unreachable (${cause?.code ?? cause?.message ?? (err as Error).message}).`, { cause: err });
  }
  let body: string;
  try {
    body = await readBounded(res, ENDPOINT_MAX_RESPONSE_BYTES);
  } catch (err) {
    if (err instanceof EndpointError) throw err;
    throw new EndpointError(`${url} stopped while sending its answer (${(err as Error).message}).`, { cause: err });
  }
  if (!res.ok) {
    const detail = body.slice(0, 200).replace(/\s+/g, " ");
    throw new EndpointError(`${url} answered HTTP ${res.status}${detail ? `: ${detail}` : ""}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new EndpointError(`${url} did not answer JSON.`);
  }
  const content = (json as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
  if (typeof content !== "string") throw new EndpointError(`${url} answered without choices[0].message.content.`);
  return content;
}
