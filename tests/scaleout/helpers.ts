import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";

/** A real process: `atelier node` (node mode), started with tsx's loader in one process so a kill hits the server itself. */
export type NodeProcess = { url: string; proc: ChildProcess; log: () => string; kill: (signal?: NodeJS.Signals) => Promise<void> };

export async function startNodeProcess(opts: { args: string[]; token: string; env?: Record<string, string> }): Promise<NodeProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-node-"));
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=react-server", "server/nodes/serve/main.ts", "--port", "0", "--token", opts.token, ...opts.args],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ATELIER_DATA_DIR: dataDir, ATELIER_THREADS: "1", ATELIER_SEQUENCES: "2", ATELIER_GPU: "cpu", NODE_ENV: "production", ...opts.env },
    },
  );
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${log}`)), 60_000);
    const check = () => {
      const m = /atelier node listening on (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code}):\n${log}`));
    });
  });
  return {
    url,
    proc,
    log: () => log,
    kill: (signal = "SIGKILL") =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill(signal);
      }),
  };
}

export type FaultMode =
  /** forward everything */
  | { kind: "pass" }
  /** accept, read the request, then reset the connection: the node "died" before the first token */
  | { kind: "reset" }
  /** forward until the response carries text (an SSE delta with content), then cut both sides */
  | { kind: "cut-after-text" }
  /** forward, flipping one byte of the response body at `offset` (after the HTTP headers), once */
  | { kind: "corrupt-once"; offset: number }
  /** forward `bytes` bytes of the response body, then cut, once (a download that breaks) */
  | { kind: "cut-once-after"; bytes: number };

