import "server-only";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { fileHashes } from "./schema";

/** sha256 of a file, streamed (never blocks the event loop), cached by path, size and mtime. */
export async function fileSha256(db: AtelierDb, filePath: string): Promise<string> {
  const st = await fs.stat(filePath);
  const cached = db.select().from(fileHashes).where(eq(fileHashes.path, filePath)).get();
  if (cached && cached.size === st.size && cached.mtimeMs === Math.floor(st.mtimeMs)) return cached.sha256;
  const sha256 = await hashFile(filePath);
  const row = { path: filePath, size: st.size, mtimeMs: Math.floor(st.mtimeMs), sha256 };
  db.insert(fileHashes).values(row).onConflictDoUpdate({ target: fileHashes.path, set: row }).run();
  return sha256;
}

export function hashFile(filePath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(filePath, { highWaterMark: 1 << 20 })
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
