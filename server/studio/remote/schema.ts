import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { studioRuns } from "../schema";

// No "server-only" here: drizzle-kit loads this file outside Next to generate migrations.
// Where a studio run executes: a run with a row here is trained by a remote worker
// (`npx atelier worker`), never by the server's own runner. The lease says which worker holds it
// and until when; the last checkpoint the worker uploaded lets another worker resume it.

export type ArtifactRef = { name: string; sha256: string; bytes: number };

export const studioRemoteRuns = sqliteTable("studio_remote_runs", {
  runId: text("run_id")
    .primaryKey()
    .references(() => studioRuns.id, { onDelete: "cascade" }),
  /** The worker holding the lease (its self-reported name, for the run page). */
  workerName: text("worker_name"),
  /** sha256 of the lease token handed to that worker; every call about the run must carry it. */
  leaseHash: text("lease_hash"),
  leaseExpiresAt: integer("lease_expires_at"),
  /** The packed data and base model, prepared at the first claim (name, sha256, bytes). */
  artifacts: text("artifacts", { mode: "json" }).$type<ArtifactRef[]>(),
  /** The trainer config the worker runs (paths are the worker's own, filled in there). */
  config: text("config", { mode: "json" }).$type<Record<string, unknown>>(),
  /** The last checkpoint uploaded: its step and files. */
  checkpointStep: integer("checkpoint_step"),
  checkpointFiles: text("checkpoint_files", { mode: "json" }).$type<ArtifactRef[]>(),
});
export type StudioRemoteRunRow = typeof studioRemoteRuns.$inferSelect;
