import "server-only";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

/*
 * Every read of node-llama-cpp's @internal fields, in one place. Batching needs three facts the
 * public API does not give: the native id of a sequence (the KV stream llama.cpp micro-batches by)
 * and, for each queued decode, which sequence queued it. node-llama-cpp is pinned exactly
 * (package.json) because of them; checkInternals() verifies them on the first real context and
 * says once, in the log, when an upgrade removed one. Every reader returns undefined when its
 * field is gone, and the batching strategies then behave as node-llama-cpp's documented defaults
 * (queue order, dispatch on the next event-loop cycle): slower, never wrong.
 */

/** The version these fields were read from (the package.json pin). */
export const INTERNALS_VERSION = "3.21.1";

type QueuedDecode = { tokens: readonly number[]; sequenceId: number };

/** LlamaContext._queuedDecodes: decodes waiting for the next batch, with the sequence that queued each. */
export function queuedDecodes(context: LlamaContext | undefined): readonly QueuedDecode[] | undefined {
  const queued = (context as unknown as { _queuedDecodes?: unknown } | undefined)?._queuedDecodes;
  return Array.isArray(queued) ? (queued as QueuedDecode[]) : undefined;
}

/** LlamaContext._queuedDecodeSequenceIds: the native ids of the sequences with a queued decode. */
export function queuedDecodeSequenceIds(context: LlamaContext | undefined): ReadonlySet<number> | undefined {
  const ids = (context as unknown as { _queuedDecodeSequenceIds?: unknown } | undefined)?._queuedDecodeSequenceIds;
  return ids instanceof Set ? (ids as ReadonlySet<number>) : undefined;
}

/** LlamaContextSequence._sequenceId: the native sequence id (its KV stream). */
export function nativeSequenceId(sequence: LlamaContextSequence): number | undefined {
  const id = (sequence as unknown as { _sequenceId?: unknown })._sequenceId;
  return typeof id === "number" ? id : undefined;
}

export type InternalsReport = {
  /** The installed node-llama-cpp version. */
  version: string;
  /** Each private field batching reads, and whether this context and sequence have it in the expected shape. */
  fields: { name: string; present: boolean }[];
  ok: boolean;
};

/**
 * The installed node-llama-cpp version, from its package.json in the nearest node_modules above
 * the working directory (resolving the package itself would make Next bundle it).
 */
export function installedVersion(): string {
  try {
    for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
      const file = path.join(/*turbopackIgnore: true*/ dir, "node_modules", "node-llama-cpp", "package.json");
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, "utf8")) as { version?: string };
        return pkg.version ?? "unknown";
      }
      if (path.dirname(dir) === dir) return "unknown";
    }
  } catch {
    return "unknown";
  }
}

/** Checks the private fields on a real context and one of its sequences. */
export function checkInternals(context: LlamaContext, sequence: LlamaContextSequence): InternalsReport {
  const fields = [
    { name: "LlamaContext._queuedDecodes", present: queuedDecodes(context) !== undefined },
    { name: "LlamaContext._queuedDecodeSequenceIds", present: queuedDecodeSequenceIds(context) !== undefined },
    { name: "LlamaContextSequence._sequenceId", present: nativeSequenceId(sequence) !== undefined },
  ];
  return { version: installedVersion(), fields, ok: fields.every((f) => f.present) };
}

const g = globalThis as unknown as { atelierInternalsChecked?: InternalsReport };

/**
 * The start-up check: run on the first serving context of the process; logs once when a field is
 * missing (or the version differs from the pin) and returns the report.
 */
export function checkInternalsOnce(context: LlamaContext, sequence: LlamaContextSequence): InternalsReport {
  if (g.atelierInternalsChecked) return g.atelierInternalsChecked;
  const report = checkInternals(context, sequence);
  g.atelierInternalsChecked = report;
  const missing = report.fields.filter((f) => !f.present).map((f) => f.name);
  if (missing.length > 0) {
    console.warn(
      `[engine] node-llama-cpp ${report.version} lacks ${missing.join(", ")} (read from ${INTERNALS_VERSION}); ` +
        "batching falls back to node-llama-cpp's default order and dispatch, which is slower with several conversations at once.",
    );
  } else if (report.version !== INTERNALS_VERSION) {
    console.warn(`[engine] node-llama-cpp ${report.version} is installed; its batching internals were read from ${INTERNALS_VERSION} and are still present.`);
  }
  return report;
}
