import "server-only";
import type { AtelierDb } from "../db/client";

/*
 * One heavy job at a time per database (per server process): training runs and eval runs both
 * saturate the CPU (or the GPU), so they share this queue. Each kind keeps its own persisted
 * queue (its table's "queued" rows, which is what survives a restart); this module only decides
 * whose turn it is: the job queued earliest, of whichever kind, runs next.
 */

export interface HeavyJobWorker {
  /** "training", "eval", ... */
  readonly kind: string;
  /** When this kind's oldest waiting job was queued (epoch ms), or null when none waits. */
  oldestQueuedAt(): number | null;
  /** Runs that job to its end (any final state); never rejects for the job's own failure. */
  runOldest(): Promise<void>;
}

export class HeavyJobQueue {
  private readonly workers = new Map<string, HeavyJobWorker>();
  private running: string | null = null;

  register(worker: HeavyJobWorker): void {
    this.workers.set(worker.kind, worker);
  }

  /** The kind of job running now, if any. */
  get activeKind(): string | null {
    return this.running;
  }

  /** Starts the earliest-queued job of any kind, unless one is already running. */
  kick(): void {
    if (this.running) return;
    let next: { worker: HeavyJobWorker; at: number } | null = null;
    for (const worker of this.workers.values()) {
      const at = worker.oldestQueuedAt();
      if (at !== null && (!next || at < next.at)) next = { worker, at };
    }
    if (!next) return;
    const { worker } = next;
    this.running = worker.kind;
    void worker
      .runOldest()
      .catch((err: unknown) => console.error(`The ${worker.kind} worker failed:`, err))
      .finally(() => {
        this.running = null;
        this.kick();
      });
  }
}

const globalForQueue = globalThis as unknown as { atelierHeavyQueues?: WeakMap<AtelierDb, HeavyJobQueue> };

/** The queue of this database (one per process in production; tests open several databases). */
export function heavyQueueFor(db: AtelierDb): HeavyJobQueue {
  const map = (globalForQueue.atelierHeavyQueues ??= new WeakMap());
  let q = map.get(db);
  if (!q) {
    q = new HeavyJobQueue();
    map.set(db, q);
  }
  return q;
}
