import type { AnyProcedure } from "@trpc/server";
import { beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { collect, freshApp } from "../helpers/app";
import { deployDefault } from "../widget/helpers";
import { loopbackServer } from "../widget/loopback";

/*
 * Queries read, mutations write. Every query procedure of the router (walked at run time, like
 * authz-matrix.test.ts) is called with a real input on a database that has one of everything, and
 * SQLite's own change counter (total_changes()) and every table's row count must not move. A new
 * query needs an input below (the test fails without one), so none slips through unchecked.
 */

type Caller = Awaited<ReturnType<Awaited<ReturnType<typeof freshApp>>["callerAs"]>>;
let app: Awaited<ReturnType<typeof freshApp>>;
let inputs: Record<string, unknown>;

const queries = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
  .filter(([, p]) => p._def.type === "query")
  .map(([path]) => path)
  .sort();

beforeAll(async () => {
  app = await freshApp();
  const caller = app.caller();
  const [assistant] = await caller.assistants.list();
  const assistantId = assistant!.id;
  const conversation = await caller.conversations.create({ assistantId });
  const col = await caller.knowledge.createCollection({ name: "Reads" });
  const upload = await collect(await caller.knowledge.upload({ collectionId: col.id, fileName: "a.md", data: Buffer.from("# Tides\n\nThe gate opens at high tide.").toString("base64") }));
  const done = upload.at(-1);
  if (done?.type !== "done") throw new Error("upload failed");
  // No deployment yet: opening the Deploy page must not create one by reading (deploy.get).
  const { createDataset } = await import("@/server/studio");
  const dataset = await createDataset(app.db, { name: "qa", files: [{ name: "qa.jsonl", bytes: new TextEncoder().encode('{"question":"What is it?","answer":"A tide gate."}\n'), mime: null }] }, app.admin);
  const models = await caller.models.list();
  const modelId = models[0]!.id;
  const evalSet = await caller.evals.sets.create({ name: "Reads", assistantId });
  const cleaning = { dedupe: true, nearDedupe: true, scrubPii: true, minChars: 0, maxChars: 100_000, heldOutFraction: 0 };
  inputs = {
    "assistants.collections": undefined,
    "assistants.defaults": undefined,
    "assistants.get": { id: assistantId },
    "assistants.history": { id: assistantId },
    "assistants.list": { status: "all" },
    "auth.session": undefined,
    "conversations.get": { id: conversation.id },
    "conversations.list": { search: "x" },
    "deploy.conversations": { assistantId },
    "deploy.export": { assistantId, format: "csv" },
    "deploy.get": { assistantId },
    "deploy.list": undefined,
    "deploy.messages": { assistantId, conversationId: conversation.id },
    "evals.gate.evidence": { assistantId, modelId },
    "evals.gate.lineage": { assistantId },
    "evals.meta": undefined,
    "evals.runs.export": { runId: "no-such-run", format: "csv" },
    "evals.runs.get": { id: "no-such-run" },
    "evals.runs.list": undefined,
    "evals.runs.results": { runId: "no-such-run" },
    "evals.sets.export": { setId: evalSet.id, format: "jsonl" },
    "evals.sets.get": { id: evalSet.id },
    "evals.sets.list": { assistantId },
    "knowledge.collection": { id: col.id },
    "knowledge.collections": undefined,
    "knowledge.document": { id: done.result.document.id },
    "knowledge.documents": { collectionId: col.id },
    "knowledge.search": { query: "gate tide" },
    "knowledge.status": undefined,
    "loop.counts": { assistantId },
    "loop.datasetItems": { datasetId: "no-such-dataset" },
    "loop.datasets": { assistantId },
    "loop.experiments.get": { id: "no-such-experiment" },
    "loop.experiments.list": { assistantId },
    "loop.inbox": { assistantId, state: "all" },
    "models.list": undefined,
    "models.uploadLimits": undefined,
    "nodes.activationPlan": { currentModelId: modelId, modelId },
    "nodes.list": undefined,
    "studio.datasets.get": { id: dataset.dataset.id },
    "studio.datasets.list": undefined,
    "studio.datasets.preview": { id: dataset.dataset.id, baseModelId: modelId, cleaning },
    "studio.evalPrompts.get": { assistantId },
    "studio.runs.get": { id: "no-such-run" },
    "studio.runs.list": undefined,
    "studio.versions.list": { assistantId },
    "system.status": undefined,
    "users.list": undefined,
  };
});

/** Every table's row count, and the connection's total_changes() (counts every row inserted, updated or deleted). */
function snapshot() {
  const sqlite = (app.db as unknown as { $client: import("better-sqlite3").Database }).$client;
  const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'").all() as Array<{ name: string }>;
  const rows = Object.fromEntries(tables.map(({ name }) => [name, (sqlite.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n]));
  const changes = (sqlite.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
  return { rows, changes };
}

async function call(caller: Caller, path: string, input: unknown) {
  const fn = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as (input: unknown) => Promise<unknown>;
  return fn(input);
}

describe("queries never write", () => {
  it("finds the query procedures, and has an input for each", () => {
    expect(queries.length).toBeGreaterThan(20);
    expect(queries.filter((q) => !(q in inputs))).toEqual([]);
  });

  it.each(queries)("%s leaves every table as it was", async (path) => {
    const caller = await app.callerAs("admin");
    const before = snapshot();
    await call(caller, path, inputs[path]).catch((err: { code?: string }) => {
      // A query may refuse (an unknown id); it still must not write.
      if (err.code !== "NOT_FOUND") throw err;
    });
    const after = snapshot();
    expect(after.rows).toEqual(before.rows);
    expect(after.changes - before.changes).toBe(0);
  });
});

describe("public GETs never write", () => {
  it("GET /v1/models, the widget's config and frame page, and a wrong-method GET leave every table as it was", async () => {
    const { assistantId, publicId } = await deployDefault(app, ["https://shop.example"]);
    const { key } = await app.caller().deploy.createKey({ assistantId, name: "reads" });
    // A limit per address that the GETs below would use up several times over if they were counted.
    await app.caller().deploy.update({ assistantId, patch: { ipPerMinuteLimit: 2 } });
    const server = await loopbackServer();
    try {
      const gets: Array<[string, Record<string, string>, number]> = [
        ["/v1/models", { authorization: `Bearer ${key}` }, 200],
        ["/v1/chat/completions", { authorization: `Bearer ${key}` }, 405],
        [`/api/widget/${publicId}/config`, { origin: "https://shop.example" }, 200],
        [`/w/${publicId}`, {}, 200],
      ];
      const before = snapshot();
      for (let round = 0; round < 3; round++) {
        for (const [path, headers, status] of gets) {
          const res = await fetch(`${server.url}${path}`, { headers });
          await res.arrayBuffer();
          expect(res.status, `GET ${path}`).toBe(status);
        }
      }
      const after = snapshot();
      expect(after.rows).toEqual(before.rows);
      expect(after.changes - before.changes).toBe(0);
    } finally {
      await server.close();
    }
  });
});
