import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread, Worker } from "node:worker_threads";
import { AtelierError, type ErrorCode } from "../errors";
import { DocumentParseError, type ParseErrorReason } from "./types";

/*
 * Heavy parsing (PDF, DOCX, large text and record files) runs in a worker thread, so a big or
 * hostile upload never blocks the server's event loop: requests keep being answered while it
 * parses. One worker, started on first use (~1-2 s: it compiles the parsers with tsx), runs one
 * task at a time, is given a memory ceiling and a time limit per task (past either it is
 * terminated and the upload refused), and exits after a minute idle.
 *
 * Where no worker can be started (the forge CLI run from elsewhere, a worker thread itself), the
 * caller parses in its own thread, as before.
 */

/** Files smaller than this are parsed in place: a worker round trip costs more than parsing them. */
export const OFF_THREAD_FROM_BYTES = 256 * 1024;
const TASK_TIME_LIMIT_MS = 120_000;
const IDLE_EXIT_MS = 60_000;
const MEMORY_LIMIT_MB = 2048;

type Job = {
  id: number;
  module: string;
  task: string;
  args: unknown[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  label: string;
  /** Long arrays of the result, arriving in slices before it (worker-boot.mjs). */
  parts: Map<string, unknown[]>;
};

/** What worker-boot.mjs puts in place of an array it sent in slices. */
const SLICED = "__sliced__";

type SerializedError = { name: string; message: string; fileName?: string; reason?: ParseErrorReason; detail?: string; line?: number; code?: string };

function rebuild(e: SerializedError): Error {
  if (e.name === "DocumentParseError" && e.fileName && e.reason && e.detail !== undefined) return new DocumentParseError(e.fileName, e.reason, e.detail, e.line ?? undefined);
  if (e.code && /^[a-z_]+:[a-z]+$/.test(e.code)) return new AtelierError(e.code as ErrorCode, e.message);
  return new Error(e.message);
}

/** The app's directory: where `npm start` and the tests run (a Next bundle has no source path of its own). */
function appRoot(): string {
  return process.cwd();
}

/** Absolute path of a source file of the app, or null when it is not there (then no worker). */
export function appSourceFile(relative: string): string | null {
  const p = path.join(appRoot(), relative);
  return fs.existsSync(p) ? p : null;
}

class ParseWorker {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private timer: NodeJS.Timeout | null = null;
  private idle: NodeJS.Timeout | null = null;
  private nextId = 1;

  constructor(
    private readonly boot: string,
    private readonly tsxApi: string,
  ) {}

  run(module: string, task: string, args: unknown[], label: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, module, task, args, resolve, reject, label, parts: new Map() });
      void this.pump();
    });
  }

  private start(): Promise<void> {
    const worker = new Worker(this.boot, { workerData: { tsxApi: this.tsxApi }, resourceLimits: { maxOldGenerationSizeMb: MEMORY_LIMIT_MB } });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onReady = (m: { ready?: boolean }) => {
        if (!m.ready) return;
        worker.off("message", onReady);
        resolve();
      };
      worker.on("message", onReady);
      worker.once("error", reject);
    });
    worker.on("message", (m: { id?: number; ok?: boolean; result?: unknown; error?: SerializedError; part?: { key: string; items: unknown[] } }) => {
      if (m.id === undefined || m.id !== this.current?.id) return;
      const job = this.current;
      if (m.part) {
        const list = job.parts.get(m.part.key) ?? [];
        for (const item of m.part.items) list.push(item);
        job.parts.set(m.part.key, list);
        // The next slice once the event loop has turned (other requests go first).
        setImmediate(() => worker.postMessage({ ack: true }));
        return;
      }
      this.finish();
      if (!m.ok) return job.reject(rebuild(m.error!));
      const result = m.result as Record<string, unknown>;
      for (const [key, list] of job.parts) if (result[key] === SLICED) result[key] = list;
      job.resolve(result);
    });
    worker.on("error", (err) => this.fail(err));
    worker.on("exit", (code) => {
      if (this.worker === worker) this.fail(new Error(`the parse worker exited (${code})`));
    });
    return this.ready;
  }

  /** The worker died or was stopped: the job in hand fails with a clear reason, the next ones get a fresh worker. */
  private fail(err: unknown): void {
    const job = this.current;
    const worker = this.worker;
    this.worker = null;
    this.ready = null;
    if (worker) void worker.terminate();
    if (job) {
      this.finish();
      const oom = (err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
      job.reject(
        oom
          ? new DocumentParseError(job.label, "too-large", `reading this file needed more than ${MEMORY_LIMIT_MB} MB of memory, so it was stopped.`)
          : new Error(`parsing ${job.label} failed: ${(err as Error).message ?? err}`),
      );
    }
    void this.pump();
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.current = null;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.current || this.queue.length === 0) {
      if (!this.current && this.queue.length === 0 && this.worker && !this.idle) {
        this.idle = setTimeout(() => {
          this.idle = null;
          if (this.current || this.queue.length) return;
          const w = this.worker;
          this.worker = null;
          this.ready = null;
          void w?.terminate();
        }, IDLE_EXIT_MS).unref();
      }
      return;
    }
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    const job = this.queue.shift()!;
    this.current = job;
    try {
      await (this.ready ?? this.start());
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.current !== job) return;
    this.timer = setTimeout(() => {
      const timedOut = this.current;
      if (!timedOut) return;
      this.current = null;
      const worker = this.worker;
      this.worker = null;
      this.ready = null;
      void worker?.terminate();
      timedOut.reject(new DocumentParseError(timedOut.label, "timeout", `reading this file took longer than ${TASK_TIME_LIMIT_MS / 1000} s, so it was stopped.`));
      void this.pump();
    }, TASK_TIME_LIMIT_MS);
    this.worker!.postMessage({ id: job.id, module: job.module, task: job.task, args: job.args });
  }
}

const g = globalThis as unknown as { atelierParseWorker?: ParseWorker | null };

function parseWorker(): ParseWorker | null {
  if (g.atelierParseWorker !== undefined) return g.atelierParseWorker;
  const boot = appSourceFile("server/documents/worker-boot.mjs");
  let tsxApi: string | null = null;
  try {
    tsxApi = pathToFileURL(createRequire(path.join(appRoot(), "package.json")).resolve("tsx/esm/api")).href.replace(/\.cjs$/, ".mjs");
  } catch {
    tsxApi = null;
  }
  g.atelierParseWorker = boot && tsxApi ? new ParseWorker(boot, tsxApi) : null;
  return g.atelierParseWorker;
}

/**
 * Runs `task` of the app's TypeScript module `relativeModule` (e.g. "server/documents/worker-tasks.ts")
 * in the parse worker; null when no worker can run here (the caller then does the work itself).
 * `label` names the file in errors.
 */
export function runOffThread<T>(relativeModule: string, task: string, args: unknown[], label: string): Promise<T> | null {
  if (!isMainThread) return null;
  const module = appSourceFile(relativeModule);
  const worker = module ? parseWorker() : null;
  if (!worker || !module) return null;
  return worker.run(pathToFileURL(module).href, task, args, label) as Promise<T>;
}
