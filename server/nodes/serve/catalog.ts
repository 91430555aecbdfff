import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { ServingSpec } from "../../llm/pool";
import { downloadArtifact, sha256OfFile, type ArtifactFile } from "./artifacts";
import type { NodeSyncState } from "../probe";

/*
 * What an Atelier node serves: the models it was started with (`--model NAME=FILE`) and the
 * versions its Atelier asked it to download (kept in <cache>/catalog.json across restarts).
 * Every entry carries the sha256 of its file (and of its base, for a LoRA), which the Atelier
 * that routes to it compares with its own.
 */

export type CatalogEntry = { name: string; modelPath: string; loraPath: string | null; sha256: string; baseSha256: string | null };

type Persisted = { entries: Array<{ name: string; modelPath: string; loraPath: string | null }> };
type HashCache = Record<string, { size: number; mtimeMs: number; sha256: string }>;

export class NodeCatalog {
  private readonly entries = new Map<string, CatalogEntry>();
  readonly syncs = new Map<string, NodeSyncState>();
  private hashes: HashCache = {};

  constructor(private readonly cacheDir: string) {
    fs.mkdirSync(path.join(cacheDir, "files"), { recursive: true });
    try {
      this.hashes = JSON.parse(fs.readFileSync(path.join(cacheDir, "hashes.json"), "utf8")) as HashCache;
    } catch {
      this.hashes = {};
    }
  }

  /** sha256 of a file, remembered by path, size and mtime (a big GGUF takes seconds to hash). */
  async hashOf(filePath: string): Promise<string> {
    const st = fs.statSync(filePath);
    const known = this.hashes[filePath];
    if (known && known.size === st.size && known.mtimeMs === Math.floor(st.mtimeMs)) return known.sha256;
    const sha256 = await sha256OfFile(filePath);
    this.hashes[filePath] = { size: st.size, mtimeMs: Math.floor(st.mtimeMs), sha256 };
    fs.writeFileSync(path.join(this.cacheDir, "hashes.json"), JSON.stringify(this.hashes));
    return sha256;
  }

  async add(name: string, modelPath: string, loraPath: string | null = null, persist = false): Promise<CatalogEntry> {
    const entry: CatalogEntry = {
      name,
      modelPath: path.resolve(modelPath),
      loraPath: loraPath ? path.resolve(loraPath) : null,
      sha256: await this.hashOf(loraPath ?? modelPath),
      baseSha256: loraPath ? await this.hashOf(modelPath) : null,
    };
    this.entries.set(name, entry);
    if (persist) this.save();
    return entry;
  }

  /** Models this node downloaded earlier. */
  async restore(): Promise<void> {
    let saved: Persisted;
    try {
      saved = JSON.parse(fs.readFileSync(path.join(this.cacheDir, "catalog.json"), "utf8")) as Persisted;
    } catch {
      return;
    }
    for (const e of saved.entries) {
      if (this.entries.has(e.name) || !fs.existsSync(e.modelPath) || (e.loraPath && !fs.existsSync(e.loraPath))) continue;
      await this.add(e.name, e.modelPath, e.loraPath);
    }
  }

  private save(): void {
    const downloaded = path.join(this.cacheDir, "files");
    const entries = [...this.entries.values()]
      .filter((e) => (e.loraPath ?? e.modelPath).startsWith(downloaded))
      .map(({ name, modelPath, loraPath }) => ({ name, modelPath, loraPath }));
    const tmp = path.join(this.cacheDir, `catalog.json.tmp-${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify({ entries } satisfies Persisted, null, 2));
    fs.renameSync(tmp, path.join(this.cacheDir, "catalog.json"));
  }

  get(name: string): CatalogEntry | undefined {
    return this.entries.get(name);
  }

  list(): CatalogEntry[] {
    return [...this.entries.values()];
  }

  spec(entry: CatalogEntry): ServingSpec {
    return { id: `${entry.name}\u0000${entry.sha256}`, label: entry.name, modelPath: entry.modelPath, loraPath: entry.loraPath };
  }

  /** A file this node already has with that sha256 (a base it serves, or one downloaded before). */
  private async fileWithSha(sha256: string): Promise<string | null> {
    for (const e of this.entries.values()) {
      if (e.sha256 === sha256 && !e.loraPath) return e.modelPath;
      if (e.baseSha256 === sha256) return e.modelPath;
      if (e.loraPath && e.sha256 === sha256) return e.loraPath;
    }
    const cached = path.join(this.cacheDir, "files", `${sha256}.gguf`);
    return fs.existsSync(cached) ? cached : null;
  }

  private async fetch(file: ArtifactFile, name: string, progress: { done: number; total: number }, log: (l: string) => void): Promise<string> {
    const existing = await this.fileWithSha(file.sha256);
    if (existing) return existing;
    const dest = path.join(this.cacheDir, "files", `${file.sha256}.gguf`);
    const before = progress.done;
    await downloadArtifact(file, dest, (bytes) => {
      progress.done = before + bytes;
      this.syncs.set(name, { name, state: "downloading", detail: null, bytes: progress.done, totalBytes: progress.total });
    }, log);
    progress.done = before + file.bytes;
    return dest;
  }

  /** Downloads (if needed) and adds a model or a LoRA on its base; the state is on /node/health meanwhile. */
  async sync(req: { name: string; kind: "model" | "lora"; file: ArtifactFile; base?: ArtifactFile }, log: (line: string) => void): Promise<void> {
    if (this.syncs.get(req.name)?.state === "downloading") return;
    const progress = { done: 0, total: req.file.bytes + (req.base?.bytes ?? 0) };
    this.syncs.set(req.name, { name: req.name, state: "downloading", detail: null, bytes: 0, totalBytes: progress.total });
    try {
      if (req.kind === "lora" && !req.base) throw new Error("a LoRA needs its base");
      const basePath = req.base ? await this.fetch(req.base, req.name, progress, log) : null;
      const filePath = await this.fetch(req.file, req.name, progress, log);
      await this.add(req.name, basePath ?? filePath, basePath ? filePath : null, true);
      this.syncs.set(req.name, { name: req.name, state: "ready", detail: null, bytes: progress.total, totalBytes: progress.total });
      log(`model "${req.name}" is ready`);
    } catch (err) {
      this.syncs.set(req.name, { name: req.name, state: "error", detail: (err as Error).message, bytes: progress.done, totalBytes: progress.total });
      log(`model "${req.name}" could not be fetched: ${(err as Error).message}`);
    }
  }
}
