import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { desc, eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { models, type ModelRow } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { newId } from "../ids";
import { EngineError } from "../llm/errors";
import { inspectGguf, type GgufFacts } from "../llm/inspect";
import { ModelPool, type ServingSpec } from "../llm/pool";

export type ModelView = Omit<ModelRow, "meta" | "filePath" | "runId" | "datasetId"> & { fitsInMemory: boolean | null };

/**
 * A model as the console shows it. Where it came from (`source`) is a server path for local
 * files: only admins (who manage files on the server) see it; others see the file's name.
 */
export function toModelView(row: ModelRow, showPaths = true): ModelView {
  const { meta, filePath: _f, runId: _r, datasetId: _d, ...rest } = row;
  const fits = meta && typeof meta.fitsInMemory === "boolean" ? meta.fitsInMemory : null;
  const source = showPaths || !path.isAbsolute(rest.source) ? rest.source : path.basename(rest.source);
  return { ...rest, source, fitsInMemory: fits };
}

export function listModels(db: AtelierDb, opts: { showPaths?: boolean } = {}): ModelView[] {
  return db.select().from(models).orderBy(desc(models.createdAt)).all().map((r) => toModelView(r, opts.showPaths ?? true));
}

/** Directories whose files are devices or kernel interfaces, never models: reading them can block, fail oddly or leak memory. */
const SYSTEM_DIRS = /^\/(proc|sys|dev)(\/|$)/;

/**
 * The real path of a model file an admin named, refused before anything is read when it is not
 * a plain file: missing, a directory, a device or FIFO, anything under /proc, /sys or /dev (also
 * through a symlink), or too small to be a GGUF.
 */
export async function checkModelPath(input: string): Promise<string> {
  const resolved = path.resolve(input);
  let real: string;
  try {
    real = await fs.realpath(resolved);
  } catch {
    throw new AtelierError("bad_request:model", `Model file not found: ${resolved}`);
  }
  if (SYSTEM_DIRS.test(real) || SYSTEM_DIRS.test(resolved)) throw new AtelierError("bad_request:model", `${resolved} is a system path (/proc, /sys or /dev), not a model file.`);
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw new AtelierError("bad_request:model", `${resolved} is not a regular file (a directory, device or pipe cannot be a model).`);
  if (stat.size < 32) throw new AtelierError("bad_request:model", `${resolved} is not a GGUF file (${stat.size} bytes: too small to be a GGUF file).`);
  return resolved;
}

export function getModelRow(db: AtelierDb, id: string): ModelRow {
  const row = db.select().from(models).where(eq(models.id, id)).get();
  if (!row) throw notFound("model", "Model", id);
  return row;
}

export function factsToColumns(facts: GgufFacts) {
  return {
    sizeBytes: facts.sizeBytes,
    architecture: facts.architecture,
    contextLength: facts.contextLength,
    quantization: facts.quantization,
    parameters: facts.parameters,
  };
}

async function inspectOrBadRequest(filePath: string): Promise<GgufFacts> {
  try {
    return await inspectGguf(filePath);
  } catch (err) {
    if (err instanceof EngineError) throw new AtelierError("bad_request:model", err.message, { cause: err });
    throw err;
  }
}

/** Registers a GGUF already on this machine (nothing is copied; the file stays where it is). */
export async function addLocalModel(
  db: AtelierDb,
  input: { path: string; name?: string; baseModelId?: string },
): Promise<ModelView> {
  const filePath = await checkModelPath(input.path);
  const facts = await inspectOrBadRequest(filePath);
  if (facts.isAdapter && !input.baseModelId) {
    throw new AtelierError("bad_request:model", `${filePath} is a LoRA adapter; choose the base model it was trained on.`);
  }
  if (input.baseModelId) getModelRow(db, input.baseModelId);
  const row = db
    .insert(models)
    .values({
      id: newId(),
      name: input.name?.trim() || facts.name || path.basename(filePath, ".gguf"),
      kind: facts.isAdapter ? "lora" : "base",
      source: filePath,
      filePath,
      status: "ready",
      baseModelId: input.baseModelId ?? null,
      ...factsToColumns(facts),
      meta: { fitsInMemory: facts.fitsInMemory },
    })
    .returning()
    .get();
  return toModelView(row);
}

export async function removeModel(db: AtelierDb, id: string): Promise<void> {
  getModelRow(db, id);
  const children = db.select({ id: models.id, name: models.name }).from(models).where(eq(models.baseModelId, id)).all();
  if (children.length > 0) {
    throw new AtelierError(
      "conflict:model",
      `Cannot remove this model: ${children.map((c) => c.name).join(", ")} ${children.length === 1 ? "was" : "were"} trained from it. Remove those first.`,
    );
  }
  await ModelPool.instance().unload(id);
  db.delete(models).where(eq(models.id, id)).run();
}

/** What the engine needs to serve a model row (a LoRA runs on its base model). */
export function servingSpecFor(db: AtelierDb, row: ModelRow): ServingSpec {
  if (row.status !== "ready") {
    throw new EngineError("MODEL_LOAD_FAILED", `${row.name} is not ready (${row.status}${row.error ? `: ${row.error}` : ""}).`);
  }
  if (row.kind === "lora") {
    if (!row.baseModelId) throw new EngineError("MODEL_LOAD_FAILED", `LoRA adapter ${row.name} has no base model.`);
    const base = getModelRow(db, row.baseModelId);
    return { id: row.id, label: row.name, modelPath: base.filePath, loraPath: row.filePath };
  }
  return { id: row.id, label: row.name, modelPath: row.filePath, loraPath: null };
}
