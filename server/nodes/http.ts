import "server-only";
import http from "node:http";
import https from "node:https";

/*
 * The HTTP client every talk with a node goes through: keep-alive agents (one TCP connection
 * reused per concurrent stream, so routing adds no handshake per turn), a deadline for the first
 * byte, and bounded response bodies (a node is another machine: nothing it sends is trusted to be
 * small).
 */

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) };

/** A failure talking to a node, and whether the same request may be tried elsewhere. */
export class UpstreamError extends Error {
  constructor(
    message: string,
    /** Nothing was generated yet and the fault is the node's (connection, 5xx, 429): try another. */
    readonly retryable: boolean,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

export type Endpoint = { url: string; apiKey: string | null };

export type RequestOptions = {
  method?: "GET" | "POST" | "DELETE";
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Deadline for the response headers, connecting included. */
  timeoutMs: number;
  signal?: AbortSignal;
};

/**
 * Starts a request; resolves with the response once its headers arrived. A request sent on a
 * reused keep-alive connection that the server had meanwhile closed (reset before any answer) is
 * sent once more on a fresh connection, as browsers do: nothing reached the server.
 */
export async function openRequest(endpoint: Endpoint, pathname: string, opts: RequestOptions): Promise<http.IncomingMessage> {
  try {
    return await openOnce(endpoint, pathname, opts);
  } catch (err) {
    if (err instanceof StaleSocket) return openOnce(endpoint, pathname, opts, true);
    throw err;
  }
}

class StaleSocket extends Error {}

function openOnce(endpoint: Endpoint, pathname: string, opts: RequestOptions, fresh = false): Promise<http.IncomingMessage> {
  let url: URL;
  try {
    url = new URL(pathname, endpoint.url.endsWith("/") ? endpoint.url : `${endpoint.url}/`);
  } catch {
    return Promise.reject(new UpstreamError(`${endpoint.url} is not a valid URL.`, false));
  }
  const client = url.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { accept: "application/json, text/event-stream", ...opts.headers };
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;
  if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(opts.body));
  }
  return new Promise((resolve, reject) => {
    // A retry after a stale keep-alive socket gets a connection of its own (the pool may hold more stale ones).
    const agent = fresh ? false : url.protocol === "https:" ? agents.https : agents.http;
    const req = client.request(url, { method: opts.method ?? "GET", headers, agent });
    const timer = setTimeout(() => req.destroy(new UpstreamError(`${url.host} did not answer within ${Math.round(opts.timeoutMs / 1000)} s.`, true)), opts.timeoutMs);
    let answered = false;
    const onAbort = () => {
      if (!answered) return void req.destroy(new UpstreamError("aborted", false));
      // After the headers the body's reader owns the failure and checks the signal itself: end the
      // exchange without an error object, which (seen in tests) could surface as an uncaught
      // exception when the answer had already arrived whole.
      req.destroy();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    req.once("response", (res) => {
      answered = true;
      clearTimeout(timer);
      res.once("close", () => opts.signal?.removeEventListener("abort", onAbort));
      resolve(res);
    });
    // `on`, not `once`: an error after the first (an abort racing a reset) must not go unhandled.
    let failed = false;
    req.on("error", (err) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      const code = (err as NodeJS.ErrnoException).code;
      if (req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE") && !opts.signal?.aborted) return reject(new StaleSocket());
      reject(err instanceof UpstreamError ? err : new UpstreamError(`cannot reach ${url.host}: ${describeNetError(err)}`, true));
    });
    if (opts.signal?.aborted) onAbort();
    req.end(opts.body);
  });
}

export function describeNetError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ECONNREFUSED") return "connection refused";
  if (e.code === "ECONNRESET") return "connection reset";
  if (e.code === "ENOTFOUND") return "unknown host";
  if (e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH") return "host unreachable";
  return e.message || String(err);
}

/** Reads a whole response body, refusing more than `maxBytes`. */
export async function readBody(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw new UpstreamError(`the answer is larger than ${maxBytes} bytes`, false);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** GET/POST a JSON document; non-2xx answers reject with the status and the start of the body. */
export async function requestJson(endpoint: Endpoint, pathname: string, opts: RequestOptions & { maxBytes?: number; json?: unknown }): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const res = await openRequest(endpoint, pathname, { ...opts, ...(opts.json !== undefined ? { body: JSON.stringify(opts.json), method: opts.method ?? "POST" } : {}) });
  const raw = await readBody(res, opts.maxBytes ?? 1 << 20);
  const ms = performance.now() - started;
  const status = res.statusCode ?? 0;
  const text = raw.toString("utf8");
  if (status < 200 || status >= 300) throw new UpstreamError(`HTTP ${status}${text ? `: ${errorText(text)}` : ""}`, status >= 500 || status === 429, status);
  try {
    return { status, body: text ? JSON.parse(text) : null, ms };
  } catch {
    throw new UpstreamError(`the answer to ${pathname} is not JSON`, false, status);
  }
}

/** The human part of an error body: OpenAI's { error: { message } }, llama-server's, or the first 200 characters. */
export function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === "string") return j.error.slice(0, 300);
    if (j.error && typeof j.error.message === "string") return j.error.message.slice(0, 300);
    if (typeof j.message === "string") return j.message.slice(0, 300);
  } catch {
    /* not JSON */
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}
