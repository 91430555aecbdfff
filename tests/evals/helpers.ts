import fs from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { assistantCollections, assistants } from "@/server/db/schema";
import { collect, type freshApp } from "../helpers/app";

export type App = Awaited<ReturnType<typeof freshApp>>;

export const FAQ_PATH = path.resolve(import.meta.dirname, "fixtures/atelier-faq.md");
export const OUT_OF_SCOPE = "I can only help with questions about Atelier.";

/** The default assistant with short greedy-friendly answers, an out-of-scope reply and the FAQ collection linked. */
export async function assistantWithFaq(app: App, maxTokens = 48) {
  const a = app.db.select().from(assistants).get()!;
  app.db.update(assistants).set({ sampling: { ...a.sampling, maxTokens }, outOfScopeReply: OUT_OF_SCOPE }).where(eq(assistants.id, a.id)).run();
  const col = await app.caller().knowledge.createCollection({ name: "Atelier FAQ" });
  const events = await collect(await app.caller().knowledge.upload({ collectionId: col.id, fileName: "atelier-faq.md", data: fs.readFileSync(FAQ_PATH).toString("base64") }));
  const done = events.at(-1);
  if (done?.type !== "done") throw new Error(`indexing the FAQ failed: ${JSON.stringify(done)}`);
  app.db.insert(assistantCollections).values({ assistantId: a.id, collectionId: col.id }).run();
  return { assistantId: a.id, starterId: a.modelId!, collectionId: col.id, documentId: done.result.document.id };
}

/** A training-data upload through the studio's HTTP route (session cookie and CSRF header, as the browser sends them). */
export async function uploadTrainingData(app: App, name: string, files: { name: string; body: string }[]) {
  const { POST } = await import("@/app/api/studio/datasets/route");
  const form = new FormData();
  form.set("name", name);
  for (const f of files) form.append("files", new File([f.body], f.name));
  const headers = new Headers({ cookie: `atelier_session=${app.admin.token}`, "x-atelier-csrf": app.admin.csrfToken });
  const res = await POST(new Request("http://localhost/api/studio/datasets", { method: "POST", body: form, headers }));
  return { status: res.status, body: (await res.json()) as { dataset: { id: string }; files: { name: string; records: number; warnings: string[] }[]; error?: { message: string } } };
}

/** Waits until the eval run reaches one of `statuses`. */
export async function waitForRun(app: App, runId: string, statuses: string[], timeoutMs = 300_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await app.caller().evals.runs.get({ id: runId });
    if (statuses.includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`eval run ${runId} still ${run.status}: ${run.log.slice(-5).join(" | ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
