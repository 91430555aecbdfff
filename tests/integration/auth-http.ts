/** Calls the real tRPC route handler (app/api/trpc/[trpc]/route.ts) with a plain, non-batched request. */
export type HttpOpts = { input?: unknown; cookie?: string; csrf?: string; origin?: string; ip?: string; method?: "GET" | "POST"; body?: string };

export async function http(path: string, o: HttpOpts = {}) {
  const route = await import("@/app/api/trpc/[trpc]/route");
  const { PEER_HEADER, peerStamp } = await import("@/server/edge/peer");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers["x-atelier-csrf"] = o.csrf;
  if (o.origin) headers.origin = o.origin;
  // The socket address, as the server stamps it (instrumentation.ts) for a client at `ip`.
  if (o.ip) headers[PEER_HEADER] = peerStamp(o.ip);
  const method = o.method ?? "POST";
  const url =
    method === "GET"
      ? `http://atelier.test/api/trpc/${path}${o.input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(o.input))}`}`
      : `http://atelier.test/api/trpc/${path}`;
  const req = new Request(url, { method, headers, ...(method === "POST" ? { body: o.body ?? JSON.stringify(o.input ?? {}) } : {}) });
  const res = method === "GET" ? await route.GET(req) : await route.POST(req);
  const json = (await res.json()) as {
    result?: { data: unknown };
    error?: { message: string; data: { code: string; httpStatus: number; zodError: string[] | null } };
  };
  return { status: res.status, json, setCookies: res.headers.getSetCookie() };
}

/** The cookie header a browser would send back after these Set-Cookie lines. */
export function cookieHeader(setCookies: string[]): string {
  return setCookies.map((c) => c.split(";")[0]).join("; ");
}

export function cookieValue(setCookies: string[], name: string): string | undefined {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  return line ? decodeURIComponent(line.split(";")[0]!.slice(name.length + 1)) : undefined;
}
