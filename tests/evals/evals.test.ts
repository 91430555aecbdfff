// Evaluations end to end on real parts: SQLite files, the starter model through node-llama-cpp,
// the native trainer for a (deliberately bad) scratch version, the shared heavy-job queue, the
// command line in a child process that is killed mid-run, and this instance's own /v1 endpoint
// as an OpenAI-compatible judge. A fixture collection becomes an eval set → base with and without
// knowledge → rows, scores and intervals stored → a clearly worse version is flagged → the
// activation gate refuses it without override → the eval file uploaded as training data is
// caught as leakage → a run survives its process being killed.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "@/server/db/schema";
import { evalFingerprints, evalResults, evalRows, evalRuns } from "@/server/evals/schema";
import { collect, freshApp } from "../helpers/app";
import { starterModelPath } from "../helpers/model";
import { chatJsonl } from "../studio/corpus";
import { loopbackServer } from "../widget/loopback";
import { assistantWithFaq, uploadTrainingData, waitForRun, type App } from "./helpers";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLEAN = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0.1 };

let app: App;
let assistantId: string;
let starterId: string;
let collectionId: string;
let documentId: string;
let setId: string;
let badModelId: string;
let matrixRunId: string;

beforeAll(async () => {
  app = await freshApp({ ATELIER_TRAIN_THREADS: "1" });
  ({ assistantId, starterId, collectionId, documentId } = await assistantWithFaq(app));
});

afterAll(async () => {
  const { evalRunnerFor } = await import("@/server/evals");
  await evalRunnerFor(app.db).drained();
  const { runnerFor } = await import("@/server/studio/runner");
  await runnerFor(app.db).drained();
  const { ModelPool } = await import("@/server/llm/pool");
  await ModelPool.instance()[Symbol.asyncDispose]();
});

