import "server-only";
import type { z } from "zod";
import type { AtelierDb } from "../db/client";
import { AppError } from "../errors";
import type { PreviewResult, previewInput } from "./types";

export async function previewDataset(_db: AtelierDb, _input: z.infer<typeof previewInput>): Promise<PreviewResult> {
  throw new AppError("PRECONDITION_FAILED", "studio.datasets.preview is not implemented yet.");
}
