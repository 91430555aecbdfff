import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { signIn } from "./auth";
import { ROOT } from "./server";
import type { ConsoleSession } from "./session";

/**
 * A model slow enough to watch a stream and to stop it. The starter (2.5 MB) under the native
 * engine writes 400 tokens in a fraction of a second, before a paint or a click can land; this
 * ~34M-parameter scratch model (one training step on the starter's corpus, so it babbles) is
 * memory-bound at tens of tokens per second on a CPU. Crafted once by the real trainer and cached.
 */
const RECIPE = [
  "--mode", "scratch", "--steps", "1", "--seq", "64", "--batch", "1", "--vocab", "1000",
  "--embd", "512", "--layers", "8", "--heads", "8", "--ff", "2048", "--ctx", "1024",
  "--threads", "2", "--eval-fraction", "0", "--seed", "7", "--name", "Rambler",
];
const OUT = path.join(ROOT, ".cache", "test-models", "rambler-v1.gguf");

export function ramblerModelPath(): string {
  if (fs.existsSync(OUT)) return OUT;
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  const tmp = `${OUT}.${process.pid}.tmp.gguf`;
  const data = path.join(ROOT, "server", "forge", "starter", "corpus", "about.md");
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "server/forge/cli.ts", "train", ...RECIPE, "--data", data, "--out", tmp],
    { cwd: ROOT, encoding: "utf8", timeout: 300_000 },
  );
  if (r.status !== 0 || !fs.existsSync(tmp)) {
    throw new Error(`crafting the rambler model failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  fs.renameSync(tmp, OUT);
  fs.rmSync(tmp.replace(/\.gguf$/, ".forge"), { recursive: true, force: true });
  return OUT;
}

/**
 * Registers the rambler through the Models page's "Add local GGUF" form, as an admin in a context of
 * its own (the session's user may be an editor); returns its model id.
 */
export async function addRamblerModel(session: ConsoleSession): Promise<string> {
  const file = ramblerModelPath();
  const { server } = session;
  const context = await session.browser.newContext();
  try {
    await signIn(context, server, "admin");
    const page = await context.newPage();
    await page.goto(`${server.url}/models`);
    const form = page.getByTestId("add-local-form");
    await form.getByLabel("File path").fill(file);
    await form.getByRole("button", { name: "Add model" }).click();
    await form.getByText(/^Added /).waitFor({ timeout: 60_000 });
  } finally {
    await context.close();
  }
  const db = new Database(path.join(server.dataDir, "atelier.db"), { readonly: true });
  try {
    db.pragma("busy_timeout = 5000");
    const row = db.prepare("SELECT id FROM models WHERE file_path = ? ORDER BY created_at DESC LIMIT 1").get(file) as { id: string } | undefined;
    if (!row) throw new Error(`the Models page said the rambler was added, but no row has file_path ${file}`);
    return row.id;
  } finally {
    db.close();
  }
}
