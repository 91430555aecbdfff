// Knowledge-base retrieval benchmark: indexing throughput and query latency at 10k and 100k chunks.
//
// Usage (server modules import "server-only"; the react-server condition resolves it to a no-op):
//   NODE_OPTIONS=--conditions=react-server npx tsx bench/knowledge/retrieval.ts [--sizes 10000,100000]
//     [--queries 300] [--dims 384] [--no-vectors] [--keep] [--out BENCHMARKS.md]   (rewrites its "knowledge:retrieval" block)
//
// Synthesises deterministic English-like Markdown documents (Zipf-distributed vocabulary of real
// words plus generated domain terms, headings, paragraphs), imports them through addDocument()
// (parse → chunk → one transaction per document), then times:
//   - BM25 top-8 (searchBm25: the FTS5 query alone) and search() in bm25 mode (plus hydration),
//     unscoped and scoped to one collection,
//   - vector top-8 and hybrid (RRF) search when sqlite-vec loads (hashing embedder, --dims).
// Queries are "questions about a passage": 2-5 content words of a random chunk, wrapped in
// function words, so term frequencies follow the corpus.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeBenchmarkSection } from "../lib/benchmarks-md";
import { openDatabase, type AtelierDb } from "@/server/db/client";
import {
  addDocument,
  createCollection,
  createHashingEmbedder,
  optimizeKnowledgeIndex,
  search,
  searchBm25,
  syncVectors,
} from "@/server/knowledge";
import { loadVectorExtension } from "@/server/knowledge/vectors";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    queries: { type: "string", default: "300" },
    dims: { type: "string", default: "384" },
    "no-vectors": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    out: { type: "string", default: "BENCHMARKS.md" },
    collections: { type: "string", default: "10" },
    /** Re-measure queries on a database kept by an earlier --keep run (no indexing). */
    db: { type: "string" },
  },
});
const SIZES = values.sizes!.split(",").map(Number).sort((a, b) => a - b);
const N_QUERIES = Number(values.queries);
const DIMS = Number(values.dims);
const N_COLLECTIONS = Number(values.collections);

// ---------------------------------------------------------------------------------------------
// Deterministic text generator

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUNCTION_WORDS = (
  "the of and to in a is that for it as with was on be by this are or at from not but have an which they " +
  "you were has can all their more one when been would there its also into only other some than them these so"
).split(" ");

const COMMON_WORDS = (
  "time year people way day man thing woman life child world school state family student group country problem hand part " +
  "place case week company system program question work government number night point home water room mother area money " +
  "story fact month lot right study book eye job word business issue side kind head house service friend father power hour " +
  "game line end member law car city community name president team minute idea kid body information back parent face others " +
  "level office door health person art war history party result change morning reason research girl guy moment air teacher " +
  "force education foot boy age policy music market sense nation plan college interest death experience effect class control " +
  "care field development role effort rate heart drug show leader light voice wife police mind price report decision son view " +
  "relationship town road arm difference value building action model season society tax director position player record paper " +
  "space ground form event official matter center couple site project activity star table need court oil situation cost industry " +
  "figure street image phone data picture practice piece land product doctor wall patient worker news test movie north love " +
  "support technology step baby computer type attention film tree source organization hair window evidence population truth " +
  "river stone harvest lantern copper meadow signal orbit pattern candle glacier harbor engine ledger tunnel falcon orchard " +
  "quartz timber compass velvet beacon canyon ember fabric gravel hollow island kettle lumber marble needle bridge valve pump " +
  "sensor battery filter pressure voltage circuit schedule invoice contract warranty shipment customer refund account password " +
  "server network backup storage memory kernel driver update release version config error warning module package install " +
  "build deploy measure adjust replace inspect clean repair connect restart enable disable configure monitor verify calibrate " +
  "quickly carefully daily weekly monthly annual manual automatic optional required default maximum minimum average total " +
  "red blue green small large heavy light warm cold dry wet new old early late high low fast slow strong weak safe"
).split(" ");

