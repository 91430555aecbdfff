// Worst-case request benchmark: the largest request the limits allow (the longest history), its
// time to first token, and the stall it causes to a concurrent request and to a health probe.
//
//   npm run build            # once: the benchmark drives a real `next start`
//   npx tsx bench/worst-case.ts [--runs 3] [--model path.gguf] [--out BENCHMARKS.md]
//
// Scenarios, interleaved `--runs` times on one server:
//   idle      a short /v1 request alone (streamed): its time to first token, and the probe alone
//   api-max   /v1 with the most history one request may carry (ATELIER_API_MAX_MESSAGES messages,
//             ATELIER_MAX_REQUEST_CHARS characters); 50 ms later a short /v1 request starts beside it
//   chat-max  console chat.send in a conversation of 200 stored turns of ATELIER_MAX_MESSAGE_CHARS
//             characters each (history window "all that fit"); a short /v1 request beside it
// Throughout, GET /api/health every 20 ms measures how long the server's event loop keeps anyone
// waiting. The script prints a table and rewrites its block of BENCHMARKS.md.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { writeBenchmarkSection } from "./lib/benchmarks-md";
import { machineInfo, median } from "./lib/common";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    model: { type: "string" },
    out: { type: "string", default: path.join(ROOT, "BENCHMARKS.md") },
  },
});
const RUNS = Number(args.runs);
const MAX_MESSAGE_CHARS = 32_000;
const MAX_REQUEST_CHARS = 256_000;
const API_MAX_MESSAGES = 100;
const ADMIN = { email: "bench@example.test", password: "a long enough bench password" };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startServer() {
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) throw new Error("No production build: run `npm run build` first.");
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-bench-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    ATELIER_DATA_DIR: dataDir,
    ATELIER_ADMIN_EMAIL: ADMIN.email,
    ATELIER_ADMIN_PASSWORD: ADMIN.password,
    ATELIER_MAX_MESSAGE_CHARS: String(MAX_MESSAGE_CHARS),
    ATELIER_MAX_REQUEST_CHARS: String(MAX_REQUEST_CHARS),
    ATELIER_API_MAX_MESSAGES: String(API_MAX_MESSAGES),
  };
  if (args.model) env.ATELIER_DEFAULT_MODEL = path.resolve(args.model);
  const child = spawn(process.execPath, [path.join(ROOT, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], { cwd: ROOT, env, stdio: "ignore", detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    dataDir,
    pid: child.pid!,
    stop: () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
    },
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

async function trpc(s: Server, pathName: string, input: unknown, cookie: string, csrf: string, method: "GET" | "POST" = "POST") {
  const url = method === "GET" ? `${s.url}/api/trpc/${pathName}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}` : `${s.url}/api/trpc/${pathName}`;
  const res = await fetch(url, { method, headers: { "content-type": "application/json", cookie, "x-atelier-csrf": csrf }, body: method === "POST" ? JSON.stringify(input) : undefined });
  return ((await res.json()) as { result: { data: unknown } }).result.data;
}

/** Milliseconds from sending `req` until the first answer text arrives, and until the end. */
async function timed(url: string, init: RequestInit, isText: (line: string) => boolean): Promise<{ ttftMs: number; totalMs: number; status: number }> {
  const started = performance.now();
  const res = await fetch(url, init);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let first = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    if (!first && buffer.split("\n").some(isText)) first = performance.now() - started;
  }
  return { ttftMs: first || NaN, totalMs: performance.now() - started, status: res.status };
}

function probe(s: Server) {
  const ms: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t = performance.now();
      await (await fetch(`${s.url}/api/health`)).arrayBuffer();
      ms.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { ms, stop: async () => ((on = false), await loop) };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main() {
  const loadBefore = os.loadavg();
  const server = await startServer();
  try {
    const login = await fetch(`${server.url}/api/trpc/auth.login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ADMIN) });
    const cookies = Object.fromEntries(login.headers.getSetCookie().map((c) => c.split(";")[0]!.split("=") as [string, string]));
    const cookie = `atelier_session=${cookies.atelier_session}; atelier_csrf=${cookies.atelier_csrf}`;
    const csrf = decodeURIComponent(cookies.atelier_csrf!);
    const assistant = ((await trpc(server, "assistants.list", undefined, cookie, csrf, "GET")) as Array<{ id: string; modelId: string }>)[0]!;
    await trpc(server, "assistants.update", { id: assistant.id, patch: { historyWindow: 0 } }, cookie, csrf);
    await trpc(server, "deploy.open", { assistantId: assistant.id }, cookie, csrf);
    const { publicId } = (await trpc(server, "deploy.update", { assistantId: assistant.id, patch: { enabled: true, ipPerMinuteLimit: 0, dailyLimit: 0 } }, cookie, csrf)) as { publicId: string };
    const { key } = (await trpc(server, "deploy.createKey", { assistantId: assistant.id, name: "bench" }, cookie, csrf)) as { key: string };
    const model = ((await trpc(server, "models.list", undefined, cookie, csrf, "GET")) as Array<{ id: string; name: string; contextLength: number | null }>).find((m) => m.id === assistant.modelId)!;

    // The console conversation with the longest stored history, written straight to the database.
    const conv = (await trpc(server, "conversations.create", { assistantId: assistant.id }, cookie, csrf)) as { id: string };
    const db = new Database(path.join(server.dataDir, "atelier.db"));
    db.pragma("busy_timeout = 5000");
    const insert = db.prepare("INSERT INTO messages (id, conversation_id, position, role, content, status) VALUES (?, ?, ?, ?, ?, 'complete')");
    db.transaction(() => {
      for (let i = 0; i < 200; i++) insert.run(`bench-${i}`, conv.id, i, i % 2 ? "assistant" : "user", `turn ${i}: ${"The harbour gate {x: [1, 2]} opens at high tide. ".repeat(700)}`.slice(0, MAX_MESSAGE_CHARS));
    })();
    db.close();
    let position = 200;

    const perMessage = Math.floor(MAX_REQUEST_CHARS / API_MAX_MESSAGES) - 10;
    const maxHistory = Array.from({ length: API_MAX_MESSAGES - 1 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}: ${"lorem ipsum {[(<>)]} dolor ".repeat(200)}`.slice(0, perMessage) }));
    maxHistory.push({ role: "user", content: "What is Atelier?" });
    const v1 = (messages: unknown[]) => ({
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: publicId, messages, stream: true, max_tokens: 8 }),
    });
    const isApiText = (l: string) => l.startsWith("data: {") && /"content":"[^"]/.test(l);
    const isChatText = (l: string) => l.includes('"type":"token"');
    const short = () => timed(`${server.url}/v1/chat/completions`, v1([{ role: "user", content: "Hi" }]), isApiText);

    const results: Record<string, { ttft: number[]; beside: number[]; probeMax: number[]; probeP99: number[] }> = {
      idle: { ttft: [], beside: [], probeMax: [], probeP99: [] },
      "api-max": { ttft: [], beside: [], probeMax: [], probeP99: [] },
      "chat-max": { ttft: [], beside: [], probeMax: [], probeP99: [] },
    };
    await short(); // load the model
    for (let run = 0; run < RUNS; run++) {
      for (const scenario of Object.keys(results)) {
        const p = probe(server);
        let main: Promise<{ ttftMs: number }>;
        if (scenario === "idle") main = short();
        else if (scenario === "api-max") main = timed(`${server.url}/v1/chat/completions`, v1(maxHistory), isApiText);
        else {
          main = timed(
            `${server.url}/api/trpc/chat.send?batch=1`,
            { method: "POST", headers: { "content-type": "application/json", cookie, "x-atelier-csrf": csrf, "trpc-accept": "application/jsonl" }, body: JSON.stringify({ 0: { kind: "send", conversationId: conv.id, content: `And the fuel pontoon? (${run})` } }) },
            isChatText,
          );
          position += 2;
        }
        const beside = scenario === "idle" ? null : (await new Promise((r) => setTimeout(r, 50)), short());
        const [m, b] = await Promise.all([main, beside]);
        await p.stop();
        results[scenario]!.ttft.push(m.ttftMs);
        if (b) results[scenario]!.beside.push(b.ttftMs);
        results[scenario]!.probeMax.push(Math.max(...p.ms));
        results[scenario]!.probeP99.push(pct(p.ms, 99));
      }
    }
    const loadAfter = os.loadavg();
    const m = machineInfo();
    const r0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "-");
    const date = new Date().toISOString().replace("T", " ").slice(0, 16);
    const idleTtft = median(results.idle!.ttft);
    const rows = Object.entries(results).map(
      ([name, r]) => `| ${name} | ${r0(median(r.ttft))} | ${r.beside.length ? r0(median(r.beside)) : "-"} | ${r.beside.length ? r0(median(r.beside) - idleTtft) : "-"} | ${r0(median(r.probeP99))} | ${r0(Math.max(...r.probeMax))} |`,
    );
    const block = [
      "## Worst-case request (bench/worst-case.ts)",
      "",
      `### worst-case request: ${path.basename(args.model ?? "models/starter/atelier-starter.gguf")} — ${date} UTC`,
      "",
      `Command: \`npx tsx bench/worst-case.ts --runs ${RUNS}${args.model ? ` --model ${args.model}` : ""}\` (after \`npm run build\`). Machine: ${m.cpu}, ${m.nproc} cores, ${m.memGiB} GiB; load average ${loadBefore.map((l) => l.toFixed(1)).join(" ")} before, ${loadAfter.map((l) => l.toFixed(1)).join(" ")} after${loadBefore[0]! > m.nproc * 0.5 ? " (other work was running: the numbers are noisy)" : ""}. Model: ${model.name}, context ${model.contextLength ?? "?"} tokens. Medians of ${RUNS} interleaved runs, in ms.`,
      "",
      `api-max: /v1 with ${API_MAX_MESSAGES} messages, ${maxHistory.reduce((n, x) => n + x.content.length, 0).toLocaleString("en")} characters (the request limits). chat-max: chat.send in a conversation of 200 stored turns of ${MAX_MESSAGE_CHARS.toLocaleString("en")} characters, history window "all that fit". "beside": a one-message /v1 request started 50 ms after the big one; "stall" is its time to first token minus the idle one's. The probe is GET /api/health every 20 ms during the scenario.`,
      "",
      "| scenario | time to first token | beside: time to first token | beside: stall | probe p99 | probe worst |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
    ].join("\n");
    console.log(block);
    writeBenchmarkSection(args.out!, "worst-case", block);
  } finally {
    server.stop();
    await new Promise((r) => setTimeout(r, 1000));
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
}

await main();
