// Remote training worker, real processes: this test process is the Atelier server (real SQLite,
// the worker API's route handlers behind a real HTTP server); `atelier worker` processes train a
// tiny LoRA of the starter with the real forge. The first worker is killed mid-run (its whole
// process group, trainer included, as when a machine dies) after uploading a checkpoint; its lease
// runs out and a second worker resumes from that checkpoint; the output is registered with lineage.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assistants, models } from "@/server/db/schema";
import { studioRemoteRuns } from "@/server/studio/remote/schema";
import { runnerFor } from "@/server/studio/runner";
import { freshApp } from "../helpers/app";
import { chatJsonl } from "../studio/corpus";
import { centralServer, waitFor } from "./helpers";

const TOKEN = "worker-token-0123456789abcdef";
let app: Awaited<ReturnType<typeof freshApp>>;
let central: Awaited<ReturnType<typeof centralServer>>;
let starterId: string;
let datasetId: string;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-worker-test-"));
const workers: ChildProcess[] = [];

function startWorker(name: string, token = TOKEN) {
  // its own process group, so killing it takes the trainer it spawned too
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "server/worker/main.ts", "--server", central.url, "--token", token, "--name", name, "--cache-dir", path.join(tmp, name), "--threads", "1", "--poll", "0.2", "--once"],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  workers.push(proc);
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, log: () => log, exited, killGroup: () => process.kill(-proc.pid!, "SIGKILL") };
}

beforeAll(async () => {
  app = await freshApp({ ATELIER_WORKER_TOKEN: TOKEN, ATELIER_WORKER_LEASE_S: "3", ATELIER_TRAIN_THREADS: "1" });
  central = await centralServer();
  starterId = app.db.select().from(assistants).get()!.modelId!;
  const { POST } = await import("@/app/api/studio/datasets/route");
  const form = new FormData();
  form.set("name", "printer");
  form.append("files", new File([chatJsonl()], "printer.jsonl"));
  const res = await POST(new Request("http://localhost/api/studio/datasets", { method: "POST", body: form, headers: { cookie: `atelier_session=${app.admin.token}`, "x-atelier-csrf": app.admin.csrfToken } }));
  datasetId = ((await res.json()) as { dataset: { id: string } }).dataset.id;
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) process.kill(-w.pid!, "SIGKILL");
  await central?.close();
  await runnerFor(app.db).drained();
});

describe("the worker API", () => {
  it("a wrong or missing token gets 401 and learns nothing about runs", async () => {
    for (const auth of ["Bearer wrong-token-wrong-token-wrong", "", `Bearer ${TOKEN}x`]) {
      const claim = await fetch(`${central.url}/api/worker/claim`, { method: "POST", headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify({ worker: "spy" }) });
      expect(claim.status).toBe(401);
      expect(await claim.json()).toEqual({ error: { code: "unauthorized:worker", message: "Missing or wrong worker token." } });
      const file = await fetch(`${central.url}/api/worker/runs/anything/files/train.atds`, { headers: { authorization: auth } });
      expect(file.status).toBe(401);
    }
    // the right token with a made-up lease is refused too
    const r = await fetch(`${central.url}/api/worker/runs/nope/files/train.atds`, { headers: { authorization: `Bearer ${TOKEN}`, "x-atelier-lease": "guess" } });
    expect(r.status).toBe(409);
  });

  it("the worker CLI stops at once on a wrong token", async () => {
    const w = startWorker("spy", "wrong-token-wrong-token-wrong");
    expect(await w.exited).toBe(1);
    expect(w.log()).toMatch(/the server refused the token/);
  });
});

