// The per-connection statement cache (server/db/statement-cache.ts) on a real SQLite file: a query
// shape is compiled once, modes one caller switched on never leak to the next, a statement still
// being iterated is never handed out twice, and the cache stays bounded.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { cacheStatements } from "@/server/db/statement-cache";

const dirs: string[] = [];
function openDb(max?: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atelier-stmt-"));
  dirs.push(dir);
  const db = new Database(path.join(dir, "t.db"));
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');");
  cacheStatements(db, max);
  return db;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("statement cache", () => {
  it("compiles a query shape once and binds new values each time", () => {
    const db = openDb();
    const a = db.prepare("SELECT name FROM t WHERE id = ?");
    const b = db.prepare("SELECT name FROM t WHERE id = ?");
    expect(b).toBe(a);
    expect(a.get(1)).toEqual({ name: "a" });
    expect(b.get(3)).toEqual({ name: "c" });
    expect(db.prepare("SELECT name FROM t WHERE id = ? ")).not.toBe(a); // other text, other statement
  });

  it("a mode one caller switched on (pluck, raw) is off for the next", () => {
    const db = openDb();
    expect(db.prepare("SELECT id, name FROM t ORDER BY id").pluck().all()).toEqual([1, 2, 3]);
    expect(db.prepare("SELECT id, name FROM t ORDER BY id").all()).toEqual([{ id: 1, name: "a" }, { id: 2, name: "b" }, { id: 3, name: "c" }]);
    expect(db.prepare("SELECT id, name FROM t ORDER BY id").raw().get()).toEqual([1, "a"]);
    expect(db.prepare("SELECT id, name FROM t ORDER BY id").get()).toEqual({ id: 1, name: "a" });
    // writes are cached too (no modes to reset)
    db.prepare("UPDATE t SET name = ? WHERE id = ?").run("z", 2);
    db.prepare("UPDATE t SET name = ? WHERE id = ?").run("y", 3);
    expect(db.prepare("SELECT name FROM t ORDER BY id").pluck().all()).toEqual(["a", "z", "y"]);
  });

  it("a statement still iterating is not handed out again", () => {
    const db = openDb();
    const sql = "SELECT id FROM t ORDER BY id";
    const outer = db.prepare(sql).pluck();
    const seen: number[][] = [];
    for (const id of outer.iterate() as Iterable<number>) {
      // without the busy check this prepare would return `outer` and throw "This statement is busy"
      const inner = db.prepare(sql);
      expect(inner).not.toBe(outer);
      seen.push([id, (inner.all() as { id: number }[]).length]);
    }
    expect(seen).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(db.prepare(sql)).toBe(outer); // free again: the cached one
  });

  it("keeps at most `max` statements, dropping the least recently used", () => {
    const db = openDb(2);
    const s1 = db.prepare("SELECT 1");
    const s2 = db.prepare("SELECT 2");
    expect(db.prepare("SELECT 1")).toBe(s1); // 1 is now the most recent
    db.prepare("SELECT 3"); // evicts 2
    expect(db.prepare("SELECT 1")).toBe(s1);
    expect(db.prepare("SELECT 2")).not.toBe(s2);
  });
});
