import "server-only";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { eq, sql } from "drizzle-orm";
import { openDatabase, type AtelierDb } from "../db/client";
import { assistants, models } from "../db/schema";
import { env } from "../env";
import { ModelPool } from "../llm/pool";
import { importFile } from "./import";
import { matrixTable } from "./matrix-table";
import { evalRunnerFor } from "./runner";
import { createRun, getRun } from "./runs";
import { evalSets } from "./schema";
import { createSet } from "./sets";
import type { RunCreateInput } from "./types";

/*
 * `npx atelier eval --assistant <id|name> --set <id|name|file> [--versions a,b] [--knowledge on,off] [--json out.json]`
 * Runs an eval in this process against the database the server uses (ATELIER_DATA_DIR /
 * ATELIER_DB_PATH), prints progress to stderr and the matrix with its verdict to stdout.
 */

const USAGE = `usage: atelier eval --assistant <id|name> --set <id|name|file.jsonl|file.csv> [options]

  --versions a,b          model versions (ids or names); default: the active one and the newest other
  --knowledge on,off      with and/or without the assistant's knowledge (default: both when it has any)
  --json out.json         also write the run and its summary as JSON
  --max-tokens N          cap answers (default: the assistant's setting)
  --temperature T         0 = greedy, reproducible (default 0)
  --seed N                sampling and bootstrap seed (default 1234)
  --concurrency N         questions generated at once (default ATELIER_SEQUENCES - 1)
  --judge-model <id|name> score answers 1-5 with a registered model
  --judge-url URL --judge-name MODEL [--judge-key KEY]   ... or with an OpenAI-compatible endpoint
`;

class CliError extends Error {}

function userPath(p: string): string {
  return path.resolve(process.env.ATELIER_CWD ?? process.cwd(), p);
}

function findAssistant(db: AtelierDb, ref: string) {
  const a = db.select().from(assistants).where(eq(assistants.id, ref)).get() ?? db.select().from(assistants).where(sql`lower(${assistants.name}) = lower(${ref})`).get();
  if (!a) throw new CliError(`No assistant with id or name "${ref}".`);
  return a;
}

function findModel(db: AtelierDb, ref: string): string {
  const m = db.select({ id: models.id }).from(models).where(eq(models.id, ref)).get() ?? db.select({ id: models.id }).from(models).where(sql`lower(${models.name}) = lower(${ref})`).get();
  if (!m) throw new CliError(`No model version with id or name "${ref}".`);
  return m.id;
}

function findSet(db: AtelierDb, ref: string, assistantId: string): string {
  const file = userPath(ref);
  if (/\.(jsonl|csv|json)$/i.test(ref) && fs.existsSync(file)) {
    const content = fs.readFileSync(file, "utf8");
    const set = createSet(db, { name: path.basename(file), description: `Imported from ${file} by the command line`, assistantId, isDefault: false }, null);
    const { added } = importFile(db, { setId: set.id, fileName: path.basename(file), content }, null);
    process.stderr.write(`imported ${added} rows from ${path.basename(file)} into the new eval set "${set.name}" (${set.id})\n`);
    return set.id;
  }
  const s = db.select({ id: evalSets.id }).from(evalSets).where(eq(evalSets.id, ref)).get() ?? db.select({ id: evalSets.id }).from(evalSets).where(sql`lower(${evalSets.name}) = lower(${ref})`).get();
  if (!s) throw new CliError(`No eval set with id or name "${ref}" (and no such .jsonl/.csv file).`);
  return s.id;
}

const num = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`--${name} must be a number (got "${v}").`);
  return n;
};

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      assistant: { type: "string" },
      set: { type: "string" },
      versions: { type: "string" },
      knowledge: { type: "string" },
      json: { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      seed: { type: "string" },
      concurrency: { type: "string" },
      "judge-model": { type: "string" },
      "judge-url": { type: "string" },
      "judge-name": { type: "string" },
      "judge-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.assistant || !values.set) throw new CliError(`--assistant and --set are required.\n\n${USAGE}`);
  const db = openDatabase(env().ATELIER_DB_PATH);
  try {
    const a = findAssistant(db, values.assistant);
    const setId = findSet(db, values.set, a.id);
    const knowledge = values.knowledge?.split(",").map((k) => k.trim().toLowerCase());
    if (knowledge?.some((k) => k !== "on" && k !== "off")) throw new CliError(`--knowledge takes on, off or on,off (got "${values.knowledge}").`);
    const judge: RunCreateInput["judge"] = values["judge-model"]
      ? { kind: "model", modelId: findModel(db, values["judge-model"]) }
      : values["judge-url"]
        ? { kind: "endpoint", url: values["judge-url"], model: values["judge-name"] ?? "default", apiKey: values["judge-key"] ?? null }
        : null;
    const input: RunCreateInput = {
      assistantId: a.id,
      setId,
      ...(values.versions ? { versions: values.versions.split(",").map((v) => findModel(db, v.trim())) } : {}),
      ...(knowledge ? { knowledge: knowledge as ("on" | "off")[] } : {}),
      judge,
      ...(values["max-tokens"] ? { maxTokens: num(values["max-tokens"], "max-tokens") } : {}),
      ...(values.temperature ? { temperature: num(values.temperature, "temperature") } : {}),
      ...(values.seed ? { seed: num(values.seed, "seed") } : {}),
      ...(values.concurrency ? { concurrency: num(values.concurrency, "concurrency") } : {}),
      name: `command line · ${new Date().toISOString().slice(0, 16).replace("T", " ")}`,
    };
    const runner = evalRunnerFor(db);
    const created = createRun(db, input, null, { kick: false });
    for (const w of created.warnings) process.stderr.write(`note: ${w}\n`);
    let lastPct = -1;
    runner.subscribe(created.runId, (ev) => {
      if (ev.type !== "progress") return;
      const pct = Math.floor((ev.done / Math.max(1, ev.total)) * 10) * 10;
      if (pct !== lastPct) {
        lastPct = pct;
        process.stderr.write(`${JSON.stringify({ run: created.runId, done: ev.done, total: ev.total })}\n`);
      }
    });
    await runner.runNow(created.runId);
    const run = getRun(db, created.runId);
    if (values.json) fs.writeFileSync(userPath(values.json), JSON.stringify(run, null, 2) + "\n");
    if (run.status !== "succeeded") {
      process.stderr.write(`The run ${run.status}${run.error ? `: ${run.error}` : "."}\n`);
      return 1;
    }
    process.stdout.write(`${matrixTable(run)}\n`);
    return 0;
  } finally {
    await ModelPool.instance()[Symbol.asyncDispose]();
    db.$client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`atelier eval: ${err instanceof CliError ? err.message : ((err as Error).message ?? String(err))}\n`);
    process.exit(err instanceof CliError || (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? 2 : 1);
  },
);