/** A loopback port nothing listens on (a "down" endpoint). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

const rowCount = (id: string, status?: "accepted" | "candidate") =>
  app.db.select({ n: sql<number>`count(*)` }).from(evalRows).where(status ? and(eq(evalRows.setId, id), eq(evalRows.status, status)) : eq(evalRows.setId, id)).get()!.n;

describe("eval sets", () => {
  it("builds candidates from the collection's own structure; only reviewed rows count", async () => {
    const set = await app.caller().evals.sets.create({ name: "Atelier FAQ", assistantId, isDefault: true, description: "" });
    setId = set.id;
    expect(set.isDefault).toBe(true);
    const built = await app.caller().evals.sets.buildFromCollection({ setId, collectionId, limit: 50 });
    expect(built.generator).toBeNull();
    const detail = await app.caller().evals.sets.get({ id: setId });
    expect(detail.rows.length).toBe(built.added);
    expect(detail.rows.every((r) => r.status === "candidate")).toBe(true);
    expect(detail.coverage.rows).toBe(0);
    const byQ = new Map(detail.rows.map((r) => [r.question, r]));
    // FAQ pairs, headings and definitions from the fixture (tests/evals/fixtures/atelier-faq.md)
    expect(byQ.get("How do I change the port?")).toMatchObject({
      reference: "Atelier listens on port 3000 by default. Set the PORT environment variable before starting, for example PORT=8080 npm start.",
      expectedSource: { kind: "document", id: documentId, title: "Atelier FAQ" },
      provenance: { documentId, rule: "faq" },
    });
    expect(byQ.get("How do I change the port?")!.facts).toContain("3000");
    expect(byQ.get("What should I know about the widget?")?.provenance?.rule).toBe("heading");
    expect(byQ.get("What is Atelier?")?.provenance?.rule).toBe("definition");
    expect(byQ.get("What is a GGUF file?")?.reference).toBe("A GGUF file is a single file that holds the weights, the tokenizer and the chat template of a model.");
    expect(detail.rows.filter((r) => r.provenance?.rule === "faq").length).toBe(11);

    // nothing to run on yet: every metric is named as impossible
    await expect(app.caller().evals.runs.start({ assistantId, setId })).rejects.toThrow(/no accepted rows, so none of the metrics \(required facts, token-F1, ROUGE-L, citation hit, refusal correctness\) can be computed\. Review its \d+ candidate rows first/);

    const models = byQ.get("What should I know about models?")!;
    const port = byQ.get("How do I change the port?")!;
    const accept = detail.rows.filter((r) => r.id !== models.id).map((r) => ({ id: r.id, ...(r.id === port.id ? { row: { ...r, facts: ["3000", "/\\bPORT\\b/"] } } : {}) }));
    expect(await app.caller().evals.rows.review({ setId, accept, drop: [models.id] })).toEqual({ accepted: accept.length, dropped: 1 });
    await expect(app.caller().evals.rows.review({ setId, accept: [{ id: port.id }], drop: [] })).rejects.toThrow(/already reviewed/);
    await app.caller().evals.rows.add({ setId, rows: [{ question: "What is the capital of France?", shouldRefuse: true, facts: [] }] });
    const after = await app.caller().evals.sets.get({ id: setId });
    expect(after.coverage).toMatchObject({ rows: accept.length + 1, candidates: 0, shouldRefuse: 1 });
    expect(after.rows.find((r) => r.id === port.id)!.facts).toEqual(["3000", "/\\bPORT\\b/"]);
    // accepted rows are fingerprinted (question + answer); the dropped one is gone with its fingerprints
    // (the reference's long second sentence gets its own fingerprint: a training paragraph quoting it is caught too)
    expect(app.db.select().from(evalFingerprints).where(eq(evalFingerprints.rowId, port.id)).all().map((f) => f.kind).sort()).toEqual(["answer", "answer", "question"]);
    expect(app.db.select().from(evalRows).where(eq(evalRows.id, models.id)).get()).toBeUndefined();
  });

  it("imports .jsonl and .csv all or nothing with the file and line, and round-trips an export", async () => {
    const other = await app.caller().evals.sets.create({ name: "Imported", assistantId, isDefault: false, description: "" });
    const bad = [
      { fileName: "bad.jsonl", content: '{"question":"Fine?","answer":"Yes."}\n\n{"question":"Also fine?"}\n{"question": nope}\n', error: /"bad\.jsonl" line 4: invalid JSON/ },
      { fileName: "typo.jsonl", content: '{"question":"Q?","refrence":"A"}\n', error: /"typo\.jsonl" line 1: unknown field "refrence"; expected question, answer/ },
      { fileName: "regex.csv", content: 'question,answer,facts\nQ?,A,"[""/(a+)+/""]"\n', error: /"regex\.csv" line 2: the regular expression \/\(a\+\)\+\/ nests quantifiers/ },
      { fileName: "cols.csv", content: "question,answr\nQ?,A\n", error: /"cols\.csv" line 1: unknown column "answr"/ },
      { fileName: "cells.csv", content: 'question,answer\nQ1?,A1\n"Q2\nspans two lines?",A2\nQ3?,A3,extra\n', error: /"cells\.csv" line 5: the row has 3 cells, the header has 2/ },
      { fileName: "refuse.csv", content: "question,should_refuse\nQ?,maybe\n", error: /"refuse\.csv" line 2: should_refuse must be true or false/ },
      { fileName: "rows.txt", content: "Q?", error: /eval files are \.jsonl or \.csv/ },
    ];
    for (const b of bad) {
      await expect(app.caller().evals.sets.import({ setId: other.id, ...b }), b.fileName).rejects.toThrow(b.error);
      expect(rowCount(other.id)).toBe(0);
    }
    const good = 'question,answer,facts,expected_source,should_refuse\n"Which port does Atelier use?","Port 3000.","[""3000""]",Atelier FAQ,false\nWho won the match?,,,,yes\n';
    expect(await app.caller().evals.sets.import({ setId: other.id, fileName: "good.csv", content: good })).toEqual({ added: 2 });
    const imported = (await app.caller().evals.sets.get({ id: other.id })).rows;
    expect(imported[0]).toMatchObject({ facts: ["3000"], expectedSource: { kind: "document", id: documentId, title: "Atelier FAQ" }, shouldRefuse: false, status: "accepted", origin: "import" });
    expect(imported[1]).toMatchObject({ question: "Who won the match?", reference: null, shouldRefuse: true });

    for (const format of ["jsonl", "csv"] as const) {
      const file = await app.caller().evals.sets.export({ setId, format });
      const copy = await app.caller().evals.sets.create({ name: `copy ${format}`, assistantId: null, isDefault: false, description: "" });
      await app.caller().evals.sets.import({ setId: copy.id, fileName: file.fileName, content: file.content });
      const strip = (rows: { question: string; reference: string | null; facts: string[]; expectedSource: unknown; shouldRefuse: boolean }[]) =>
        rows.map(({ question, reference, facts, expectedSource, shouldRefuse }) => ({ question, reference, facts, expectedSource, shouldRefuse }));
      expect(strip((await app.caller().evals.sets.get({ id: copy.id })).rows)).toEqual(strip((await app.caller().evals.sets.get({ id: setId })).rows));
      await app.caller().evals.sets.delete({ id: copy.id });
    }
  });

  it("turns rated conversations into candidates: thumbs up gives the reference, thumbs down a row to fix", async () => {
    const answers: string[] = [];
    for (const [q, rating] of [["How do I stop an answer?", 1], ["What is perplexity?", -1]] as const) {
      const conv = await app.caller().conversations.create({ assistantId });
      const events = await collect(await app.caller().chat.send({ kind: "send", conversationId: conv.id, content: q }));
      const done = events.at(-1) as { type: string; message: { id: string; content: string } };
      expect(done.type).toBe("done");
      app.db.update(messages).set({ feedback: rating }).where(eq(messages.id, done.message.id)).run();
      answers.push(done.message.content);
    }
    const target = await app.caller().evals.sets.create({ name: "From chats", assistantId, isDefault: false, description: "" });
    expect(await app.caller().evals.sets.fromConversations({ setId: target.id, assistantId, ratings: "both", limit: 10 })).toEqual({ added: 2, skipped: 0 });
    const rows = (await app.caller().evals.sets.get({ id: target.id })).rows;
    const up = rows.find((r) => r.question === "How do I stop an answer?")!;
    const down = rows.find((r) => r.question === "What is perplexity?")!;
    expect(up).toMatchObject({ status: "candidate", origin: "conversation", reference: answers[0]!.trim(), provenance: { rating: 1 } });
    expect(down).toMatchObject({ status: "candidate", reference: null, provenance: { rating: -1, answer: answers[1] } });
    // the same messages are not added twice
    expect(await app.caller().evals.sets.fromConversations({ setId: target.id, assistantId, ratings: "both", limit: 10 })).toEqual({ added: 0, skipped: 2 });
  }, 240_000);
});

describe("candidate writers", () => {
  it("a generator that is down leaves the documents' own wording, says so on each row, and stores them for review", async () => {
    const port = await closedPort();
    const target = await app.caller().evals.sets.create({ name: "Generated (down)", assistantId, isDefault: false, description: "" });
    const built = await app.caller().evals.sets.buildFromCollection({ setId: target.id, collectionId, limit: 4, generator: { kind: "endpoint", url: `http://127.0.0.1:${port}/v1`, model: "writer", apiKey: null } });
    expect(built).toMatchObject({ added: 4, generator: { rewritten: 0, failed: 4 } });
    expect(built.generator!.note).toMatch(/^4 of 4 candidates kept the document's own wording \(generator unavailable: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions is unreachable \(ECONNREFUSED\)\)\.$/);
    const rows = (await app.caller().evals.sets.get({ id: target.id })).rows;
    expect(rows.every((r) => r.status === "candidate" && r.origin === "knowledge" && /^generator unavailable: /.test(r.provenance?.note ?? ""))).toBe(true);
  });

  it("a registered model writes candidates through the engine (kept for review either way)", async () => {
    const target = await app.caller().evals.sets.create({ name: "Generated (starter)", assistantId, isDefault: false, description: "" });
    const built = await app.caller().evals.sets.buildFromCollection({ setId: target.id, collectionId, limit: 3, generator: { kind: "model", modelId: starterId } });
    expect(built.added).toBe(3);
    expect(built.generator).toMatchObject({ used: "model Atelier starter" });
    expect(built.generator!.rewritten + built.generator!.failed).toBe(3);
    const rows = (await app.caller().evals.sets.get({ id: target.id })).rows;
    for (const r of rows) {
      expect(r.status).toBe("candidate");
      expect(r.provenance?.generator).toBe("model Atelier starter");
      // rewritten rows are "generated"; a reply that was not "Question: … Answer: …" keeps the structural row with the reason
      if (r.origin === "generated") expect(r.reference!.length).toBeGreaterThan(0);
      else expect(r.provenance?.note).toMatch(/^the generator's reply could not be read/);
    }
  }, 240_000);
});

describe("eval runs", () => {
  it("waits its turn behind training on the shared queue, then scores base with and without knowledge", async () => {
    const up = await uploadTrainingData(app, "Printer chats", [{ name: "chats.jsonl", body: chatJsonl() }]);
    expect(up.status).toBe(200);
    // a version that cannot know anything about Atelier: a tiny model from scratch on printer chats, a few steps
    const training = await app.caller().studio.runs.start({
      datasetId: up.body.dataset.id, baseModelId: null, goal: "scratch", method: "scratch", scratchSize: "tiny", epochs: 1, cleaning: CLEAN, assistantId,
      name: "printer scratch", advanced: { seqLen: 64, batch: 4, maxSteps: 6, learningRate: 1e-2 },
    });
    const base = await app.caller().evals.runs.start({ assistantId, setId, name: "base ± knowledge" });
    const early = await app.caller().evals.runs.get({ id: base.runId });
    expect(early.configs.map((c) => [c.modelId, c.knowledge])).toEqual([[starterId, true], [starterId, false]]);
    // one heavy job at a time: the eval waits while the trainer runs
    expect((await app.caller().studio.runs.get({ id: training.runId })).status).toMatch(/running|queued/);
    expect(early.status).toBe("queued");
    const run = await waitForRun(app, base.runId, ["succeeded", "failed"]);
    const trained = await app.caller().studio.runs.get({ id: training.runId });
    expect(trained.status).toBe("succeeded");
    expect(run.startedAt!).toBeGreaterThanOrEqual(trained.finishedAt!);
    badModelId = trained.modelId!;

    expect(run.status).toBe("succeeded");
    const rows = rowCount(setId, "accepted");
    expect(run.progress).toEqual({ done: rows * 2, total: rows * 2, fraction: 1 });
    const results = app.db.select().from(evalResults).where(eq(evalResults.runId, run.id)).all();
    expect(results).toHaveLength(rows * 2);
    for (const r of results) {
      expect(r.answer.length).toBeGreaterThan(0);
      expect(r.answerTokens!).toBeGreaterThan(0);
      expect(r.ttftMs!).toBeGreaterThan(0);
      expect(r.refusalCorrect).not.toBeNull();
      // knowledge on: the passages given to the model are stored with the answer
      if (r.configIdx === 1) expect([r.citations.length, r.citationHit, r.sourceRetrieved]).toEqual([0, null, null]);
    }
    // knowledge on: the passages given to the model are stored with the answer (the out-of-scope question finds none)
    const withSources = results.filter((r) => r.configIdx === 0 && r.citations.length > 0).length;
    expect(withSources).toBeGreaterThanOrEqual(rows - 1);
    const s = run.summary!;
    expect(s).toMatchObject({ seed: 1234, resamples: 2000, rows, enoughRows: true });
    for (const c of s.configs) {
      for (const k of ["tokenF1", "rougeL", "refusalCorrect", "factsHit", "answerTokens", "ttftMs"] as const) {
        const v = c.metrics[k]!;
        expect(v.low).toBeLessThanOrEqual(v.mean);
        expect(v.mean).toBeLessThanOrEqual(v.high);
      }
    }
    // the starter was trained on these very answers: it repeats most of them
    expect(s.configs[1]!.metrics.tokenF1!.mean).toBeGreaterThan(0.5);
    expect(s.configs[0]!.metrics.sourceRetrieved!.mean).toBeGreaterThan(0.8);
    expect(s.comparisons).toHaveLength(1);
    expect(s.verdict.join(" ")).toMatch(/With the knowledge base, Atelier starter gets \d+% of/);
  }, 600_000);

  it("flags a clearly worse version, with the planner's advice beside the measured winner", async () => {
    const { runId } = await app.caller().evals.runs.start({ assistantId, setId, name: "matrix" });
    matrixRunId = runId;
    const run = await waitForRun(app, runId, ["succeeded", "failed"]);
    expect(run.status).toBe("succeeded");
    expect(run.configs.map((c) => [c.modelId, c.knowledge])).toEqual([[starterId, true], [starterId, false], [badModelId, true], [badModelId, false]]);
    const s = run.summary!;
    const g = s.gateMetric!;
    // starter with knowledge vs the scratch version with knowledge: worse beyond chance
    const pair = s.comparisons.find((p) => p.a === 0 && p.b === 2)!;
    expect(pair.wins).toBeGreaterThan(pair.losses);
    expect(pair.pValue).toBeLessThan(0.05);
    expect(pair.difference!.low).toBeGreaterThan(0);
    expect(pair.sentence).toMatch(/is better than .* on \d+ of \d+ questions/);
    expect(s.configs[2]!.metrics[g]!.mean).toBeLessThan(s.configs[0]!.metrics[g]!.mean);
    expect(s.recommendation!.configIdx).toBeLessThan(2);
    expect(s.measuredWinner!.configIdx).toBeLessThan(2);
    expect(s.verdict.join(" ")).toMatch(/printer scratch loses \d+ points? over Atelier starter with the knowledge base for \d+ seconds of training/);
    expect(s.best[g]!.every((i) => i < 2)).toBe(true);
    // the planner's advice for the run that produced the version, checked against the outcome
    expect(s.planner).toHaveLength(1);
    expect(s.planner[0]).toMatchObject({ modelId: badModelId, modelName: "printer scratch" });
    expect(["knowledge", "lora", "scratch"]).toContain(s.planner[0]!.recommendation);
    expect(s.planner[0]!.sentence).toMatch(/the planner advised .*; measured, Atelier starter .* scores best.*, so the trained version does not earn its place — the advice (held|did not hold)\./);
    expect(s.planner[0]).toMatchObject({ measuredWinner: s.measuredWinner!.label, recommended: s.recommendation!.label });

    // drill-down: side by side, failures only, exports
    const all = await app.caller().evals.runs.results({ runId, limit: 500 });
    expect(all.total).toBe(rowCount(setId, "accepted"));
    expect(all.rows[0]!.cells.map((c) => c.configIdx)).toEqual([0, 1, 2, 3]);
    const failures = await app.caller().evals.runs.results({ runId, failuresOnly: true, limit: 500 });
    expect(failures.total).toBeGreaterThan(0);
    expect(failures.rows.every((r) => r.cells.some((c) => c.failed))).toBe(true);
    const csv = await app.caller().evals.runs.export({ runId, format: "csv" });
    expect(csv.content.trim().split("\n")).toHaveLength(1 + all.total * 4);
    const jsonl = await app.caller().evals.runs.export({ runId, format: "jsonl" });
    const first = JSON.parse(jsonl.content.split("\n")[0]!);
    expect(first).toMatchObject({ row: 1, configuration: run.configs[0]!.label });
  }, 600_000);

  it("the activation gate refuses the worse version without an override and records the override in its lineage", async () => {
    const evidence = await app.caller().evals.gate.evidence({ assistantId, modelId: badModelId });
    expect(evidence).toMatchObject({ verdict: "worse", evalRunId: matrixRunId });
    expect(evidence.ciHigh!).toBeLessThan(0);
    await expect(app.caller().studio.versions.activate({ assistantId, modelId: badModelId })).rejects.toMatchObject({
      code: "PRECONDITION_FAILED",
      message: expect.stringMatching(/^Activation refused: printer scratch against Atelier starter with knowledge on "Atelier FAQ": worse beyond the interval \(−\d+ points of .*95% CI .*run "matrix"\)\. Activate with the override/),
    });
    expect((await app.caller().studio.versions.activate({ assistantId, modelId: badModelId, override: true })).previousModelId).toBe(starterId);
    let lineage = await app.caller().evals.gate.lineage({ assistantId });
    expect(lineage.find((l) => l.modelId === badModelId)).toMatchObject({ verdict: "worse", overridden: true, evalRunId: matrixRunId, previousModelId: starterId });
    // back to the starter: better on the same run, so no override is needed
    await app.caller().studio.versions.activate({ assistantId, modelId: starterId });
    lineage = await app.caller().evals.gate.lineage({ assistantId });
    expect(lineage.find((l) => l.modelId === starterId)).toMatchObject({ verdict: "better", overridden: false, evalRunId: matrixRunId });
  });

  it("warns with the count when the eval file is uploaded as training data, and leaves those records out", async () => {
    const file = await app.caller().evals.sets.export({ setId, format: "jsonl" });
    const withReference = file.content.trim().split("\n").filter((l) => JSON.parse(l).answer !== null);
    const up = await uploadTrainingData(app, "oops", [{ name: "evals.jsonl", body: withReference.join("\n") + "\n" }, { name: "chats.jsonl", body: chatJsonl().split("\n").slice(0, 20).join("\n") }]);
    expect(up.status).toBe(200);
    const n = withReference.length;
    expect(up.body.files[0]!.warnings).toEqual([`${n} records contain a question or answer of ${n} eval rows (eval set "Atelier FAQ"); they are left out of training so the evaluation stays fair.`]);
    expect(up.body.files[1]!.warnings).toEqual([]);
    const preview = await app.caller().studio.datasets.preview({ id: up.body.dataset.id, baseModelId: starterId, cleaning: CLEAN });
    expect(preview.evalLeakage).toMatchObject({ records: n, evalRows: n, sets: ["Atelier FAQ"] });
    expect(preview.records).toBe(20);
    const { prepareData } = await import("@/server/studio/prepare");
    const prepared = await prepareData(app.db, { datasetId: up.body.dataset.id, baseModelId: starterId, method: "lora", cleaning: CLEAN });
    expect(prepared.cleaned.before).toBe(20);
  });

  it("survives its process being killed: a restart continues with the answers already stored", async () => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/atelier.mjs"), "eval", "--assistant", "Atelier Guide", "--set", setId, "--knowledge", "on,off", "--concurrency", "1", "--max-tokens", "16"], {
      env: { ...process.env, ATELIER_DATA_DIR: app.dataDir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    let run: typeof evalRuns.$inferSelect | undefined;
    const until = Date.now() + 120_000;
    for (;;) {
      run = app.db.select().from(evalRuns).where(sql`${evalRuns.name} like 'command line%'`).get();
      const stored = run ? app.db.select({ n: sql<number>`count(*)` }).from(evalResults).where(eq(evalResults.runId, run.id)).get()!.n : 0;
      if (stored >= 3) break;
      if (Date.now() > until) throw new Error(`the command line never got going:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    const killed = app.db.select().from(evalRuns).where(eq(evalRuns.id, run!.id)).get()!;
    expect(killed.status).toBe("running");
    expect(killed.pid).not.toBe(process.pid);
    const kept = app.db.select({ id: evalResults.id, rowIdx: evalResults.rowIdx, configIdx: evalResults.configIdx, answer: evalResults.answer }).from(evalResults).where(eq(evalResults.runId, run!.id)).all();
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(killed.totalItems);

    const { recoverEvalRuns } = await import("@/server/evals");
    expect(recoverEvalRuns(app.db)).toEqual({ requeued: [run!.id] });
    const done = await waitForRun(app, run!.id, ["succeeded", "failed"]);
    expect(done.status).toBe("succeeded");
    expect(done.log.join("\n")).toMatch(/queued again with \d+ of \d+ answers kept[\s\S]*continuing: \d+ of \d+ answers were already stored/);
    const final = app.db.select({ id: evalResults.id, rowIdx: evalResults.rowIdx, configIdx: evalResults.configIdx, answer: evalResults.answer }).from(evalResults).where(eq(evalResults.runId, run!.id)).all();
    expect(final).toHaveLength(killed.totalItems);
    for (const k of kept) expect(final).toContainEqual(k);
  }, 300_000);

  it("the command line prints the matrix and writes the JSON", async () => {
    const out = path.join(app.dataDir, "cli.json");
    const child = spawn(process.execPath, [path.join(ROOT, "bin/atelier.mjs"), "eval", "--assistant", assistantId, "--set", "Atelier FAQ", "--knowledge", "off", "--versions", starterId, "--max-tokens", "24", "--json", out], {
      env: { ...process.env, ATELIER_DATA_DIR: app.dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", r));
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^Configuration\s+Required facts\s+Token-F1\s+ROUGE-L\s+Refusal correct/);
    expect(stdout).toMatch(/1\. Atelier starter \(active\) · no knowledge\s+\d+% \[\d+%–\d+%\]/);
    expect(stdout).toContain("questions; mean [95% bootstrap CI, seed 1234, 2000 resamples]; * best in column.");
    expect(stderr).toMatch(/"done":\d+,"total":\d+/);
    const json = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(json).toMatchObject({ status: "succeeded", setName: "Atelier FAQ" });
  }, 300_000);
});

describe("bad input", () => {
  it("an empty set, or one without references, says which metrics cannot be computed", async () => {
    const empty = await app.caller().evals.sets.create({ name: "Empty", assistantId, isDefault: false, description: "" });
    expect(empty.coverage.cannotCompute).toEqual([{ metric: "all metrics", reason: "The set has no accepted rows, so no metric can be computed; add rows or accept candidates." }]);
    await expect(app.caller().evals.runs.start({ assistantId, setId: empty.id })).rejects.toThrow(/"Empty" has no accepted rows, so none of the metrics .* can be computed\. Add rows first\./);
    await app.caller().evals.rows.add({ setId: empty.id, rows: Array.from({ length: 3 }, (_, i) => ({ question: `Question ${i}?`, facts: [], shouldRefuse: false })) });
    const started = await app.caller().evals.runs.start({ assistantId, setId: empty.id, knowledge: ["off"], maxTokens: 8 });
    expect(started.warnings).toEqual([
      "No row lists required facts, so the required-facts hit rate cannot be computed.",
      "No row has a reference answer, so token-F1 and ROUGE-L cannot be computed.",
      "No row names an expected source, so citation hit (and whether retrieval found the source) cannot be computed.",
    ]);
    const run = await waitForRun(app, started.runId, ["succeeded", "failed"]);
    expect(run.summary!.cannotCompute.map((c) => c.metric)).toEqual(["required facts", "token-F1 and ROUGE-L", "citation hit"]);
    expect(run.summary!.gateMetric).toBe("refusalCorrect");
    expect(run.summary!.configs[0]!.metrics.tokenF1).toBeNull();
    expect(run.summary!.verdict.join(" ")).toContain("Only 3 questions: too few for a conclusion");

    // a persona to try beside the saved one is one more configuration
    const personas = await app.caller().evals.runs.start({ assistantId, setId: empty.id, versions: [starterId], knowledge: ["off"], maxTokens: 8, personas: [{ label: "pirate", systemPrompt: "Answer like a pirate." }] });
    const withPersona = await waitForRun(app, personas.runId, ["succeeded", "failed"]);
    expect(withPersona.configs.map((c) => [c.personaLabel, c.systemPrompt, c.label])).toEqual([
      [null, "You are Atelier's guide. Answer questions about Atelier briefly.", "Atelier starter (active) · no knowledge"],
      ["pirate", "Answer like a pirate.", "Atelier starter (active) · no knowledge · pirate"],
    ]);
    expect(withPersona.progress).toMatchObject({ done: 6, total: 6 });
  }, 240_000);

  it("an answer the engine cannot give is stored with its error and scored as an empty answer; a run where every answer fails ends failed", async () => {
    // 4000 characters of distinct words: far more tokens than the starter's 512-token context holds
    const huge = `${Array.from({ length: 700 }, (_, i) => `w${i}`).join(" ")}?`.slice(-4000);
    const mixed = await app.caller().evals.sets.create({ name: "One too long", assistantId, isDefault: false, description: "" });
    await app.caller().evals.rows.add({ setId: mixed.id, rows: [{ question: "How do I change the port?", reference: "Set PORT.", facts: ["PORT"], shouldRefuse: false }, { question: huge, reference: "Nothing.", facts: ["nothing"], shouldRefuse: false }] });
    const ran = await waitForRun(app, (await app.caller().evals.runs.start({ assistantId, setId: mixed.id, versions: [starterId], knowledge: ["off"], maxTokens: 8 })).runId, ["succeeded", "failed"]);
    expect(ran.status).toBe("succeeded");
    const [ok, failed] = app.db.select().from(evalResults).where(eq(evalResults.runId, ran.id)).orderBy(evalResults.rowIdx).all();
    expect(ok!.error).toBeNull();
    expect(failed!.error).toMatch(/too long|context/i);
    // no answer is what a visitor would get: it misses its facts and its reference, and generated no tokens
    expect([failed!.answer, failed!.factsHit, failed!.tokenF1, failed!.rougeL, failed!.answerTokens, failed!.ttftMs]).toEqual(["", 0, 0, 0, null, null]);
    expect(ran.summary!.configs[0]!.errors).toBe(1);
    expect(ran.summary!.configs[0]!.metrics.tokenF1!.n).toBe(2);
    expect(ran.summary!.configs[0]!.metrics.answerTokens!.n).toBe(1);
    expect(ran.log.join("\n")).toMatch(/1 of 2 answers failed and count as empty answers \(first: /);

    const only = await app.caller().evals.sets.create({ name: "Only too long", assistantId, isDefault: false, description: "" });
    await app.caller().evals.rows.add({ setId: only.id, rows: [{ question: huge, facts: [], shouldRefuse: false }] });
    const dead = await waitForRun(app, (await app.caller().evals.runs.start({ assistantId, setId: only.id, versions: [starterId], knowledge: ["off"], maxTokens: 8 })).runId, ["succeeded", "failed"]);
    expect(dead.status).toBe("failed");
    expect(dead.error).toMatch(/^Every answer failed, so nothing was measured: .*(too long|context)/i);
  }, 120_000);

  it("a judge that is down marks its rows 'judge unavailable' and the run completes", async () => {
    const port = await closedPort();
    const { runId } = await app.caller().evals.runs.start({ assistantId, setId, versions: [starterId], knowledge: ["off"], maxTokens: 16, judge: { kind: "endpoint", url: `http://127.0.0.1:${port}/v1`, model: "judge", apiKey: "k" } });
    const run = await waitForRun(app, runId, ["succeeded", "failed"]);
    expect(run.status).toBe("succeeded");
    const results = app.db.select().from(evalResults).where(eq(evalResults.runId, runId)).all();
    expect(results.every((r) => r.judgeStatus === "unavailable" && r.judgeScore === null && /^judge unavailable: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions is unreachable \(ECONNREFUSED\)/.test(r.judgeReason!))).toBe(true);
    expect(run.summary!.configs[0]!.judge).toMatchObject({ score: null, unavailable: results.length });
    // the deterministic metrics are there all the same
    expect(run.summary!.configs[0]!.metrics.tokenF1).not.toBeNull();
    expect(run.options.judge).toBe(`judge at http://127.0.0.1:${port}/v1`);
    expect(JSON.stringify(await app.caller().evals.runs.get({ id: runId }))).not.toContain('"k"');
  }, 240_000);

  it("a judge behind a real OpenAI-compatible endpoint (this instance's /v1) gives its opinion apart from the metrics", async () => {
    // a judge assistant of its own (no knowledge to pack into its tiny context), served by /v1 with an API key
    const judgeAssistant = await app.caller().assistants.create({
      name: "Judge", avatar: null, color: "#334155", systemPrompt: "You grade answers.", greeting: null, starterQuestions: [], outOfScopeReply: null, historyWindow: 0,
      sampling: { temperature: 0, topP: 1, topK: 40, repeatPenalty: 1.1, maxTokens: 24 }, modelId: starterId, collectionIds: [],
    });
    await app.caller().deploy.get({ assistantId: judgeAssistant.id });
    const { publicId } = await app.caller().deploy.update({ assistantId: judgeAssistant.id, patch: { enabled: true, allowedOrigins: [] } });
    const { key } = await app.caller().deploy.createKey({ assistantId: judgeAssistant.id, name: "judge" });
    const server = await loopbackServer();
    try {
      const small = await app.caller().evals.sets.create({ name: "Three", assistantId, isDefault: false, description: "" });
      await app.caller().evals.rows.add({ setId: small.id, rows: [{ question: "How do I change the port?", reference: "Set PORT.", facts: ["PORT"], shouldRefuse: false }, { question: "What is LoRA?", reference: "A small adapter.", facts: [], shouldRefuse: false }, { question: "What is the capital of France?", facts: [], shouldRefuse: true }] });
      const { runId } = await app.caller().evals.runs.start({ assistantId, setId: small.id, versions: [starterId], knowledge: ["off"], maxTokens: 24, judge: { kind: "endpoint", url: `${server.url}/v1`, model: publicId, apiKey: key } });
      const run = await waitForRun(app, runId, ["succeeded", "failed"]);
      expect(run.status).toBe("succeeded");
      const results = app.db.select().from(evalResults).where(eq(evalResults.runId, runId)).all();
      expect(results).toHaveLength(3);
      // the starter is no grader: whatever it says is stored as an opinion ("ok" with a score, or "unparsed"), never "unavailable"
      for (const r of results) {
        expect(["ok", "unparsed"]).toContain(r.judgeStatus);
        expect(r.judgeReason!.length).toBeGreaterThan(0);
        if (r.judgeStatus === "ok") expect(r.judgeScore).toBeGreaterThanOrEqual(1);
      }
      const c = run.summary!.configs[0]!;
      expect(c.judge!.unavailable).toBe(0);
      expect(Object.keys(c.metrics)).not.toContain("judge");
    } finally {
      await server.close();
    }
  }, 240_000);

  it("a version deleted during a run fails that run with the reason", async () => {
    const copy = path.join(app.dataDir, "starter-copy.gguf");
    fs.copyFileSync(starterModelPath(), copy);
    const m = await app.caller().models.addLocal({ path: copy, name: "starter copy" });
    const { runId } = await app.caller().evals.runs.start({ assistantId, setId, versions: [m.id], knowledge: ["off"], concurrency: 1, maxTokens: 48 });
    const until = Date.now() + 120_000;
    while (app.db.select({ n: sql<number>`count(*)` }).from(evalResults).where(eq(evalResults.runId, runId)).get()!.n < 1) {
      if (Date.now() > until) throw new Error("no answer stored");
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.caller().models.remove({ id: m.id });
    const run = await waitForRun(app, runId, ["succeeded", "failed"]);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^Version "starter copy" was deleted during the run; \d+ of \d+ answers had been stored\.$/);
    expect(run.configs[0]!.modelName).toBe("starter copy");
  }, 180_000);

  it("cancels a queued or running run, keeping what it stored", async () => {
    const { runId } = await app.caller().evals.runs.start({ assistantId, setId, knowledge: ["on"], concurrency: 1, maxTokens: 48 });
    const until = Date.now() + 60_000;
    while (app.db.select({ n: sql<number>`count(*)` }).from(evalResults).where(eq(evalResults.runId, runId)).get()!.n < 1) {
      if (Date.now() > until) throw new Error("no answer stored");
      await new Promise((r) => setTimeout(r, 50));
    }
    await app.caller().evals.runs.cancel({ id: runId });
    const run = await waitForRun(app, runId, ["cancelled"]);
    expect(run.progress.done).toBeGreaterThanOrEqual(1);
    expect(run.progress.done).toBeLessThan(run.progress.total);
    await expect(app.caller().evals.runs.cancel({ id: runId })).rejects.toThrow(/already cancelled/);
    await app.caller().evals.runs.delete({ id: runId });
    expect(app.db.select().from(evalResults).where(eq(evalResults.runId, runId)).all()).toEqual([]);
  }, 240_000);

  it("refuses a set of another assistant and a judge that is not http(s)", async () => {
    const other = await app.caller().assistants.create({
      name: "Other", avatar: null, color: "#123456", systemPrompt: "", greeting: null, starterQuestions: [], outOfScopeReply: null, historyWindow: 0,
      sampling: { temperature: 0.3, topP: 0.9, topK: 40, repeatPenalty: 1.1, maxTokens: 8 }, modelId: starterId, collectionIds: [],
    });
    await expect(app.caller().evals.runs.start({ assistantId: other.id, setId })).rejects.toThrow(/The eval set "Atelier FAQ" belongs to another assistant/);
    await expect(app.caller().evals.runs.start({ assistantId, setId, judge: { kind: "endpoint", url: "ftp://example.com", model: "m" } })).rejects.toThrow(/must be http or https/);
    await expect(app.caller().evals.runs.start({ assistantId, setId, judge: { kind: "endpoint", url: "http://user:pw@example.com/v1", model: "m" } })).rejects.toThrow(/not in the URL/);
  });
});
