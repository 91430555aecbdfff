import "server-only";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { PlanInput, PlanResult } from "./types";

export async function planTraining(_db: AtelierDb, _input: PlanInput): Promise<PlanResult> {
  throw new AppError("PRECONDITION_FAILED", "studio.plan is not implemented yet.");
}
