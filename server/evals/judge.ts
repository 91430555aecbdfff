import "server-only";
import type { AtelierDb } from "../db/client";
import { completeWithEndpoint, type Endpoint } from "./endpoint";
import { completeWithModel } from "./generate";
import type { JudgeSpec } from "./schema";

/*
 * The optional judge: a model (registered, or an OpenAI-compatible endpoint) scores each answer
 * 1–5 against a fixed rubric and gives a one-line reason. Its score is an opinion, stored and
 * shown apart from the deterministic metrics and never averaged into them. A judge that cannot
 * be reached marks its rows "judge unavailable"; the run still completes.
 */

/** Shown in the UI word for word; changing it changes what past judge scores mean. */
export const JUDGE_RUBRIC = [
  "5 = correct and complete, nothing false",
  "4 = correct, a small omission",
  "3 = partly correct",
  "2 = mostly wrong",
  "1 = wrong or empty, or refuses when it should answer (answers when it should refuse)",
] as const;

export const JUDGE_SYSTEM = "You grade answers given by an assistant. You are strict, brief and consistent.";
export const JUDGE_MAX_TOKENS = 80;
/** After this many unavailable answers in a row the judge is taken as down for the rest of the run. */
export const JUDGE_GIVE_UP_AFTER = 3;

export function judgePrompt(row: { question: string; reference: string | null; shouldRefuse: boolean }, answer: string): string {
  return [
    `Grade the answer from 1 to 5. ${JUDGE_RUBRIC.join("; ")}.`,
    `Question: ${row.question}`,
    `Reference: ${row.reference?.trim() ? row.reference.trim() : "(none given)"}`,
    `It should ${row.shouldRefuse ? "refuse (out of scope)" : "answer"}.`,
    `Answer: ${answer.trim() || "(empty)"}`,
    "Reply with one line: Score: <1-5> - <reason>",
  ].join("\n");
}

export type JudgeVerdict = { status: "ok"; score: number; reason: string } | { status: "unparsed"; reason: string } | { status: "unavailable"; reason: string };

/** Reads "Score: 4 - reason" (or "4 - reason", "Score 4/5: reason") from the judge's reply. */
export function parseJudgeReply(reply: string): JudgeVerdict {
  const text = reply.trim();
  const m = /score\s*[:=]?\s*\**\s*([1-5])(?:\s*\/\s*5)?\**\s*[-—–:.,]?\s*(.*)/i.exec(text) ?? /^\**([1-5])(?:\s*\/\s*5)?\**\s*[-—–:.,)]\s*(.*)/.exec(text);
  if (!m) return { status: "unparsed", reason: `The judge's reply had no score: "${text.slice(0, 120)}"` };
  const reason = (m[2] ?? "").split("\n")[0]!.trim().slice(0, 300);
  return { status: "ok", score: Number(m[1]), reason: reason || "(no reason given)" };
}

export function describeJudge(spec: JudgeSpec, modelName?: string): string {
  return spec.kind === "model" ? `model ${modelName ?? spec.modelId}` : `${spec.model} at ${spec.url}`;
}

/** A judge for one run: remembers consecutive failures so a dead endpoint costs three tries, not one per row. */
export class RunJudge {
  private failures = 0;
  private downReason: string | null = null;

  constructor(
    private readonly db: AtelierDb,
    private readonly spec: JudgeSpec,
  ) {}

  async grade(row: { question: string; reference: string | null; shouldRefuse: boolean }, answer: string, signal?: AbortSignal): Promise<JudgeVerdict> {
    if (this.downReason) return { status: "unavailable", reason: this.downReason };
    const prompt = judgePrompt(row, answer);
    let reply: string;
    try {
      reply =
        this.spec.kind === "model"
          ? await completeWithModel(this.db, { modelId: this.spec.modelId, system: JUDGE_SYSTEM, prompt, maxTokens: JUDGE_MAX_TOKENS, signal })
          : await completeWithEndpoint(this.spec as Endpoint, { system: JUDGE_SYSTEM, prompt, maxTokens: JUDGE_MAX_TOKENS, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      this.failures++;
      const reason = `judge unavailable: ${(err as Error).message}`;
      if (this.failures >= JUDGE_GIVE_UP_AFTER) this.downReason = `${reason} (gave up after ${JUDGE_GIVE_UP_AFTER} failures in a row)`;
      return { status: "unavailable", reason };
    }
    this.failures = 0;
    return parseJudgeReply(reply);
  }
}
