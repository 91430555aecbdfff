import "server-only";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { env } from "../env";
import * as schema from "./schema";
import { cacheStatements } from "./statement-cache";

export type AtelierDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS_DIR = path.resolve(process.cwd(), "drizzle");

/** Opens (creating if needed) an Atelier database and applies pending migrations. */
export function openDatabase(file: string): AtelierDb {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new Database(file);
  // WAL: readers never block the writer that persists streamed tokens.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  cacheStatements(sqlite);
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return db as AtelierDb;
}

const globalForDb = globalThis as unknown as { atelierDb?: AtelierDb };

/** The process-wide database (kept on globalThis so dev-mode reloads reuse the connection). */
export function getDb(): AtelierDb {
  globalForDb.atelierDb ??= openDatabase(env().ATELIER_DB_PATH);
  return globalForDb.atelierDb;
}

export function closeDbForTests(): void {
  globalForDb.atelierDb?.$client.close();
  globalForDb.atelierDb = undefined;
}