const ZIPF_OFFSET = 100;

const SYLLABLES = "ka lo mi ven tor ra sel du bri an qua zen fi ol mar tis ex pho gra ly cy nu pet ro sha vin del tra ium".split(" ");

/** Vocabulary: frequent real words first, then generated domain terms (the long tail). */
function buildVocabulary(rand: () => number, size: number): string[] {
  const words = [...new Set(COMMON_WORDS)];
  const seen = new Set(words);
  while (words.length < size) {
    const n = 2 + Math.floor(rand() * 3);
    let w = "";
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/**
 * Zipf over ranks offset+1..offset+n: in English the top ~100 ranks are function words
 * (generated separately), so the most frequent content word is rank ~100, not rank 1.
 */
function zipfSampler(n: number, s: number, rand: () => number, offset = 0): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(offset + i + 1, s);
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

class Generator {
  private readonly rand = mulberry32(42);
  private readonly vocab = buildVocabulary(this.rand, 30_000);
  private readonly zipf = zipfSampler(this.vocab.length, 1.0, this.rand, ZIPF_OFFSET);
  private docNo = 0;

  private word(): string {
    return this.vocab[this.zipf()]!;
  }
  private sentence(topic: string[]): string {
    const n = 6 + Math.floor(this.rand() * 16);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.rand();
      if (r < 0.38) out.push(FUNCTION_WORDS[Math.floor(this.rand() * FUNCTION_WORDS.length)]!);
      else if (r < 0.5) out.push(topic[Math.floor(this.rand() * topic.length)]!);
      else out.push(this.word());
      if (this.rand() < 0.04) out[out.length - 1] += ",";
      if (this.rand() < 0.02) out.push(String(Math.floor(this.rand() * 1000)));
    }
    out[0] = out[0]![0]!.toUpperCase() + out[0]!.slice(1);
    return `${out.join(" ")}${this.rand() < 0.08 ? "?" : "."}`;
  }
  /** A Markdown document of about `tokens` approximate tokens. */
  document(tokens: number): { fileName: string; text: string } {
    const topic = Array.from({ length: 6 }, () => this.word());
    const lines = [`# ${topic.slice(0, 3).join(" ")} manual ${this.docNo}`, ""];
    let approx = 0;
    let section = 0;
    while (approx < tokens) {
      if (section === 0 || this.rand() < 0.3) {
        lines.push(`## ${this.word()} ${this.word()} ${++section}`, "");
      }
      const sentences = 2 + Math.floor(this.rand() * 5);
      const para = Array.from({ length: sentences }, () => this.sentence(topic)).join(" ");
      approx += Math.round(para.length / 4.2);
      lines.push(para, "");
    }
    return { fileName: `doc-${this.docNo++}.md`, text: lines.join("\n") };
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

type Stat = { p50: number; p95: number; p99: number; bestP50: number; bestP95: number; cpuP50: number; cpuP95: number };

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Each query runs REPS times in a row. Reported: wall-clock percentiles of the first run
 * (includes waits for a core on this shared machine), of each query's best run (filters
 * scheduler noise; closest to an idle machine) and of its CPU time (best run).
 */
const REPS = 3;
async function timeQueries(queries: string[], fn: (q: string) => unknown): Promise<Stat> {
  for (const q of queries.slice(0, Math.min(20, queries.length))) await fn(q); // warm-up
  const first: number[] = [];
  const best: number[] = [];
  const cpu: number[] = [];
  for (const q of queries) {
    let bestWall = Infinity;
    let bestCpu = Infinity;
    for (let r = 0; r < REPS; r++) {
      const c0 = cpuMs();
      const t0 = process.hrtime.bigint();
      await fn(q);
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r === 0) first.push(wall);
      bestWall = Math.min(bestWall, wall);
      bestCpu = Math.min(bestCpu, cpuMs() - c0);
    }
    best.push(bestWall);
    cpu.push(bestCpu);
  }
  for (const a of [first, best, cpu]) a.sort((x, y) => x - y);
  return {
    p50: percentile(first, 50),
    p95: percentile(first, 95),
    p99: percentile(first, 99),
    bestP50: percentile(best, 50),
    bestP95: percentile(best, 95),
    cpuP50: percentile(cpu, 50),
    cpuP95: percentile(cpu, 95),
  };
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

type Query = { q: string; source: number };

function makeQueries(db: AtelierDb, n: number, rand: () => number): Query[] {
  const sqlite = db.$client;
  const maxId = sqlite.prepare("SELECT max(id) FROM knowledge_chunks").pluck().get() as number;
  const stmt = sqlite.prepare("SELECT id, text FROM knowledge_chunks WHERE id >= ? ORDER BY id LIMIT 1");
  const stop = new Set(FUNCTION_WORDS);
  const lead = ["how do I", "what is the", "why does the", "where can I find the", "when should I", "which"];
  const out: Query[] = [];
  while (out.length < n) {
    const row = stmt.get(1 + Math.floor(rand() * maxId)) as { id: number; text: string } | undefined;
    if (!row) continue;
    const { text } = row;
    const words = (text.toLowerCase().match(/[a-z]+/g) ?? []).filter((w) => !stop.has(w));
    if (words.length < 5) continue;
    const k = 2 + Math.floor(rand() * 4);
    const start = Math.floor(rand() * (words.length - k));
    const picked = words.slice(start, start + k * 2).filter((_, i) => i % 2 === 0);
    out.push({ q: `${lead[Math.floor(rand() * lead.length)]} ${picked.join(" ")}?`, source: row.id });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

type Row = { size: number; label: string; stat: Stat; quality?: string };

/** Share of queries whose source chunk is in the top 8, and mean overlap with exhaustive BM25's top 8. */
function quality(db: AtelierDb, queries: Query[], opts: { collectionIds?: string[]; exhaustive?: boolean }): { sourceHit: number; overlap: number } {
  let hit = 0;
  let overlap = 0;
  for (const { q, source } of queries) {
    const got = searchBm25(db, q, { limit: 8, ...opts }).map((r) => r.chunkId);
    const exact = searchBm25(db, q, { limit: 8, collectionIds: opts.collectionIds, exhaustive: true }).map((r) => r.chunkId);
    if (got.includes(source)) hit++;
    overlap += exact.length === 0 ? 1 : got.filter((id) => exact.includes(id)).length / exact.length;
  }
  return { sourceHit: hit / queries.length, overlap: overlap / queries.length };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map((l) => l.toFixed(1)).join(" / ");
  const dir = values.db ? path.dirname(values.db) : fs.mkdtempSync(path.join(os.tmpdir(), "atelier-kbench-"));
  const file = values.db ?? path.join(dir, "bench.db");
  const db = openDatabase(file);
  const gen = new Generator();
  let collections = (db.$client.prepare("SELECT id FROM knowledge_collections ORDER BY name").pluck().all() as string[]);
  if (collections.length === 0) {
    collections = Array.from({ length: N_COLLECTIONS }, (_, i) => createCollection(db, { name: `bench ${String(i).padStart(2, "0")}` }).id);
  }
  const vectorsOk = !values["no-vectors"] && (await loadVectorExtension(db.$client));
  const embedder = createHashingEmbedder(DIMS);
  const rows: Row[] = [];
  const indexing: string[] = [];
  const notes: string[] = [];
  let chunks = db.$client.prepare("SELECT count(*) FROM knowledge_chunks").pluck().get() as number;
  let docs = db.$client.prepare("SELECT count(*) FROM knowledge_documents").pluck().get() as number;
  let bytesIn = 0;
  const qrand = mulberry32(7);
  const sizes = values.db ? [chunks] : SIZES;

  console.log(`# knowledge retrieval bench: sizes ${sizes.join(", ")}, ${N_QUERIES} queries, vectors ${vectorsOk ? `${DIMS}d` : "off"}`);
  console.log(`db: ${file}`);

  for (const size of sizes) {
    if (chunks < size) {
      const t0 = performance.now();
      const startChunks = chunks;
      while (chunks < size) {
        const doc = gen.document(3000);
        const data = new TextEncoder().encode(doc.text);
        bytesIn += data.length;
        const { document } = await addDocument(db, {
          collectionId: collections[docs % collections.length]!,
          fileName: doc.fileName,
          bytes: data,
        });
        chunks += document.chunkCount;
        docs++;
        if (docs % 200 === 0) process.stdout.write(`\r  ${chunks} chunks, ${docs} docs`);
      }
      const secs = (performance.now() - t0) / 1000;
      process.stdout.write("\n");
      const rate = (chunks - startChunks) / secs;
      indexing.push(
        `| ${startChunks}→${chunks} | ${docs} docs, ${(bytesIn / 1048576).toFixed(0)} MiB text | ${secs.toFixed(1)} s | **${rate.toFixed(0)} chunks/s** |`,
      );
      console.log(`indexed to ${chunks} chunks: ${rate.toFixed(0)} chunks/s`);
    }

    const queries = makeQueries(db, N_QUERIES, qrand);
    const texts = queries.map((x) => x.q);
    const oneCollection = [collections[0]!];
    const bench = async (label: string, fn: (q: string) => unknown, q?: string) => {
      const stat = await timeQueries(texts, fn);
      rows.push({ size: chunks, label, stat, quality: q });
      console.log(
        `  ${label.padEnd(48)} p50 ${ms(stat.p50)}  p95 ${ms(stat.p95)}  best-of-${REPS} p50 ${ms(stat.bestP50)} p95 ${ms(stat.bestP95)}  cpu p50 ${ms(stat.cpuP50)} p95 ${ms(stat.cpuP95)} ${q ?? ""}`,
      );
    };
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

    if (!values.db) {
      await bench("BM25 top-8, planned, before FTS5 optimize", (q) => searchBm25(db, q, { limit: 8 }));
      const tOpt = performance.now();
      optimizeKnowledgeIndex(db);
      notes.push(`FTS5 'optimize' at ${chunks} chunks took ${((performance.now() - tOpt) / 1000).toFixed(1)} s.`);
    }
    const qx = quality(db, queries, { exhaustive: true });
    const qp = quality(db, queries, {});
    await bench("BM25 top-8, exhaustive (every term)", (q) => searchBm25(db, q, { limit: 8, exhaustive: true }), `source@8 ${pct(qx.sourceHit)}`);
    await bench("BM25 top-8, planned (default)", (q) => searchBm25(db, q, { limit: 8 }), `source@8 ${pct(qp.sourceHit)}, overlap with exhaustive ${pct(qp.overlap)}`);
    await bench("BM25 top-8, planned, one collection of 10", (q) => searchBm25(db, q, { limit: 8, collectionIds: oneCollection }));
    await bench("search() bm25 top-8 (planned + hydration)", (q) => search(db, q, { limit: 8, mode: "bm25" }));

    if (vectorsOk) {
      const tv = performance.now();
      const { embedded } = await syncVectors(db, embedder, { batchSize: 256 });
      const vs = (performance.now() - tv) / 1000;
      if (embedded > 0) {
        notes.push(`Embedded + inserted ${embedded} vectors (${DIMS}d hashing embedder) in ${vs.toFixed(1)} s (${(embedded / vs).toFixed(0)}/s).`);
      }
      await bench(`vector top-8 (${DIMS}d, brute-force vec0)`, (q) => search(db, q, { limit: 8, embedder, mode: "vector" }));
      await bench("vector top-8, one collection of 10", (q) => search(db, q, { limit: 8, embedder, mode: "vector", collectionIds: oneCollection }));
      await bench("hybrid top-8 (BM25 + vector, RRF k=60)", (q) => search(db, q, { limit: 8, embedder }));
      await bench("hybrid top-8, one collection of 10", (q) => search(db, q, { limit: 8, embedder, collectionIds: oneCollection }));
    }
  }
  const dbSize = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  db.$client.close();
  if (!values.keep && !values.db) fs.rmSync(dir, { recursive: true, force: true });

  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const sqliteVersion = (await import("better-sqlite3")).default(":memory:").prepare("SELECT sqlite_version()").pluck().get() as string;
  const md = [
    "## Knowledge retrieval",
    "",
    `Machine: ${cpu}, ${os.cpus().length} cores; load average ${loadAtStart} at the start, ` +
      `${os.loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end (1 / 5 / 15 min)` +
      `${Math.max(Number(loadAtStart.split(" / ")[0]), os.loadavg()[0]!) > os.cpus().length / 2 ? ": other work shared the CPU, so wall times are pessimistic" : ""}. ` +
      `Node ${process.version}, SQLite ${sqliteVersion} (better-sqlite3 12), sqlite-vec ${vectorsOk ? "0.1.9" : "not loaded"}. ` +
      `Date: ${new Date().toISOString().slice(0, 10)}.`,
    "",
    "Corpus: synthetic English-like Markdown: 38% function words, content words drawn from a Zipf law (s=1) over 30k words " +
      `starting at rank ${ZIPF_OFFSET} (as in English, where the top ranks are function words), headings, ` +
      "~3000-token documents → ~17 chunks of ≤300 estimated tokens; " +
      `${N_COLLECTIONS} collections. Queries: ${N_QUERIES} per size, 2-5 content words drawn from a random chunk (its "source") plus function words. ` +
      `Command: \`NODE_OPTIONS=--conditions=react-server npx tsx bench/knowledge/retrieval.ts --sizes ${sizes.join(",")} --queries ${N_QUERIES} --dims ${DIMS}\`.`,
    "",
    ...(indexing.length > 0
      ? ["### Indexing (addDocument: parse → chunk → one transaction per document, FTS5 triggers)", "", "| chunks | input | time | rate |", "|---|---|---|---|", ...indexing, ""]
      : []),
    "### Query latency (ms, top-8)",
    "",
    `| chunks | query | wall p50 | wall p95 | best-of-${REPS} p50 | best-of-${REPS} p95 | CPU p50 | CPU p95 | quality |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.size} | ${r.label} | ${ms(r.stat.p50)} | ${ms(r.stat.p95)} | **${ms(r.stat.bestP50)}** | **${ms(r.stat.bestP95)}** | ${ms(r.stat.cpuP50)} | ${ms(r.stat.cpuP95)} | ${r.quality ?? ""} |`,
    ),
    "",
    `Each query runs ${REPS} times in a row. Wall: elapsed time of the first run, including waits for a core on this shared machine. ` +
      `Best-of-${REPS}: each query's fastest run (filters scheduler noise; the closest to an idle machine). CPU: CPU time of the fastest run.`,
    "source@8: share of queries whose source chunk is in the top 8. overlap: mean share of exhaustive BM25's top 8 that the planned query also returns.",
    "",
    "### Notes",
    "",
    ...notes.map((n) => `- ${n}`),
    `- Database size at the end: ${(dbSize / 1048576).toFixed(0)} MiB (text stored twice: document content + chunks, plus FTS index${vectorsOk ? " and vectors" : ""}).`,
    "",
  ].join("\n");
  writeBenchmarkSection(values.out!, "knowledge:retrieval", md);
  console.log(`\n${md}\nwritten to its block of ${values.out}`);
}

main().catch((err) => {
  if (String(err).includes("server-only") || String(err).includes("Client Component")) {
    console.error("Run with NODE_OPTIONS=--conditions=react-server (server modules import \"server-only\").");
  }
  console.error(err);
  process.exit(1);
});
