import http from "node:http";
import type { AddressInfo } from "node:net";

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response> | Response;
type RouteModule = Partial<Record<string, unknown>>;
type Route = { pattern: RegExp; module: RouteModule; params: (m: RegExpExecArray) => Record<string, string> };

/**
 * The app's route handlers behind a real HTTP server on 127.0.0.1 (what `next start` does for
 * them), so load tests and the official `openai` client go over real sockets. As in Next, the
 * first route whose path matches answers, with its export for the method (405 when it has none).
 */
export async function loopbackServer() {
  const { PEER_HEADER, peerStamp } = await import("@/server/edge/peer");
  const widget = await import("@/app/api/widget/[publicId]/[action]/route");
  const frame = await import("@/app/w/[publicId]/route");
  const models = await import("@/app/v1/models/route");
  const completions = await import("@/app/v1/chat/completions/route");
  const feedback = await import("@/app/v1/feedback/route");
  const v1Other = await import("@/app/v1/[...path]/route");
  const routes: Route[] = [
    { pattern: /^\/api\/widget\/([^/]+)\/([^/]+)$/, module: widget, params: (m) => ({ publicId: decodeURIComponent(m[1]!), action: m[2]! }) },
    { pattern: /^\/w\/([^/]+)$/, module: frame, params: (m) => ({ publicId: decodeURIComponent(m[1]!) }) },
    { pattern: /^\/v1\/models$/, module: models, params: () => ({}) },
    { pattern: /^\/v1\/chat\/completions$/, module: completions, params: () => ({}) },
    { pattern: /^\/v1\/feedback$/, module: feedback, params: () => ({}) },
    { pattern: /^\/v1\/(.+)$/, module: v1Other, params: (m) => ({ path: m[1]! }) },
  ];

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
      const route = routes.find((r) => r.pattern.test(url.pathname));
      const handler = route?.module[req.method ?? "GET"] as Handler | undefined;
      if (!route || !handler) {
        res.writeHead(route ? 405 : 404).end();
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
      const body = chunks.length && req.method !== "GET" && req.method !== "HEAD" ? Buffer.concat(chunks) : undefined;
      const request = new Request(url, { method: req.method, headers, body, signal: abort.signal });
      const response = await handler(request, { params: Promise.resolve(route.params(route.pattern.exec(url.pathname)!)) });
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
