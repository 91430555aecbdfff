import "server-only";
import { eq } from "drizzle-orm";
import type { AtelierDb } from "../db/client";
import { assistants } from "../db/schema";
import { AtelierError, notFound } from "../errors";
import { generateChat } from "../llm/generate";
import { getModelRow, servingSpecFor } from "../models";
import type { CompareEvent } from "./types";
import { getEvalPrompts } from "./versions";

/** Longest answer in a comparison (both sides), so a rambling model cannot stall the page. */
export const COMPARE_MAX_TOKENS = 200;

/**
 * The assistant's current model and a candidate answer each eval prompt (same system prompt,
 * same sampling, fixed seed), one after the other; every event carries the full text so far.
 */
export async function* compareModels(db: AtelierDb, input: { assistantId: string; candidateModelId: string }, signal?: AbortSignal): AsyncGenerator<CompareEvent> {
  const a = db.select().from(assistants).where(eq(assistants.id, input.assistantId)).get();
  if (!a) throw notFound("studio", "Assistant", input.assistantId);
  if (!a.modelId) throw new AtelierError("precondition:studio", `${a.name} has no model yet; activate one first.`);
  const sides = [
    { side: "current" as const, spec: servingSpecFor(db, getModelRow(db, a.modelId)) },
    { side: "candidate" as const, spec: servingSpecFor(db, getModelRow(db, input.candidateModelId)) },
  ];
  const prompts = getEvalPrompts(db, a.id);
  const sampling = { ...a.sampling, maxTokens: Math.min(a.sampling.maxTokens, COMPARE_MAX_TOKENS), seed: 1234 };
  for (let promptIndex = 0; promptIndex < prompts.length; promptIndex++) {
    for (const { side, spec } of sides) {
      let text = "";
      for await (const ev of generateChat({ spec, systemPrompt: a.systemPrompt, turns: [{ role: "user", content: prompts[promptIndex]! }], sampling, signal })) {
        text = ev.type === "text" ? text + ev.text : ev.text;
        yield { type: "answer", promptIndex, side, text };
      }
      if (signal?.aborted) return;
    }
  }
  yield { type: "done" };
}
