import "server-only";
import type { z } from "zod";
import type { AtelierDb } from "../db/client";
import { excludeEvalLeakage, leakageWarning } from "../evals";
import { cleanRecords } from "./cleaning";
import { getDatasetRow, loadRecords } from "./datasets";
import { baseModelFor, modelTokenizer, sumTokens } from "./prepare";
import type { PreviewResult, previewInput } from "./types";

/**
 * What cleaning would do and how many tokens are left, counted with the base model's own
 * tokenizer (chats rendered by its chat wrapper, as training and serving do). Without a base
 * model (scratch) the count is a byte-level estimate. Nothing is changed.
 */
export async function previewDataset(db: AtelierDb, input: z.infer<typeof previewInput>): Promise<PreviewResult> {
  const ds = getDatasetRow(db, input.id);
  const tok = input.baseModelId ? await modelTokenizer(baseModelFor(db, input.baseModelId)) : null;
  const { kept: usable, leakage } = excludeEvalLeakage(db, loadRecords(db, ds.id));
  const cleaned = cleanRecords(usable, input.cleaning);
  const trainTokens = sumTokens(cleaned.train, tok);
  const heldOutTokens = sumTokens(cleaned.heldOut, tok);
  return {
    records: cleaned.before,
    kept: cleaned.kept.length,
    tokens: trainTokens + heldOutTokens,
    trainTokens,
    heldOutTokens,
    trainRecords: cleaned.train.length,
    heldOutRecords: cleaned.heldOut.length,
    tokenizer: tok ? "model" : "estimate",
    samples: cleaned.samples,
    effect: cleaned.effect,
    evalLeakage: { records: leakage.records, evalRows: leakage.evalRows, sets: leakage.sets, warning: leakageWarning(leakage) },
  };
}
