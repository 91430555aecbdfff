import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { starterModelPath } from "./model";

/**
 * A fresh Atelier (temporary data dir, real SQLite file, real starter model) inside this
 * test process. Returns a tRPC caller that goes through the same router as HTTP requests.
 */
export async function freshApp(extraEnv: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-test-"));
  process.env.ATELIER_DATA_DIR = dataDir;
  process.env.ATELIER_DEFAULT_MODEL = starterModelPath();
  delete process.env.ATELIER_DB_PATH;
  Object.assign(process.env, extraEnv);
  const { resetEnvForTests } = await import("@/server/env");
  const { closeDbForTests } = await import("@/server/db/client");
  const { resetReadyForTests, ready } = await import("@/server/bootstrap");
  resetEnvForTests();
  closeDbForTests();
  resetReadyForTests();
  const db = await ready();
  const { createCaller } = await import("@/server/api/root");
  const caller = (signal?: AbortSignal) => createCaller({ db }, { signal });
  return { dataDir, db, caller };
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}
