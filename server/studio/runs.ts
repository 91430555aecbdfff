import "server-only";
import type { Session } from "../auth/sessions";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { RunDetail, RunEvent, RunView, StartInput } from "./types";

const todo = (what: string) => new AppError("PRECONDITION_FAILED", `${what} is not implemented yet.`);

export async function startRun(_db: AtelierDb, _input: StartInput, _session: Session | null): Promise<{ runId: string; queuedBehind: number }> {
  throw todo("studio.runs.start");
}
export function listRuns(_db: AtelierDb): RunView[] {
  throw todo("studio.runs.list");
}
export function getRun(_db: AtelierDb, _id: string): RunDetail {
  throw todo("studio.runs.get");
}
export async function* watchRun(_db: AtelierDb, _id: string, _signal?: AbortSignal): AsyncGenerator<RunEvent> {
  throw todo("studio.runs.watch");
}
export function cancelRun(_db: AtelierDb, _id: string, _session: Session | null): RunView {
  throw todo("studio.runs.cancel");
}
export function resumeRun(_db: AtelierDb, _id: string, _session: Session | null): RunView {
  throw todo("studio.runs.resume");
}
