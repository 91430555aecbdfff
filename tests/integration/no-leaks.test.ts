import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { assistants, conversations, messages } from "@/server/db/schema";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { http } from "./auth-http";

/*
 * Errors never leak internals: unexpected failures answer "Internal error (request id …)" with
 * the id in the log line; model paths that are not plain files are refused before any read;
 * people who are not admins see model file names, not server paths; and the edges that broke on
 * big or hostile input (a 150k-record dataset, spreadsheet formulas in an export) hold.
 */

let app: Awaited<ReturnType<typeof freshApp>>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-leaks-"));

beforeAll(async () => {
  app = await freshApp();
});

afterAll(async () => {
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("model paths", () => {
  it("refuses system paths, devices, pipes, directories and empty files before reading them", async () => {
    const fifo = path.join(tmp, "pipe.gguf");
    execFileSync("mkfifo", [fifo]);
    const link = path.join(tmp, "innocent.gguf");
    fs.symlinkSync("/proc/self/mem", link);
    const empty = path.join(tmp, "empty.gguf");
    fs.writeFileSync(empty, "");
    const cases: Array<[string, RegExp]> = [
      ["/proc/self/mem", /system path/],
      ["/sys/kernel/mm/transparent_hugepage/enabled", /system path/],
      ["/dev/zero", /system path/],
      [link, /system path/],
      [fifo, /not a regular file/],
      [tmp, /not a regular file/],
      [empty, /too small to be a GGUF/],
      [path.join(tmp, "missing.gguf"), /not found/],
    ];
    for (const [p, expected] of cases) {
      const started = Date.now();
      const err = await app
        .caller()
        .models.addLocal({ path: p })
        .then(() => null, (e: { code: string; message: string }) => e);
      expect(err, p).toMatchObject({ code: "BAD_REQUEST" });
      expect(err!.message, p).toMatch(expected);
      expect(err!.message, p).not.toMatch(/EIO|EACCES|ENXIO|errno/i);
      // A FIFO or device that was opened would hang here.
      expect(Date.now() - started, p).toBeLessThan(5000);
    }
  });

  it("viewers see model file names, admins the server path", async () => {
    const viewer = await app.callerAs("viewer");
    const asViewer = await viewer.models.list();
    const asAdmin = await app.caller().models.list();
    expect(asAdmin.some((m) => path.isAbsolute(m.source))).toBe(true);
    expect(asViewer.length).toBe(asAdmin.length);
    for (const m of asViewer) expect(m.source.includes("/"), m.source).toBe(false);
    expect(JSON.stringify(asViewer)).not.toContain(path.dirname(starterModelPath()));
  });

  it("a model that fails to load is named in chat by its file name, not its server path", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "models-"));
    const copy = path.join(dir, "vanishing.gguf");
    fs.copyFileSync(starterModelPath(), copy);
    const model = await app.caller().models.addLocal({ path: copy, name: "Vanishing" });
    fs.rmSync(copy);
    const a = app.db.select().from(assistants).get()!;
    app.db.update(assistants).set({ modelId: model.id }).where(eq(assistants.id, a.id)).run();
    try {
      const conv = await (await app.callerAs("viewer")).conversations.create({ assistantId: a.id });
      const events = await collect(await (await app.callerAs("viewer")).chat.send({ kind: "send", conversationId: conv.id, content: "hello" }));
      const last = events.at(-1);
      if (last?.type !== "error") throw new Error(`expected an error, got ${JSON.stringify(last)}`);
      expect(last.error).toContain("vanishing.gguf");
      expect(last.error).not.toContain(dir);
    } finally {
      app.db.update(assistants).set({ modelId: a.modelId }).where(eq(assistants.id, a.id)).run();
    }
  });
});

describe("unexpected errors", () => {
  it("answer 'Internal error (request id …)' and log that id with the cause", async () => {
    const a = app.db.select().from(assistants).get()!;
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    // A damaged row (not JSON where JSON belongs): reading it throws deep inside drizzle.
    app.db.run(sql`UPDATE assistants SET sampling = '{not json' WHERE id = ${a.id}`);
    try {
      const res = await http("assistants.list", { method: "GET", cookie: `atelier_session=${app.admin.token}` });
      expect(res.status).toBe(500);
      const message = res.json.error!.message;
      const id = /^Internal error \(request id ([0-9a-f]{12})\)\.$/.exec(message)?.[1];
      expect(id, message).toBeDefined();
      expect(message).not.toMatch(/JSON|SyntaxError|position/);
      const logged = spy.mock.calls.map((c) => c.map(String).join(" ")).filter((l) => l.includes(id!));
      expect(logged.length).toBe(1);
      expect(logged[0]).toMatch(/JSON/);
    } finally {
      app.db.update(assistants).set({ sampling: a.sampling }).where(eq(assistants.id, a.id)).run();
      spy.mockRestore();
    }
  });
});

describe("hostile sizes and contents", () => {
  it("a dataset of 150,000 small chat records opens (no 'Maximum call stack size exceeded')", async () => {
    const { createDataset, getDataset } = await import("@/server/studio");
    const lines = Array.from({ length: 150_000 }, (_, i) => JSON.stringify({ question: `q${i}`, answer: i % 7 === 0 ? "a longer answer" : "a" }));
    const bytes = new TextEncoder().encode(lines.join("\n"));
    const created = await createDataset(app.db, { name: "many", files: [{ name: "many.jsonl", bytes, mime: null }] }, app.admin);
    const detail = getDataset(app.db, created.dataset.id);
    expect(detail.stats.chatRecords).toBe(150_000);
    // Shortest: "user: q1\nassistant: a" (21 characters); longest: a six-digit question with the longer answer (40).
    expect(detail.stats.minChars).toBe(21);
    expect(detail.stats.maxChars).toBe(40);
  });

  it("the CSV export neutralises formulas, also behind whitespace, newlines and full-width signs", async () => {
    const a = app.db.select().from(assistants).get()!;
    const conv = app.db.insert(conversations).values({ id: "csv-conv", assistantId: a.id, title: "t", channel: "widget", visitorId: "visitor-1", origin: "https://shop.example" }).returning().get();
    const hostile = ["=1+1", " =HYPERLINK(\"x\")", "\n=cmd", "\t@SUM(A1)", "＝1+1", "  ＋1", "-2", "+3", "plain text"];
    hostile.forEach((content, position) => app.db.insert(messages).values({ id: `csv-${position}`, conversationId: conv.id, position, role: "user", content, status: "complete" }).run());
    const { exportConversations } = await import("@/server/edge");
    const csv = exportConversations(app.db, a.id, "csv");
    // Expected cells, written by hand: every formula-looking cell starts with a quote mark.
    for (const cell of ['"\'=1+1"', '"\' =HYPERLINK(""x"")"', '"\'\n=cmd"', '"\'\t@SUM(A1)"', '"\'＝1+1"', '"\'  ＋1"', '"\'-2"', '"\'+3"', '"plain text"']) {
      expect(csv).toContain(cell);
    }
  });
});