/** A TCP proxy in front of a server, with injectable faults; counts the requests it saw. */
export async function faultProxy(target: string) {
  const { hostname, port } = new URL(target);
  let mode: FaultMode = { kind: "pass" };
  /** One-shot faults still to come, in order, once the current one has happened. */
  let queued: FaultMode[] = [];
  const nextMode = () => (mode = queued.shift() ?? { kind: "pass" });
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    const current = mode;
    // Request lines seen on this connection (keep-alive connections carry several; bodies are not line-terminated).
    let requestText = "";
    let scanned = 0;
    const noteRequest = (chunk: Buffer) => {
      requestText += chunk.toString("latin1");
      const re = /(GET|POST|DELETE|PUT) (\S+) HTTP\/1\.1\r\n/g;
      re.lastIndex = Math.max(0, scanned - 64);
      for (let m = re.exec(requestText); m; m = re.exec(requestText)) if (m.index >= scanned) seen.push(`${m[1]} ${m[2]} HTTP/1.1`);
      scanned = requestText.length;
      if (requestText.length > 1 << 20) {
        requestText = requestText.slice(-128);
        scanned = requestText.length;
      }
    };
    if (current.kind === "reset") {
      client.once("data", (chunk) => {
        noteRequest(chunk as Buffer);
        client.resetAndDestroy();
      });
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("data", (chunk) => {
      noteRequest(chunk as Buffer);
      upstream.write(chunk);
    });
    client.on("end", () => upstream.end());
    // a server closing an idle keep-alive connection closes the client's side too, as a direct connection would
    upstream.on("end", () => client.end());
    let head = Buffer.alloc(0);
    let bodyOffset = -1;
    let bodySeen = 0;
    let text = "";
    upstream.on("data", (chunk: Buffer) => {
      if (current.kind === "pass") return void client.write(chunk);
      if (current.kind === "cut-after-text") {
        // latin1 keeps string offsets equal to byte offsets
        const before = text.length;
        text += chunk.toString("latin1");
        // the end of the first event that carries text (an OpenAI delta or llama-server's /completion chunk)
        const m = /"content":"[^"]/.exec(text);
        const end = m ? text.indexOf("\n\n", m.index) : -1;
        if (end < 0) return void client.write(chunk);
        // that event arrives, then the connection ends without the rest (no finish, no [DONE]), however
        // many events the node had packed into the same TCP chunk
        client.end(chunk.subarray(0, end + 2 - before));
        upstream.destroy();
        return;
      }
      // body-relative faults: find the end of the response headers first
      if (bodyOffset < 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        bodyOffset = end + 4;
        chunk = head;
      }
      const start = bodySeen === 0 ? bodyOffset : 0;
      const body = chunk.subarray(start);
      if (current.kind === "corrupt-once" && mode === current && bodySeen <= current.offset && current.offset < bodySeen + body.length) {
        const copy = Buffer.from(chunk);
        copy[start + current.offset - bodySeen]! ^= 0xff;
        chunk = copy;
        nextMode();
      }
      if (current.kind === "cut-once-after" && mode === current && bodySeen + body.length > current.bytes) {
        // what was sent arrives, then the connection ends short of the announced length
        client.end(chunk.subarray(0, start + current.bytes - bodySeen));
        nextMode();
        upstream.destroy();
        return;
      }
      bodySeen += body.length;
      client.write(chunk);
    });
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** The fault for new connections; several one-shot faults happen one after the other. */
    setMode: (m: FaultMode | FaultMode[]) => {
      [mode = { kind: "pass" }, ...queued] = Array.isArray(m) ? m : [m];
      // keep-alive connections opened under the old mode would bypass the new one
      for (const s of sockets) s.destroy();
    },
    requests: () => [...seen],
    count: (pattern: RegExp) => seen.filter((l) => pattern.test(l)).length,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response> | Response;
type Route = { pattern: RegExp; method: string; handler: Handler; names: string[] };

/**
 * The central Atelier's public route handlers behind a real HTTP server on 127.0.0.1 (what
 * `next start` does for them): widget, /v1, node artifacts and the worker API.
 */
export async function centralServer() {
  const { PEER_HEADER, peerStamp } = await import("@/server/edge/peer");
  const widget = await import("@/app/api/widget/[publicId]/[action]/route");
  const models = await import("@/app/v1/models/route");
  const completions = await import("@/app/v1/chat/completions/route");
  const artifacts = await import("@/app/api/nodes/artifacts/[modelId]/[role]/route");
  const routes: Route[] = [
    ...(["GET", "POST", "OPTIONS"] as const).map((method) => ({ pattern: /^\/api\/widget\/([^/]+)\/([^/]+)$/, method, handler: widget[method] as Handler, names: ["publicId", "action"] })),
    { pattern: /^\/v1\/models$/, method: "GET", handler: models.GET as Handler, names: [] },
    { pattern: /^\/v1\/chat\/completions$/, method: "POST", handler: completions.POST as Handler, names: [] },
    { pattern: /^\/api\/nodes\/artifacts\/([^/]+)\/([^/]+)$/, method: "GET", handler: artifacts.GET as Handler, names: ["modelId", "role"] },
  ];
  const worker = await import("@/app/api/worker/[...path]/route");
  for (const method of ["GET", "POST", "PUT"] as const) routes.push({ pattern: /^\/api\/worker\/(.+)$/, method, handler: worker[method] as Handler, names: ["path"] });
  /** Requests the test holds back (a machine whose uploads never arrive): unanswered until `hold(null)`, then cut. */
  let holdIf: ((method: string, pathname: string) => boolean) | null = null;
  const held = new Set<http.ServerResponse>();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
      if (holdIf?.(req.method ?? "GET", url.pathname)) {
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      }
      const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route) return void res.writeHead(404).end();
      const abort = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      headers.set(PEER_HEADER, peerStamp(req.socket.remoteAddress));
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request = new Request(url, {
        method: req.method,
        headers,
        ...(hasBody ? { body: ReadableStreamFrom(req), duplex: "half" } : {}),
        signal: abort.signal,
      } as RequestInit);
      const m = route.pattern.exec(url.pathname)!;
      const params = Object.fromEntries(route.names.map((n, i) => [n, n === "path" ? m[i + 1]!.split("/").map(decodeURIComponent) : decodeURIComponent(m[i + 1]!)]));
      const response = await route.handler(request, { params: Promise.resolve(params) });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      const reader = response.body?.getReader();
      for (let next = await reader?.read(); next && !next.done; next = await reader!.read()) res.write(next.value);
      res.end();
    } catch (err) {
      console.error("[central]", err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    /** Holds back the requests `pred` picks; `hold(null)` lets requests through again and cuts the held ones. */
    hold: (pred: ((method: string, pathname: string) => boolean) | null) => {
      holdIf = pred;
      if (!pred) for (const res of held) res.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function ReadableStreamFrom(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      req.on("data", (c: Buffer) => controller.enqueue(new Uint8Array(c)));
      req.on("end", () => controller.close());
      req.on("error", (e) => controller.error(e));
    },
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A tiny LoRA of the starter that really changes its answers (lr 1e-2 on one repeated fact),
 * trained once by the real forge CLI and cached in the temp dir for the other test files.
 */
export async function tinyLora(): Promise<string> {
  const { createHash } = await import("node:crypto");
  const { execFileSync } = await import("node:child_process");
  const starter = path.resolve("models/starter/atelier-starter.gguf");
  const key = createHash("sha256").update(fs.readFileSync(starter)).update("tiny-lora-v1").digest("hex").slice(0, 16);
  const cached = path.join(os.tmpdir(), `atelier-tiny-lora-${key}.gguf`);
  if (fs.existsSync(cached)) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-lora-"));
  fs.writeFileSync(path.join(dir, "facts.md"), "Bananas are the favourite fruit of the Atelier guide. The guide loves yellow bananas. ".repeat(300));
  const out = path.join(dir, "adapter.gguf");
  execFileSync(
    process.execPath,
    ["--import", "tsx", "server/forge/cli.ts", "train", "--mode", "lora", "--base", starter, "--data", path.join(dir, "facts.md"), "--out", out,
      "--steps", "20", "--seq", "64", "--batch", "2", "--threads", "1", "--rank", "4", "--lr", "0.01", "--eval-fraction", "0", "--seed", "7"],
    { stdio: "pipe" },
  );
  fs.renameSync(out, cached);
  fs.rmSync(dir, { recursive: true, force: true });
  return cached;
}
