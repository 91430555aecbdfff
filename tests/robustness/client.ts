import type { RunningServer } from "../browser/server";

/* HTTP helpers for the robustness suite: real requests to a real `next start` on loopback. */

export const ADMIN = { email: "fuzz-admin@example.test", password: "a long enough fuzz password" };

/** Server environment: a headless first admin, and a short network timeout (downloads fail fast offline). */
export const SERVER_ENV = { ATELIER_ADMIN_EMAIL: ADMIN.email, ATELIER_ADMIN_PASSWORD: ADMIN.password, ATELIER_NETWORK_TIMEOUT_S: "1" };

export type Session = { cookie: string; csrf: string };

export function setCookies(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    out[pair!.slice(0, eq)] = decodeURIComponent(pair!.slice(eq + 1));
  }
  return out;
}

/** Signs in through auth.login, as the browser does. */
export async function signIn(server: RunningServer, who = ADMIN, headers: Record<string, string> = {}): Promise<Session> {
  const res = await fetch(`${server.url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(who),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const c = setCookies(res);
  return { cookie: `atelier_session=${c.atelier_session}; atelier_csrf=${c.atelier_csrf}`, csrf: c.atelier_csrf! };
}

/** A tRPC call (non-batched); streamed mutations are read to the end. */
export async function trpc(server: RunningServer, path: string, input: unknown, session: Session | null, method: "GET" | "POST" = "POST") {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (session) Object.assign(headers, { cookie: session.cookie, "x-atelier-csrf": session.csrf });
  const query = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const url = method === "GET" ? `${server.url}/api/trpc/${path}${query}` : `${server.url}/api/trpc/${path}`;
  const res = await fetch(url, { method, headers, body: method === "POST" ? JSON.stringify(input) : undefined });
  const text = await res.text();
  return { status: res.status, text, json: (() => { try { return JSON.parse(text) as { result?: { data: unknown }; error?: { message: string } }; } catch { return null; } })() };
}

/** tRPC's streamed (httpBatchStreamLink-style) response lines, as JSON values. */
export function streamedValues(text: string): unknown[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    });
}

/** Polls `probe` every `everyMs` until stopped; records each answer's status and latency. */
export function healthProbe(server: RunningServer, everyMs = 200) {
  const results: Array<{ status: number; ms: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        results.push({ status: res.status, ms: performance.now() - started });
      } catch {
        results.push({ status: 0, ms: performance.now() - started });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    results,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Log lines that mean an error escaped the app's handling. */
export const UNHANDLED = /unhandled|uncaught|⨯|internal error, request id|maximum call stack|heap out of memory/i;
