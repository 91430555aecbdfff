import fs from "node:fs";
import type { AnyProcedure } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { startServer, type RunningServer } from "../browser/server";
import { healthProbe, SERVER_ENV, signIn, trpc, UNHANDLED, type Session } from "./client";
import { breakOne, nastyValue, pick, rawBody, rng, sample, type Rng } from "./fuzz-values";

/*
 * A generated fuzz pass over every tRPC procedure (walked from the router at run time, like
 * authz-matrix.test.ts) and every public route of a real `next start` on loopback: wrong types,
 * huge and deeply nested values, unicode edge cases, bodies of random bytes, with and without a
 * session. At least 5,000 requests in under 3 minutes; not one may answer 5xx or drop the
 * connection, the server log must show no unhandled error, and a health probe must be answered
 * all along. The sequence is seeded (FUZZ_SEED), so a failure can be replayed.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const REQUESTS = 5_200;
const CONCURRENCY = 8;
const TIME_LIMIT_MS = 180_000;

let server: RunningServer;
let admin: Session;
const ids: Record<string, string> = {};

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>).map(([path, p]) => ({
  path,
  type: p._def.type as "query" | "mutation",
  input: (p._def as { inputs?: unknown[] }).inputs?.[0],
}));

beforeAll(async () => {
  server = await startServer(SERVER_ENV);
  admin = await signIn(server);
  // One of everything, so generated inputs can name real rows.
  const list = await trpc(server, "assistants.list", undefined, admin, "GET");
  ids.assistantId = (list.json!.result!.data as Array<{ id: string }>)[0]!.id;
  ids.conversationId = ((await trpc(server, "conversations.create", { assistantId: ids.assistantId }, admin)).json!.result!.data as { id: string }).id;
  ids.collectionId = ((await trpc(server, "knowledge.createCollection", { name: "Fuzz" }, admin)).json!.result!.data as { id: string }).id;
  await trpc(server, "deploy.open", { assistantId: ids.assistantId }, admin);
  const deployment = (await trpc(server, "deploy.update", { assistantId: ids.assistantId, patch: { enabled: true, allowedOrigins: ["https://shop.example"] } }, admin)).json!.result!.data as { publicId: string };
  ids.publicId = deployment.publicId;
  ids.apiKey = ((await trpc(server, "deploy.createKey", { assistantId: ids.assistantId, name: "fuzz" }, admin)).json!.result!.data as { key: string }).key;
});

afterAll(async () => {
  await server?.stop();
  if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
});

type Req = { what: string; url: string; init: RequestInit };

function sessionHeaders(r: Rng): Record<string, string> {
  const roll = r();
  if (roll < 0.45) return { cookie: admin.cookie, "x-atelier-csrf": admin.csrf };
  if (roll < 0.55) return { cookie: admin.cookie, "x-atelier-csrf": "forged" };
  if (roll < 0.6) return { cookie: `atelier_session=${pick(r, ["", "x", "a".repeat(5000), "%00"])}` };
  return {};
}

function trpcRequest(r: Rng): Req {
  const proc = pick(r, procedures);
  const strings = ["x", ids.assistantId!, ids.conversationId!, ids.collectionId!, "hello", "https://shop.example", "a@b.c"];
  const valid = sample(proc.input, r, strings);
  const input = r() < 0.15 ? valid : breakOne(valid, r);
  const headers = { "content-type": "application/json", ...sessionHeaders(r) };
  // The console's own client asks for streamed (JSON lines) batches; plain callers do not.
  if (r() < 0.3) Object.assign(headers, { "trpc-accept": "application/jsonl" });
  const useGet = proc.type === "query" ? r() < 0.85 : r() < 0.1;
  const batch = r() < 0.25;
  const path = r() < 0.03 ? `${proc.path},${pick(r, procedures).path}` : r() < 0.02 ? "no.such.procedure" : proc.path;
  let body: string | Uint8Array<ArrayBuffer> = JSON.stringify(batch ? { 0: input } : input) ?? "null";
  if (r() < 0.1) body = rawBody(r);
  if (useGet) {
    const q = batch ? `batch=1&input=${encodeURIComponent(JSON.stringify({ 0: input }) ?? "")}` : `input=${encodeURIComponent(JSON.stringify(input) ?? "null")}`;
    return { what: `GET ${path}`, url: `${server.url}/api/trpc/${path}?${q.slice(0, 12_000)}`, init: { method: "GET", headers } };
  }
  return { what: `POST ${path}`, url: `${server.url}/api/trpc/${path}${batch ? "?batch=1" : ""}`, init: { method: "POST", headers, body } };
}

function widgetRequest(r: Rng): Req {
  const publicId = r() < 0.7 ? ids.publicId! : pick(r, ["asst_AAAAAAAAAAAAAAAA", "x", "%2e%2e", "a".repeat(300)]);
  const action = pick(r, ["config", "chat", "history", "feedback", "chat", "nope"]);
  const method = pick(r, ["GET", "POST", "POST", "OPTIONS", "PUT", "DELETE"]);
  const origin = pick(r, ["https://shop.example", "https://shop.example", "https://evil.example", "null", "not a url", ""]);
  const valid = { visitorId: pick(r, ["visitor-abcdef12", "visitor-fuzz-0001", "x"]), content: pick(r, ["Hi", "What is Atelier?", ""]), conversationId: null, identity: null, messageId: "m", value: 1 };
  const body = r() < 0.15 ? rawBody(r) : JSON.stringify(r() < 0.3 ? valid : breakOne(valid, r));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (origin) headers.origin = origin;
  if (r() < 0.2) headers["x-atelier-embed-origin"] = pick(r, ["https://shop.example", "javascript:alert(1)", "null", "https://ex ample"]);
  return {
    what: `${method} widget/${action}`,
    url: `${server.url}/api/widget/${encodeURIComponent(publicId)}/${action}`,
    init: { method, headers, body: method === "GET" || method === "OPTIONS" ? undefined : body },
  };
}

function apiRequest(r: Rng): Req {
  const path = pick(r, ["/v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions", "/v1/models", "/v1/embeddings", "/v1/a/b/c", "/v1/chat/completions/x"]);
  const method = pick(r, ["POST", "POST", "GET", "PUT", "DELETE", "PATCH"]);
  const key = pick(r, [ids.apiKey!, ids.apiKey!, "atl_wrong", "", "Bearer", "a".repeat(10_000)]);
  const valid = { model: ids.publicId, messages: [{ role: "user", content: "What is Atelier?" }], max_tokens: 4, stream: r() < 0.3 };
  const body = r() < 0.15 ? rawBody(r) : JSON.stringify(r() < 0.25 ? valid : breakOne(valid, r));
  const headers: Record<string, string> = { "content-type": pick(r, ["application/json", "text/plain", "application/x-www-form-urlencoded"]) };
  if (key) headers.authorization = `Bearer ${key}`;
  return { what: `${method} ${path}`, url: `${server.url}${path}`, init: { method, headers, body: method === "GET" ? undefined : body } };
}

function uploadRequest(r: Rng): Req {
  const boundary = "----fuzz" + Math.floor(r() * 1e9);
  const file = pick(r, ['{"question":"q","answer":"a"}\n', "%PDF-1.4 not really", "PK\u0003\u0004 not a zip", "\u0000\u0001\u00ff", "question,answer\n=1+1,b\n"]);
  const name = pick(r, ["qa.jsonl", "x.pdf", "x.docx", "../../etc/passwd", "a".repeat(500), "é.csv"]);
  const body =
    r() < 0.3
      ? rawBody(r)
      : `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${pick(r, ["fuzz", "", "x".repeat(300)])}\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n${file}\r\n--${boundary}--\r\n`;
  const headers: Record<string, string> = { ...sessionHeaders(r), "content-type": pick(r, [`multipart/form-data; boundary=${boundary}`, "application/json", "multipart/form-data"]) };
  return { what: "POST studio upload", url: `${server.url}/api/studio/datasets`, init: { method: "POST", headers, body } };
}

function otherRequest(r: Rng): Req {
  const path = pick(r, [
    "/api/health",
    `/w/${ids.publicId}`,
    "/w/asst_AAAAAAAAAAAAAAAA",
    "/w/%E0%A4%A",
    "/widget.js",
    "/login?next=%2F%2Fevil.example",
    "/setup",
    "/chat",
    "/api/trpc/",
    "/api/trpc/%",
    "/api/nothing-here",
    `/${"a/".repeat(200)}`,
  ]);
  return { what: `GET ${path}`, url: `${server.url}${path}`, init: { method: pick(r, ["GET", "GET", "HEAD", "POST"]), headers: { "accept-language": "\u00ff".repeat(10) } } };
}

function requests(): Req[] {
  const r = rng(SEED);
  return Array.from({ length: REQUESTS }, () => {
    const roll = r();
    if (roll < 0.62) return trpcRequest(r);
    if (roll < 0.76) return widgetRequest(r);
    if (roll < 0.9) return apiRequest(r);
    if (roll < 0.94) return uploadRequest(r);
    return otherRequest(r);
  });
}

describe("fuzzing a running server", () => {
  it(`${REQUESTS} generated requests: no 5xx, no dropped connection, no unhandled error, health answered throughout`, async () => {
    const all = requests();
    const probe = healthProbe(server);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < all.length && performance.now() - started < TIME_LIMIT_MS) {
        const req = all[next++]!;
        try {
          const res = await fetch(req.url, { ...req.init, signal: AbortSignal.timeout(30_000), redirect: "manual" } as RequestInit);
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) failures.push(`${req.what} → ${res.status}: ${text.slice(0, 300)}`);
          else if (/INTERNAL_SERVER_ERROR|Internal error \(request id/.test(text)) failures.push(`${req.what} → ${res.status} with an internal error inside: ${text.slice(0, 300)}`);
        } catch (err) {
          failures.push(`${req.what} → no answer: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = performance.now() - started;
    await probe.stop();

    const sent = [...statuses.values()].reduce((a, b) => a + b, 0) + failures.filter((f) => f.includes("no answer")).length;
    console.log(`[fuzz] seed ${SEED}: ${sent} requests in ${(elapsed / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; health ${probe.results.length} probes, worst ${Math.round(Math.max(...probe.results.map((p) => p.ms)))} ms`);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(5_000);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS);
    expect(probe.results.length).toBeGreaterThan(10);
    expect(probe.results.filter((p) => p.status !== 200)).toEqual([]);
    const unhandled = server.fullLog().split("\n").filter((l) => UNHANDLED.test(l));
    expect(unhandled.slice(0, 20)).toEqual([]);
  });
});
