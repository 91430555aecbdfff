import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase, type AtelierDb } from "@/server/db/client";

/** A real SQLite file (WAL, all migrations applied) in a fresh temp dir. */
export function tempDb(): { db: AtelierDb; dir: string; file: string; close: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-knowledge-"));
  const file = path.join(dir, "atelier.db");
  const db = openDatabase(file);
  return {
    db,
    dir,
    file,
    close: () => {
      db.$client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Counts that must agree when the FTS index is in sync with knowledge_chunks. */
export function ftsState(db: AtelierDb): { chunks: number; fts: number } {
  const sqlite = db.$client;
  // integrity-check with rank=1 compares the index against the content table; throws if out of sync.
  sqlite.exec("INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rank) VALUES ('integrity-check', 1)");
  const chunks = sqlite.prepare("SELECT count(*) FROM knowledge_chunks").pluck().get() as number;
  // The docsize shadow table has one row per indexed chunk.
  const fts = sqlite.prepare("SELECT count(*) FROM knowledge_chunks_fts_docsize").pluck().get() as number;
  return { chunks, fts };
}

/** Chunk ids an FTS query returns (bypassing the query builder). */
export function ftsMatch(db: AtelierDb, term: string): number[] {
  return db.$client
    .prepare("SELECT rowid FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH ? ORDER BY rowid")
    .pluck()
    .all(`"${term}"`) as number[];
}

/** A Markdown guide with two sections of `lines` near-identical sentences each (many chunks, known words). */
export function lighthouseGuide(lines: number): string {
  return [
    "# Lighthouse keeping",
    "",
    "## Lamps",
    "",
    ...Array.from({ length: lines }, (_, i) => `The lamp wick number ${i} is trimmed at dusk and the lens is polished with chamois cloth.`),
    "",
    "## Fog signals",
    "",
    ...Array.from({ length: lines }, (_, i) => `During fog the keeper sounds horn pattern ${i} every thirty seconds until visibility returns.`),
  ].join("\n");
}