describe("a run trained on workers", () => {
  it("is killed mid-run on one worker, resumed by another from its last uploaded checkpoint, and registered with lineage", async () => {
    const { runId } = await app.caller().studio.runs.start({
      datasetId, baseModelId: starterId, goal: "answers", method: "lora", epochs: 1, loraRank: 4, name: "remote lora", placement: "worker",
      cleaning: { dedupe: true, nearDedupe: false, scrubPii: false, minChars: 0, maxChars: 100_000, heldOutFraction: 0.15 },
      advanced: { seqLen: 64, batch: 2, maxSteps: 36, saveEvery: 6, learningRate: 1e-2, threads: 1 },
    });
    // the server's own runner leaves it to the workers
    await new Promise((r) => setTimeout(r, 300));
    expect(runnerFor(app.db).activeRunId).toBeNull();
    expect((await app.caller().studio.runs.get({ id: runId })).status).toBe("queued");

    // The first worker's machine "dies" mid-run: after its first checkpoint reaches the server, its
    // further uploads and its finish never arrive (a fast machine would otherwise finish 36 steps
    // before the kill), while its progress lines still do; then its whole process group is killed.
    let firstCheckpointIn = false;
    central.hold((method, pathname) => {
      if (method === "GET" || !pathname.startsWith(`/api/worker/runs/${runId}/`) || pathname.endsWith("/events")) return false;
      if (!firstCheckpointIn && pathname.endsWith("/checkpoint")) return !(firstCheckpointIn = true);
      return firstCheckpointIn;
    });
    const first = startWorker("gpu-box-1");
    const checkpointStep = () => app.db.select().from(studioRemoteRuns).where(eq(studioRemoteRuns.runId, runId)).get()?.checkpointStep;
    const step = await waitFor("a checkpoint uploaded by the first worker", checkpointStep, 180_000);
    expect(step).toBeLessThan(36);
    // Progress lines and checkpoints travel separately: on a busy machine the checkpoint can land first.
    const running = await waitFor("progress lines from the first worker", async () => {
      const r = await app.caller().studio.runs.get({ id: runId });
      return r.points.length > 0 ? r : null;
    }, 60_000);
    expect(running.status).toBe("running");
    expect(running.points.length).toBeGreaterThan(0); // progress lines arrived like a local run's
    first.killGroup();
    await first.exited;
    central.hold(null);
    expect(checkpointStep()).toBe(step);
    expect((await app.caller().studio.runs.get({ id: runId })).status).toBe("running");

    // its lease runs out; the second worker claims the run and resumes it
    await new Promise((r) => setTimeout(r, 3200));
    const second = startWorker("gpu-box-2");
    const done = await waitFor("the run to finish", async () => {
      const r = await app.caller().studio.runs.get({ id: runId });
      if (r.status === "failed") throw new Error(`${r.error}\n${r.log.join("\n")}\n${second.log()}`);
      return r.status === "succeeded" ? r : null;
    }, 240_000);
    expect(await second.exited).toBe(0);
    expect(done.log.join("\n")).toMatch(new RegExp(`worker gpu-box-1 went silent; queued again, resuming from the checkpoint at step ${step}`));
    expect(done.log.join("\n")).toMatch(new RegExp(`claimed by worker gpu-box-2; resuming from the checkpoint at step \\d+`));
    expect(done.log.join("\n")).toMatch(/resumed from .* at step \d+/);
    expect(done.progress.step).toBe(36);
    expect(done.metrics?.pplBefore).toBeGreaterThan(0);
    expect(done.metrics?.pplAfter).toBeGreaterThan(0);

    const model = app.db.select().from(models).where(eq(models.id, done.modelId!)).get()!;
    expect(model).toMatchObject({ kind: "lora", baseModelId: starterId, datasetId, runId, status: "ready", source: `forge:${runId}` });
    expect(fs.existsSync(model.filePath)).toBe(true);
    // the registered adapter serves
    const { answer } = await import("@/server/chat");
    const a = app.db.select().from(assistants).get()!;
    const events = [];
    for await (const ev of answer(app.db, { config: { modelId: model.id, name: "remote", persona: { systemPrompt: "", outOfScopeReply: null, historyWindow: 0, sampling: { ...a.sampling, maxTokens: 8 } }, collectionIds: [] }, turns: [{ role: "user", content: "What does error QX-107 mean?" }] })) events.push(ev);
    expect(events.at(-1)?.type).toBe("done");
  }, 480_000);

  it("cancel on the run page reaches the worker: it stops after the step, the run ends cancelled", async () => {
    const { runId } = await app.caller().studio.runs.start({
      datasetId, baseModelId: starterId, goal: "answers", method: "lora", epochs: 1, loraRank: 4, name: "cancelled remote", placement: "worker",
      cleaning: { dedupe: true, nearDedupe: false, scrubPii: false, minChars: 0, maxChars: 100_000, heldOutFraction: 0 },
      advanced: { seqLen: 64, batch: 2, maxSteps: 5000, saveEvery: 1000, threads: 1 },
    });
    const w = startWorker("gpu-box-3");
    await waitFor("training to start on the worker", async () => (await app.caller().studio.runs.get({ id: runId })).progress.step > 0, 180_000);
    await app.caller().studio.runs.cancel({ id: runId });
    const run = await waitFor("the run to end", async () => {
      const r = await app.caller().studio.runs.get({ id: runId });
      return ["cancelled", "failed", "interrupted", "succeeded"].includes(r.status) ? r : null;
    }, 60_000);
    expect(run.status).toBe("cancelled");
    expect(run.progress.step).toBeLessThan(5000);
    expect(await w.exited).toBe(0);
    expect(w.log()).toMatch(/the run was cancelled on the server/);
  }, 300_000);
});
