import http from "node:http";
import type { AddressInfo } from "node:net";

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response> | Response;
type Route = { pattern: RegExp; method: string; handler: Handler; params: (m: RegExpExecArray) => Record<string, string> };

/**
 * The app's route handlers behind a real HTTP server on 127.0.0.1 (what `next start` does for
 * them), so load tests and the official `openai` client go over real sockets.
 */
export async function loopbackServer() {
  const { PEER_HEADER, peerStamp } = await import("@/server/edge/peer");
  const widget = await import("@/app/api/widget/[publicId]/[action]/route");
  const frame = await import("@/app/w/[publicId]/route");
  const models = await import("@/app/v1/models/route");
  const completions = await import("@/app/v1/chat/completions/route");
  const routes: Route[] = [
    ...(["GET", "POST", "OPTIONS"] as const).map((method) => ({
      pattern: /^\/api\/widget\/([^/]+)\/([^/]+)$/,
      method,
      handler: widget[method] as Handler,
      params: (m: RegExpExecArray) => ({ publicId: decodeURIComponent(m[1]!), action: m[2]! }),
    })),
    { pattern: /^\/w\/([^/]+)$/, method: "GET", handler: frame.GET as Handler, params: (m) => ({ publicId: decodeURIComponent(m[1]!) }) },
    { pattern: /^\/v1\/models$/, method: "GET", handler: models.GET as Handler, params: () => ({}) },
    { pattern: /^\/v1\/chat\/completions$/, method: "POST", handler: completions.POST as Handler, params: () => ({}) },
  ];

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
      const route = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const abort = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) abort.abort();
      });
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      // As instrumentation.ts does under `next start`: the socket's peer, whatever the client sent.
      headers.set(PEER_HEADER, peerStamp(req.socket.remoteAddress));
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const request = new Request(url, { method: req.method, headers, body, signal: abort.signal });
      const response = await route.handler(request, { params: Promise.resolve(route.params(route.pattern.exec(url.pathname)!)) });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      const reader = response.body?.getReader();
      for (let next = await reader?.read(); next && !next.done; next = await reader!.read()) res.write(next.value);
      res.end();
    } catch (err) {
      console.error("[loopback]", err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}
