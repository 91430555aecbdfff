import "server-only";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { CompareEvent } from "./types";

export async function* compareModels(_db: AtelierDb, _input: { assistantId: string; candidateModelId: string }, _signal?: AbortSignal): AsyncGenerator<CompareEvent> {
  throw new AppError("PRECONDITION_FAILED", "studio.compare is not implemented yet.");
}
